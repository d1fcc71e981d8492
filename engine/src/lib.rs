//! # tickrail-engine
//!
//! The tick path and everything around it.
#![deny(unsafe_code)]

pub mod clock;
pub mod reject;
pub mod strategy;
pub mod symbols;
