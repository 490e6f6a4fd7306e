//! Black-box tests for the hardening issue: each drives the real binary at
//! an edge where access must end when authorization ends.

mod backup;
mod corrupt;
mod disk_full;
mod edges;
mod look_alikes;
mod refresh_race;
mod throttle;
