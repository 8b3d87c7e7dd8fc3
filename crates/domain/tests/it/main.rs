mod blocks;
mod clearance;
