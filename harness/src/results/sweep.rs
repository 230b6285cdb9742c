//! The sweep's document (`sweep --json`): per point and series, the count and p50/p90/p99,
//! with the point's parameter values. Written by `phasebench sweep`, drawn by `report::sweep`.

use serde::Serialize;

/// One series at one point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct SweepRow {
    /// The point's parameter values, in axis order.
    pub params: Vec<String>,
    #[serde(flatten)]
    pub key: crate::model::series::MetricKey,
    pub count: u64,
    pub p50_ms: Option<f64>,
    pub p90_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

/// The sweep's table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct SweepReport {
    pub scenario: String,
    pub keys: Vec<String>,
    /// Result file of each point, in order.
    pub points: Vec<String>,
    pub rows: Vec<SweepRow>,
    /// Points that mostly failed (more than `[run] max_failure_ratio`).
    pub failed_points: Vec<usize>,
}
