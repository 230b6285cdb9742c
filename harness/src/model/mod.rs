//! The vocabulary every stage shares: metric names, cohorts and report order ([`metric`]), the
//! sample an event becomes ([`sample`]), a series and its histogram ([`series`]), what an iteration's first token waited on
//! ([`critical`]), and the target's identity and telemetry health as a result stores them
//! ([`target`]). Depends on nothing else in the crate but the
//! runtime's telemetry contract.

pub(crate) mod critical;
pub(crate) mod metric;
pub(crate) mod sample;
pub(crate) mod series;
pub(crate) mod target;
