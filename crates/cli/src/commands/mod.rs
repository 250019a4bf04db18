//! One module per subcommand, plus what several of them share.

pub mod client;
pub mod config;
pub mod data_dir;
pub mod demo;
pub mod doctor;
pub mod grid;
pub mod join;
pub mod logging;
mod node_place;
pub mod output;
pub mod run;
mod service_manager;
pub mod sim;
mod sim_text;
pub mod sweep;
pub mod usage;
