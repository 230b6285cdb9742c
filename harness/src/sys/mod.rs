//! What every stage may use and that is about the process, not about latency: where outputs
//! go ([`output`]) and how a stop request travels ([`shutdown`]). Depends on nothing else in
//! the crate.

pub mod output;
pub mod shutdown;
