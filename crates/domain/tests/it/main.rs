mod blocks;
mod clearance;
mod risk;
