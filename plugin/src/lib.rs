//! `helm bigdata`: the helm plugin that installs, verifies and inspects the bigdata platform.
//!
//! Each concern has its own module; `main.rs` only parses the command line and maps errors to one
//! clear message and an exit code.

pub mod access;
pub mod app;
pub mod batch;
pub mod catalog;
pub mod cli;
pub mod cluster;
pub mod component;
pub mod doctor;
pub mod execute;
pub mod health;
pub mod helm;
pub mod home;
pub mod install;
pub mod output;
pub mod plan;
pub mod profile;
pub mod quantity;
pub mod report;
pub mod resources;
pub mod ui;
pub mod usage;
pub mod verify;
