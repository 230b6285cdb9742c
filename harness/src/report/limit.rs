//! How close to the wire the harness gets on this machine (`phasebench calibrate`): each
//! phase's overhead beside the bare pair's time for the same step (back to back: the wire;
//! beyond the same injected delay: the floor, which adds waking up after an idle wait, a cost
//! no harness can remove from a phase that waits), and the harness's rate of
//! whole startups beside the bare pair's rate of whole exchanges. The figures come from one
//! process run, so the ratio holds even where the machine's speed does not.
//!
//! The goals are the project's (overhead p50 ≤ 0.1 ms and p99 ≤ 0.5 ms; throughput ≥ 0.9 of
//! the bare pair at concurrency 64 and ≥ 0.8 at concurrency 1); shown, never an exit code.

use std::fmt::Write as _;

use serde::Serialize;

use super::number::derived;
use super::terminal::{Align, grid};

/// Overhead p50 the project aims for, ms.
pub(crate) const OVERHEAD_P50_GOAL_MS: f64 = 0.1;
/// Overhead p99 the project aims for, ms.
pub(crate) const OVERHEAD_P99_GOAL_MS: f64 = 0.5;

/// The throughput ratio the project aims for at `concurrency`.
pub(crate) fn throughput_goal(concurrency: u32) -> f64 {
    if concurrency > 1 { 0.9 } else { 0.8 }
}

/// One phase: the harness's overhead on it beside the bare pair's time for the same step.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct PhaseLimit {
    /// The harness's metric.
    pub(crate) phase: String,
    /// The bare pair's step it is set against.
    pub(crate) wire_step: &'static str,
    pub(crate) wire_exchanges: u64,
    pub(crate) wire_p50_ms: f64,
    pub(crate) wire_p99_ms: f64,
    pub(crate) wire_jitter_ms: f64,
    /// The bare pair's time beyond the same injected delay as the harness's phase.
    pub(crate) floor_p50_ms: f64,
    pub(crate) floor_p99_ms: f64,
    /// Clean iterations the overhead is taken over.
    pub(crate) samples: u64,
    /// Measured − injected.
    pub(crate) overhead_p50_ms: f64,
    pub(crate) overhead_p99_ms: f64,
    /// p90 − p10 of the overhead.
    pub(crate) overhead_jitter_ms: f64,
}

impl PhaseLimit {
    fn meets_goal(&self) -> bool {
        self.overhead_p50_ms <= OVERHEAD_P50_GOAL_MS && self.overhead_p99_ms <= OVERHEAD_P99_GOAL_MS
    }
}

/// Whole startups per second at one concurrency: the bare pair measured before and after the
/// harness, so drift shows.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ThroughputLimit {
    pub(crate) concurrency: u32,
    /// Exchanges (and harness iterations) in each measurement.
    pub(crate) exchanges: u64,
    pub(crate) wire_before_per_s: f64,
    pub(crate) wire_after_per_s: f64,
    pub(crate) harness_per_s: f64,
    /// CPU time of the whole process per bare exchange (both measurements), in µs.
    pub(crate) wire_cpu_us: f64,
    /// CPU time of the whole process per harness startup (its warmup included), in µs.
    pub(crate) harness_cpu_us: f64,
}

impl ThroughputLimit {
    /// The bare pair's CPU per exchange over the harness's per startup: where the rate ratio
    /// sits when the process has every core to itself and is bound by CPU (under a competing
    /// load each side gets what the machine leaves it, and the two drift apart).
    pub(crate) fn cpu_ratio(&self) -> f64 {
        if self.harness_cpu_us > 0.0 {
            self.wire_cpu_us / self.harness_cpu_us
        } else {
            0.0
        }
    }

    /// The harness's rate over the mean of the bare pair's two.
    pub(crate) fn ratio(&self) -> f64 {
        let wire = (self.wire_before_per_s + self.wire_after_per_s) / 2.0;
        if wire > 0.0 {
            self.harness_per_s / wire
        } else {
            0.0
        }
    }
}

/// What `phasebench calibrate` measured.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct LimitReport {
    /// `release` or `debug`: a debug build's figures say little about the harness.
    pub(crate) build: &'static str,
    pub(crate) phases: Vec<PhaseLimit>,
    pub(crate) throughput: Vec<ThroughputLimit>,
}

fn goal_word(met: bool) -> &'static str {
    if met { "met" } else { "not met" }
}

impl LimitReport {
    /// The JSON document (`--json`), with each throughput's ratio and every goal spelled out.
    pub(crate) fn to_json(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        if let Some(rows) = value
            .get_mut("throughput")
            .and_then(serde_json::Value::as_array_mut)
        {
            for (row, t) in rows.iter_mut().zip(&self.throughput) {
                row["ratio"] = t.ratio().into();
                row["cpu_ratio"] = t.cpu_ratio().into();
                row["goal_ratio"] = throughput_goal(t.concurrency).into();
            }
        }
        value["goals"] = serde_json::json!({
            "overhead_p50_ms": OVERHEAD_P50_GOAL_MS,
            "overhead_p99_ms": OVERHEAD_P99_GOAL_MS,
        });
        value
    }

    /// The terminal's tables.
    pub(crate) fn to_text(&self) -> String {
        use Align::{Left, Right};
        let mut out = format!(
            "closeness to the wire ({} build; the bare pair: a tokio-tungstenite client and \
             server on loopback doing the same exchange with nothing else)\n",
            self.build
        );
        if self.build != "release" {
            out.push_str(
                "note: a debug build; build with --release for figures that mean something\n",
            );
        }
        if !self.phases.is_empty() {
            let _ = writeln!(
                out,
                "\nlatency, one startup at a time, ms (wire: the bare pair back to back; floor: the bare \
                 pair beyond the same injected delay; overhead = measured - injected; goal: p50 <= {} \
                 ms, p99 <= {} ms):",
                OVERHEAD_P50_GOAL_MS, OVERHEAD_P99_GOAL_MS
            );
            let rows: Vec<Vec<String>> = self
                .phases
                .iter()
                .map(|p| {
                    vec![
                        p.phase.clone(),
                        p.wire_step.to_owned(),
                        derived(p.wire_p50_ms, None),
                        derived(p.floor_p50_ms, None),
                        derived(p.floor_p99_ms, None),
                        derived(p.overhead_p50_ms, None),
                        derived(p.overhead_jitter_ms, None),
                        derived(p.overhead_p99_ms, None),
                        format!("{:+.3}", p.overhead_p50_ms - p.floor_p50_ms),
                        goal_word(p.meets_goal()).to_owned(),
                    ]
                })
                .collect();
            grid(
                &[
                    ("phase", Left),
                    ("bare step", Left),
                    ("wire p50", Right),
                    ("floor p50", Right),
                    ("floor p99", Right),
                    ("overhead p50", Right),
                    ("jitter p90-p10", Right),
                    ("overhead p99", Right),
                    ("p50 above floor", Right),
                    ("goal", Left),
                ],
                &rows,
                &mut out,
            );
        }
        if !self.throughput.is_empty() {
            out.push_str(
                "\nthroughput, zero delays (whole startups per second; bare pair measured before and after; \
                 CPU: the process's CPU time per startup, µs; a rate bound by CPU sits near the CPU \
                 ratio, whatever the harness does between startups):\n",
            );
            let rows: Vec<Vec<String>> = self
                .throughput
                .iter()
                .map(|t| {
                    vec![
                        t.concurrency.to_string(),
                        t.exchanges.to_string(),
                        format!("{:.0}", t.wire_before_per_s),
                        format!("{:.0}", t.wire_after_per_s),
                        format!("{:.0}", t.harness_per_s),
                        format!("{:.2}", t.ratio()),
                        format!("{:.0}", t.wire_cpu_us),
                        format!("{:.0}", t.harness_cpu_us),
                        format!("{:.2}", t.cpu_ratio()),
                        format!(
                            ">= {:.1}: {}",
                            throughput_goal(t.concurrency),
                            goal_word(t.ratio() >= throughput_goal(t.concurrency))
                        ),
                    ]
                })
                .collect();
            grid(
                &[
                    ("concurrency", Right),
                    ("startups", Right),
                    ("wire before/s", Right),
                    ("wire after/s", Right),
                    ("harness/s", Right),
                    ("ratio", Right),
                    ("wire CPU", Right),
                    ("harness CPU", Right),
                    ("CPU ratio", Right),
                    ("goal", Left),
                ],
                &rows,
                &mut out,
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> LimitReport {
        LimitReport {
            build: "release",
            phases: vec![PhaseLimit {
                phase: "turn_ttft".into(),
                wire_step: "turn sent -> first delta",
                wire_exchanges: 300,
                wire_p50_ms: 0.033,
                wire_p99_ms: 0.08,
                wire_jitter_ms: 0.01,
                floor_p50_ms: 0.12,
                floor_p99_ms: 0.2,
                samples: 300,
                overhead_p50_ms: 0.32,
                overhead_p99_ms: 0.44,
                overhead_jitter_ms: 0.05,
            }],
            throughput: vec![ThroughputLimit {
                concurrency: 64,
                exchanges: 4000,
                wire_before_per_s: 8000.0,
                wire_after_per_s: 10000.0,
                harness_per_s: 6750.0,
                wire_cpu_us: 150.0,
                harness_cpu_us: 250.0,
            }],
        }
    }

    #[test]
    fn the_ratio_is_over_the_mean_of_both_bare_measurements_and_goals_are_judged() {
        let r = report();
        assert!((r.throughput[0].ratio() - 0.75).abs() < 1e-9);
        let text = r.to_text();
        assert!(text.contains("+0.200"), "{text}");
        assert!(text.contains(">= 0.9: not met"), "{text}");
        assert!(text.contains("not met"), "{text}");
        let json = r.to_json();
        assert_eq!(json["throughput"][0]["ratio"], 0.75);
        assert_eq!(json["throughput"][0]["goal_ratio"], 0.9);
        assert_eq!(json["throughput"][0]["cpu_ratio"], 0.6);
        assert!(text.contains("0.60"), "{text}");
        assert_eq!(json["phases"][0]["overhead_jitter_ms"], 0.05);
    }

    #[test]
    fn a_phase_within_both_goals_meets_them() {
        let mut r = report();
        r.phases[0].overhead_p50_ms = 0.09;
        r.phases[0].overhead_p99_ms = 0.4;
        assert!(r.phases[0].meets_goal());
        r.phases[0].overhead_p99_ms = 0.6;
        assert!(!r.phases[0].meets_goal());
        assert_eq!(throughput_goal(1), 0.8);
    }
}
