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

/// How a run reaches the model, as far as which metrics exist is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    Websocket,
    Http,
}

/// Every metric a run over `transport` produces when nothing fails, in report order.
pub fn expected_metrics(transport: TransportKind) -> Vec<&'static str> {
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
    names.extend([
        StartupPhase::PrewarmResolve.as_str(),
        TURN_TTFT,
        CLIENT_THREAD_START,
        CLIENT_FIRST_DELTA,
        CLIENT_ITERATION,
    ]);
    names
}

/// Position of a metric in report order (unknown names last, alphabetically among themselves).
pub fn report_rank(name: &str) -> usize {
    expected_metrics(TransportKind::Websocket)
        .iter()
        .position(|m| *m == name)
        .unwrap_or(usize::MAX)
}
