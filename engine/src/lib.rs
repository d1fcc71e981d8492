//! # tickrail-engine
//!
//! The tick path and everything around it. A run is: load and check the configuration
//! ([`config`]), start the data source (an embedded replay server or a Binance endpoint), then
//! three threads joined by rings ([`pipeline`]):
//!
//! - the **feed** thread ([`feed`]): WebSocket frames over mio + tungstenite, parsed ([`parse`]:
//!   a one-pass reader of Binance's shapes, simd-json for everything else) into 64-byte
//!   fixed-point ticks, with sequence checks ([`sequence`]) and
//!   L2 books synchronised from REST snapshots ([`book`]);
//! - the **hot** thread: features ([`features`], candles from trades via [`candles`]), the
//!   strategy ([`strategy`], or a hot-swappable C-ABI [`plugin`]), every stage stamped into
//!   histograms ([`latency`]);
//! - the **ops** thread: everything that may block.
//!
//! At the end the counters and merged histograms become a run report ([`report`]). The [`model`]
//! module compiles ONNX tree ensembles into a flat forest for the hot path.
//!
//! ```no_run
//! use std::sync::{atomic::AtomicBool, Arc};
//! use tickrail_engine::{config::EngineConfig, pipeline};
//!
//! let cfg = EngineConfig::load("config/engine.toml".as_ref())?;
//! let out = pipeline::run(&cfg, &pipeline::RunOptions::default(), Arc::new(AtomicBool::new(false)))?;
//! let report = out.report("config/engine.toml");
//! println!("{}", tickrail_engine::report::render_table(&report));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(unsafe_code)]

pub mod alerts;
pub mod archive;
pub mod backtest;
pub mod book;
pub mod candles;
pub mod clock;
pub mod config;
pub mod export;
pub mod features;
pub mod feed;
pub mod fixed;
mod handback;
pub mod journal;
pub mod latency;
pub mod logs;
pub mod model;
pub mod money;
pub mod ops;
pub mod paper;
pub mod parse;
pub mod pipeline;
pub mod plugin;
pub mod record;
pub mod recovery;
pub mod reject;
pub mod report;
pub mod ring;
pub mod risk;
pub mod sequence;
pub mod strategy;
pub mod symbols;
pub mod units;
