//! What this crate's integration tests and benches drive directly, below the commands: the
//! targets (started by the test, so it can look at the mock, the receiver and the egress trap
//! afterwards), one round on such a target, and the telemetry decoders. Compiled only with the
//! `test-support` feature, which only the crate's own dev-dependency on itself enables; not an
//! API.

pub use crate::commands::run::rounds::run_target;
pub use crate::model::metric::expected_metrics;
pub use crate::model::sample::Resolution;
pub use crate::target::Target;
pub use crate::target::builtin::BuiltinTarget;
pub use crate::target::codex::NPM_INSTALL_PATH;
pub use crate::target::codex::aged::template_dir;
pub use crate::target::codex::app_server::CodexAppServerTarget;
pub use crate::target::codex::config::config_toml;
pub use crate::target::codex::exec::CodexExecTarget;
pub use crate::telemetry::otlp::{Encoding, decode_logs, decode_spans};
