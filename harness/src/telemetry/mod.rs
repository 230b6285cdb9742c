//! Getting samples out of a runtime's own telemetry: the in-memory log processor for the
//! built-in runtime ([`capture`]), OTLP decoding ([`otlp`]), the loopback OTLP receiver for
//! external processes ([`receiver`]), and the phase ↔ trace-span mapping that refines
//! whole-millisecond phases ([`spans`]). Uses `model`; knows nothing of targets or runs.

pub(crate) mod capture;
pub(crate) mod metrics;
pub(crate) mod otlp;
pub(crate) mod receiver;
pub(crate) mod spans;
