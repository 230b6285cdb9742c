//! In-memory telemetry capture for an in-process runtime: an OpenTelemetry log processor that
//! decodes each record into a [`Sample`] and files it under the record's `conversation.id`, so
//! the harness can take one thread's samples when its iteration ends.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use codex_telemetry::ATTR_CONVERSATION_ID;
use opentelemetry::InstrumentationScope;
use opentelemetry::logs::AnyValue;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogProcessor, SdkLogRecord};

use crate::model::sample::{AttrValue, Sample, decode};

#[derive(Debug, Default)]
struct Inner {
    by_thread: Mutex<HashMap<String, Vec<Sample>>>,
    malformed: AtomicU64,
    unattributed: AtomicU64,
}

/// The capture; clones share one store.
#[derive(Debug, Clone, Default)]
pub(crate) struct Capture {
    inner: Arc<Inner>,
}

impl Capture {
    /// Removes and returns the samples of one thread.
    pub(crate) fn take(&self, thread_id: &str) -> Vec<Sample> {
        self.inner
            .by_thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(thread_id)
            .unwrap_or_default()
    }

    /// Samples of threads nobody took (e.g. emitted after their iteration ended).
    pub(crate) fn untaken(&self) -> usize {
        self.inner
            .by_thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .map(Vec::len)
            .sum()
    }

    /// Events with a metric's name whose attributes could not be decoded.
    pub(crate) fn malformed(&self) -> u64 {
        self.inner.malformed.load(Ordering::Relaxed)
    }

    /// Metric events without a `conversation.id`.
    pub(crate) fn unattributed(&self) -> u64 {
        self.inner.unattributed.load(Ordering::Relaxed)
    }

    fn file(&self, conversation_id: Option<&str>, sample: Sample) {
        match conversation_id {
            Some(id) => self
                .inner
                .by_thread
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(id.to_owned())
                .or_default()
                .push(sample),
            None => {
                self.inner.unattributed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

fn attr_value(value: &AnyValue) -> Option<AttrValue<'_>> {
    match value {
        AnyValue::String(s) => Some(AttrValue::Str(s.as_str())),
        AnyValue::Int(i) => Some(AttrValue::Int(*i)),
        AnyValue::Double(d) => Some(AttrValue::Double(*d)),
        _ => None,
    }
}

impl LogProcessor for Capture {
    fn emit(&self, record: &mut SdkLogRecord, _scope: &InstrumentationScope) {
        let get = |key: &str| {
            record
                .attributes_iter()
                .find(|(k, _)| k.as_str() == key)
                .and_then(|(_, v)| attr_value(v))
        };
        match decode(get) {
            Ok(Some(mut sample)) => {
                sample.ended_at = record.timestamp().or(record.observed_timestamp());
                let id = match get(ATTR_CONVERSATION_ID) {
                    Some(AttrValue::Str(id)) => Some(id),
                    _ => None,
                };
                self.file(id, sample);
            }
            Ok(None) => {}
            Err(_) => {
                self.inner.malformed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }
}
