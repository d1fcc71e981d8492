//! The ops HTTP server: Prometheus metrics, health, readiness, status and operator control.
//!
//! A small HTTP/1.1 server on its own threads, built on `std::net` and mio (no async runtime),
//! loopback by default. The engine's side is three things:
//!
//! - a [`Registry`] of metric families, filled once at start ([`EngineMetrics::register`]
//!   registers everything tickrail exports, [`METRIC_NAMES`]); engine threads update the
//!   returned handles ([`Counter`], [`Gauge`], [`IntGauge`], labelled variants), each update one
//!   relaxed atomic operation with no lock or allocation, safe on the hot path;
//! - a [`StatusSource`] for `/ready` and `/status` ([`EngineMetrics`] is one);
//! - a `crossbeam_channel::Receiver<`[`ControlCommand`]`>` the engine drains between ticks,
//!   answering each command.
//!
//! Endpoints: `GET /metrics` (Prometheus text 0.0.4), `GET /health`, `GET /ready` (200 or 503
//! naming the failing checks), `GET /status`, and `POST /control/plugin/reload`,
//! `/control/model/reload`, `/control/kill-switch`, `/control/state`, which need
//! `Authorization: Bearer <token>` (see [`TokenSource`] and [`Token`] for where the token comes
//! from and how it is kept out of logs and answers). `[ops]` in the configuration is read by
//! [`config::read`] into an [`OpsConfig`]; [`OpsServer::start_configured`] starts from it.
//!
//! ```
//! use std::sync::Arc;
//! use tickrail_engine::ops::{EngineMetrics, OpsServer, Registry, ServerOptions};
//!
//! let mut reg = Registry::new();
//! let metrics = Arc::new(EngineMetrics::register(&mut reg, &["BTCUSDT"])?);
//! let (control_tx, control_rx) = crossbeam_channel::bounded(16);
//! let opts = ServerOptions::new("127.0.0.1:0".parse()?);
//! let server = OpsServer::start(opts, None, Arc::new(reg), metrics.clone(), control_tx)?;
//! metrics.ticks_received.inc(); // from the feed thread
//! println!("metrics on http://{}/metrics", server.local_addr());
//! # drop(control_rx);
//! server.stop();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod config;
mod control;
mod engine_metrics;
mod exposition;
mod http;
mod metrics;
mod procfs;
mod registry;
mod router;
mod server;
mod status;
mod token;

pub use config::OpsConfig;
pub use control::{ControlCommand, ControlReply, ControlRequest};
pub use engine_metrics::{EngineMetrics, Ring, LATENCY_QUANTILES, METRIC_NAMES};
pub use http::{MAX_BODY_BYTES, MAX_HEADERS, MAX_HEAD_BYTES};
pub use metrics::{
    Counter, CounterVec, Gauge, GaugeVec, Info, IntGauge, IntGaugeVec, Labelled, Summary,
    SummaryValue, SummaryVec, Timestamp,
};
pub use registry::{Registry, RegistryError};
pub use server::{OpsError, OpsServer, ServerOptions};
pub use status::{judge, Readiness, ReadyInputs, StatusSource};
pub use token::{read_token_file, Token, TokenError, TokenSource, MAX_TOKEN_FILE_BYTES};
