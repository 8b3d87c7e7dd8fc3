mod blocks;
mod clearance;
mod credit;
mod risk;
