mod blocks;
mod clearance;
mod negative;
