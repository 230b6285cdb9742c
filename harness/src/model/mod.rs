//! The vocabulary every stage shares: metric names, cohorts and report order ([`metric`]), and
//! the sample an event becomes ([`sample`]). Depends on nothing else in the crate but the
//! runtime's telemetry contract.

pub mod metric;
pub mod sample;
