//! # tickrail-engine
//!
//! The tick path and everything around it.
#![deny(unsafe_code)]

pub mod book;
pub mod candles;
pub mod clock;
pub mod config;
pub mod export;
pub mod features;
pub mod feed;
pub mod fixed;
pub mod latency;
pub mod model;
pub mod parse;
pub mod pipeline;
pub mod plugin;
pub mod reject;
pub mod report;
pub mod ring;
pub mod sequence;
pub mod strategy;
pub mod symbols;
pub mod units;
