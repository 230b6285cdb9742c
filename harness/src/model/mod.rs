//! The vocabulary every stage shares: metric names, cohorts and report order ([`metric`]), the
//! sample an event becomes ([`sample`]), and what an iteration's first token waited on
//! ([`critical`]). Depends on nothing else in the crate but the
//! runtime's telemetry contract.

pub(crate) mod critical;
pub(crate) mod metric;
pub(crate) mod sample;
