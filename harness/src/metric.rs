//! Metric names: codex's startup phases, time to first token, and the harness's own
//! client-side timings. Which ones a run produces depends on the transport.

use thread_runtime::StartupPhase;

/// `codex.turn_ttft`.
pub const TURN_TTFT: &str = "turn_ttft";
/// `codex.websocket_connect` (the prewarm's connect + upgrade).
pub const WEBSOCKET_CONNECT: &str = "websocket_connect";
/// Client side: `start_thread()` call to its return, as the harness sees it.
pub const CLIENT_THREAD_START: &str = "client.thread_start";
/// Client side: the turn submitted to the first answer delta the harness receives.
pub const CLIENT_FIRST_DELTA: &str = "client.turn_first_delta";
/// Client side: a whole iteration, thread start to shutdown complete.
pub const CLIENT_ITERATION: &str = "client.iteration";
/// Client side, external process: spawn to the stdout line carrying the answer.
pub const CLIENT_PROCESS_ANSWER: &str = "client.process_answer";
/// Client side, external process: spawn to exit.
pub const CLIENT_PROCESS_EXIT: &str = "client.process_exit";

/// How a run reaches the model, as far as which metrics exist is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    Websocket,
    Http,
}

/// What emits the telemetry: it decides which metrics exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Producer {
    /// The reference runtime, in process: reports `not_scheduled` over HTTP.
    Builtin,
    /// The real codex CLI, one process per iteration: no resolve event at all over HTTP.
    CodexExec,
}

/// Which metrics a run produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile {
    pub producer: Producer,
    pub transport: TransportKind,
}

/// Every metric a run of `profile` produces when nothing fails, in report order.
pub fn expected_metrics(profile: Profile) -> Vec<&'static str> {
    let Profile {
        producer,
        transport,
    } = profile;
    let mut names = vec![
        StartupPhase::ThreadStartCreateThread.as_str(),
        StartupPhase::ThreadStartTotal.as_str(),
    ];
    if transport == TransportKind::Websocket {
        names.extend([
            StartupPhase::PrewarmCreateTurnContext.as_str(),
            StartupPhase::PrewarmBuildTools.as_str(),
            WEBSOCKET_CONNECT,
            StartupPhase::PrewarmBuildPrompt.as_str(),
            StartupPhase::PrewarmWebsocketWarmup.as_str(),
            StartupPhase::PrewarmTotal.as_str(),
        ]);
    }
    if transport == TransportKind::Websocket || producer == Producer::Builtin {
        names.push(StartupPhase::PrewarmResolve.as_str());
    }
    names.push(TURN_TTFT);
    match producer {
        Producer::Builtin => {
            names.extend([CLIENT_THREAD_START, CLIENT_FIRST_DELTA, CLIENT_ITERATION])
        }
        Producer::CodexExec => names.extend([CLIENT_PROCESS_ANSWER, CLIENT_PROCESS_EXIT]),
    }
    names
}

/// Position of a metric in report order (unknown names last, alphabetically among themselves).
pub fn report_rank(name: &str) -> usize {
    let builtin = Profile {
        producer: Producer::Builtin,
        transport: TransportKind::Websocket,
    };
    expected_metrics(builtin)
        .iter()
        .chain(&[CLIENT_PROCESS_ANSWER, CLIENT_PROCESS_EXIT])
        .position(|m| *m == name)
        .unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codex_over_http_has_no_prewarm_and_no_resolve() {
        let http = expected_metrics(Profile {
            producer: Producer::CodexExec,
            transport: TransportKind::Http,
        });
        assert!(!http.contains(&"startup_prewarm_resolve"));
        assert!(!http.contains(&"startup_prewarm_total"));
        assert!(http.contains(&"turn_ttft") && http.contains(&CLIENT_PROCESS_EXIT));
        let builtin_http = expected_metrics(Profile {
            producer: Producer::Builtin,
            transport: TransportKind::Http,
        });
        assert!(builtin_http.contains(&"startup_prewarm_resolve"));
    }
}
