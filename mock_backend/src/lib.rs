//! A Responses-API mock for latency benchmarks: `POST /v1/responses` streamed as server-sent
//! events and the websocket at `/v1/responses`, both on one loopback port, the way the OpenAI
//! backend serves codex. Every stage of an exchange has an injected delay drawn from a seeded
//! distribution, faults fire with configured probabilities, and every request is recorded with
//! server-side timestamps so a harness can check the client's telemetry against ground truth.
//!
//! ```
//! use mock_backend::{MockBackend, MockConfig};
//! let mock = MockBackend::start(MockConfig::default()).unwrap();
//! assert!(mock.uri().starts_with("http://127.0.0.1:"));
//! ```
#![forbid(unsafe_code)]
#![warn(unreachable_pub)]

pub mod config;
pub mod delay;
pub mod mcp;
pub mod protocol;
pub mod record;
mod server;
pub mod timer;

pub use config::{Faults, MockConfig, Probability, StageDelays};
pub use delay::{DelayDist, ParseDurationError, format_duration, parse_delay, parse_duration};
pub use record::{Exchange, InjectedFault, RecordedRequest, RequestLog};
pub use server::{MockBackend, MockBackendBuilder, StartError};
