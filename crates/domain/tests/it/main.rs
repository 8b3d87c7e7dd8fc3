mod blocks;
mod clearance;
mod credit;
mod negative;
mod risk;
mod statistics;
mod supervision;
