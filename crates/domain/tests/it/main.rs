mod blocks;
mod clearance;
mod credit;
mod negative;
mod redaction;
mod risk;
mod statistics;
mod supervision;
