//! Sub-millisecond phase durations from trace spans.
//!
//! Codex reports `duration_ms` in whole milliseconds, so a 0.4 ms phase reads 0 and a 1.9 ms
//! one reads 1. With its trace exporter on, most startup phases also exist as spans, timed in
//! nanoseconds. Each phase event is logged inside a span (the log record's `spanId`): either
//! the phase's own span or the span enclosing it, whose child of a known name is the phase.
//!
//! [`PHASE_SPANS`] names the span of each phase, as observed in codex 0.169.0. A span is only
//! used when it **agrees** with the logged value (its whole milliseconds within
//! [`AGREEMENT`] of `duration_ms`): the span's clock starts and stops at nearly, not exactly,
//! the same points as the phase timer, and a renamed or restructured span in another codex
//! version must fall back to whole milliseconds rather than report a different interval.
//! Phases without a matching span keep their whole-millisecond values, and their series say
//! so: `thread_start_total` and `startup_prewarm_build_tools` (no span covers the same
//! interval), `startup_prewarm_websocket_warmup` (its request span, `model_client.
//! stream_responses_websocket` with `websocket.warmup = true`, ends when the request is sent,
//! before the answer the phase waits for; the agreement check caught it) and `turn_ttft`.

use std::collections::HashMap;
use std::time::Duration;

use crate::model::metric::WEBSOCKET_CONNECT;
use crate::model::sample::{Resolution, Sample};

/// Largest difference, in whole milliseconds, between a span and the logged `duration_ms`.
pub(crate) const AGREEMENT: u64 = 1;

/// Where a phase's span is, relative to the span its event was logged in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PhaseSpan {
    pub metric: &'static str,
    /// The span's name.
    pub span: &'static str,
}

/// Phase → span, codex 0.169.0. The span is the log record's own span or its child.
pub(crate) const PHASE_SPANS: [PhaseSpan; 6] = [
    PhaseSpan {
        metric: "thread_start_create_thread",
        span: "app_server.thread_start.create_thread",
    },
    PhaseSpan {
        metric: "startup_prewarm_create_turn_context",
        span: "turn_context.build",
    },
    PhaseSpan {
        metric: WEBSOCKET_CONNECT,
        span: "model_client.websocket_connection",
    },
    PhaseSpan {
        metric: "startup_prewarm_build_prompt",
        span: "build_prompt",
    },
    PhaseSpan {
        metric: "startup_prewarm_total",
        span: "startup_prewarm",
    },
    PhaseSpan {
        metric: "startup_prewarm_resolve",
        span: "startup_prewarm.resolve",
    },
];

/// The span name a phase is looked up by, if it has one.
pub(crate) fn phase_span(metric: &str) -> Option<&'static PhaseSpan> {
    PHASE_SPANS.iter().find(|p| p.metric == metric)
}

/// The interned name of a span phasebench reads, if it is one.
pub(crate) fn known_span_name(name: &str) -> Option<&'static str> {
    PHASE_SPANS.iter().map(|p| p.span).find(|s| *s == name)
}

/// A span of a name in [`PHASE_SPANS`], reduced to what matching needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpanRecord {
    pub id: u64,
    pub parent: Option<u64>,
    pub name: &'static str,
    pub duration: Duration,
}

/// What became of one sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refinement {
    /// The metric has no span: kept as logged.
    NotMapped,
    /// Replaced by its span's duration, at microsecond resolution.
    Refined,
    /// No span of the right name where expected (not exported, or not yet arrived).
    Missing,
    /// A span was found but disagrees with the logged value: kept as logged.
    Disagrees,
}

/// Spans received so far, by id and by parent.
#[derive(Debug, Default)]
pub(crate) struct SpanIndex {
    by_id: HashMap<u64, SpanRecord>,
    children: HashMap<u64, Vec<u64>>,
}

impl SpanIndex {
    pub(crate) fn insert(&mut self, span: SpanRecord) {
        if let Some(parent) = span.parent {
            self.children.entry(parent).or_default().push(span.id);
        }
        self.by_id.insert(span.id, span);
    }

    pub(crate) fn len(&self) -> usize {
        self.by_id.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// The span of `phase` for an event logged in span `logged_in`.
    fn find(&self, phase: &PhaseSpan, logged_in: u64) -> Option<&SpanRecord> {
        let fits = |s: &&SpanRecord| s.name == phase.span;
        if let Some(own) = self.by_id.get(&logged_in).filter(fits) {
            return Some(own);
        }
        let mut children = self
            .children
            .get(&logged_in)?
            .iter()
            .filter_map(|id| self.by_id.get(id))
            .filter(fits);
        let first = children.next()?;
        // Two candidates: which one is the phase cannot be told.
        children.next().is_none().then_some(first)
    }

    /// Whether `sample`, logged in span `logged_in`, could be refined now.
    pub(crate) fn has_span_for(&self, sample: &Sample, logged_in: Option<u64>) -> bool {
        match (phase_span(&sample.key.metric), logged_in) {
            (Some(phase), Some(span)) => self.find(phase, span).is_some(),
            (Some(_), None) => false,
            (None, _) => true,
        }
    }

    /// Replaces a whole-millisecond sample's duration with its span's, when one agrees.
    pub(crate) fn refine(&self, sample: &mut Sample, logged_in: Option<u64>) -> Refinement {
        let Some(phase) = phase_span(&sample.key.metric) else {
            return Refinement::NotMapped;
        };
        if sample.resolution != Resolution::Ms {
            return Refinement::NotMapped;
        }
        let Some(span) = logged_in.and_then(|id| self.find(phase, id)) else {
            return Refinement::Missing;
        };
        let span_ms = span.duration.as_millis() as u64;
        let logged_ms = sample.duration.as_millis() as u64;
        if span_ms.abs_diff(logged_ms) > AGREEMENT {
            return Refinement::Disagrees;
        }
        sample.duration = Duration::from_micros(span.duration.as_micros() as u64);
        sample.resolution = Resolution::Us;
        Refinement::Refined
    }

    /// Forgets the spans a refined sample could have used (they belong to one thread).
    pub(crate) fn forget(&mut self, logged_in: u64) {
        if let Some(children) = self.children.remove(&logged_in) {
            for child in children {
                self.by_id.remove(&child);
            }
        }
        if let Some(own) = self.by_id.remove(&logged_in)
            && let Some(parent) = own.parent
            && let Some(siblings) = self.children.get_mut(&parent)
        {
            siblings.retain(|id| *id != logged_in);
            if siblings.is_empty() {
                self.children.remove(&parent);
            }
        }
    }
}

/// Counts of what refinement did, for the run's telemetry health.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RefinementCounts {
    pub refined: u64,
    pub missing: u64,
    pub disagreeing: u64,
}

impl RefinementCounts {
    pub(crate) fn count(&mut self, r: Refinement) {
        match r {
            Refinement::Refined => self.refined += 1,
            Refinement::Missing => self.missing += 1,
            Refinement::Disagrees => self.disagreeing += 1,
            Refinement::NotMapped => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(id: u64, parent: Option<u64>, name: &'static str, us: u64) -> SpanRecord {
        SpanRecord {
            id,
            parent,
            name,
            duration: Duration::from_micros(us),
        }
    }

    fn logged(metric: &str, ms: u64) -> Sample {
        Sample {
            key: crate::model::series::MetricKey::new(metric, None),
            duration: Duration::from_millis(ms),
            resolution: Resolution::Ms,
            ended_at: None,
        }
    }

    #[test]
    fn own_span_or_named_child_refines_an_agreeing_phase() {
        let mut index = SpanIndex::default();
        index.insert(span(1, None, "startup_prewarm", 61_665));
        index.insert(span(2, Some(1), "build_prompt", 6));

        let mut total = logged("startup_prewarm_total", 61);
        assert_eq!(index.refine(&mut total, Some(1)), Refinement::Refined);
        assert_eq!(total.duration, Duration::from_micros(61_665));
        assert_eq!(total.resolution, Resolution::Us);

        let mut prompt = logged("startup_prewarm_build_prompt", 0);
        assert_eq!(index.refine(&mut prompt, Some(1)), Refinement::Refined);
        assert_eq!(prompt.duration, Duration::from_micros(6));
        // A phase without a span of its own is left alone.
        let mut warm = logged("startup_prewarm_websocket_warmup", 5);
        assert_eq!(index.refine(&mut warm, Some(1)), Refinement::NotMapped);
        assert_eq!(warm.resolution, Resolution::Ms);
    }

    #[test]
    fn disagreeing_missing_and_unmapped_samples_keep_their_milliseconds() {
        let mut index = SpanIndex::default();
        index.insert(span(1, None, "startup_prewarm", 61_665));
        let mut off = logged("startup_prewarm_total", 58);
        assert_eq!(index.refine(&mut off, Some(1)), Refinement::Disagrees);
        assert_eq!(off, logged("startup_prewarm_total", 58));
        let mut lost = logged("startup_prewarm_resolve", 0);
        assert_eq!(index.refine(&mut lost, Some(9)), Refinement::Missing);
        assert_eq!(index.refine(&mut lost, None), Refinement::Missing);
        let mut ttft = logged("turn_ttft", 66);
        assert_eq!(index.refine(&mut ttft, Some(1)), Refinement::NotMapped);
        assert!(index.has_span_for(&ttft, None));
        assert!(!index.has_span_for(&lost, Some(9)));
    }

    #[test]
    fn ambiguous_children_are_not_guessed() {
        let mut index = SpanIndex::default();
        index.insert(span(1, None, "startup_prewarm", 10_000));
        index.insert(span(2, Some(1), "build_prompt", 100));
        index.insert(span(3, Some(1), "build_prompt", 200));
        let mut prompt = logged("startup_prewarm_build_prompt", 0);
        assert_eq!(index.refine(&mut prompt, Some(1)), Refinement::Missing);
    }

    #[test]
    fn forgetting_a_thread_s_spans_frees_them() {
        let mut index = SpanIndex::default();
        index.insert(span(1, Some(100), "startup_prewarm", 10_000));
        index.insert(span(2, Some(1), "build_prompt", 100));
        index.insert(span(7, None, "startup_prewarm.resolve", 40));
        index.forget(1);
        assert_eq!(index.len(), 1);
        index.forget(7);
        assert!(index.is_empty());
        assert!(index.children.is_empty(), "{:?}", index.children);
    }
}
