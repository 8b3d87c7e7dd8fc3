mod blocks;
mod clearance;
mod credit;
