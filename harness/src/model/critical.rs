//! Critical-path attribution of one iteration, from the shape of the startup path that the
//! runtime and codex share: at thread start the prewarm builds its tools while the websocket
//! connects (the two run side by side), then warms the socket up; the first turn resolves the
//! prewarm (waiting for it if it is still running) and then waits for the model.
//!
//! So, per iteration: the prewarm finished on whichever of tool building and the websocket
//! connect took longer (they start together); and the first token waited on the prewarm for as
//! long as resolve took (attributed to the prewarm's critical branch, or to the warmup when it
//! timed out), and on the model response for the rest of the TTFT. Durations suffice: the
//! structure fixes where each phase starts.

use std::time::Duration;

use codex_telemetry::StartupPhase;

use super::metric::{TURN_TTFT, WEBSOCKET_CONNECT};
use super::sample::Sample;

/// What a stretch of the startup path waited on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Cause {
    /// Listing tools (tool servers, MCP servers) and building their schemas.
    ToolBuilding,
    /// The websocket handshake (connect + upgrade).
    WebsocketConnect,
    /// The warmup request on the socket, timed out.
    WarmupTimeout,
    /// The model: from the request to its first token.
    Response,
}

impl Cause {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Cause::ToolBuilding => "tool building",
            Cause::WebsocketConnect => "websocket connect",
            Cause::WarmupTimeout => "warmup timeout",
            Cause::Response => "model response",
        }
    }
}

/// One iteration's critical path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Attribution {
    /// The branch the prewarm finished on (None without a prewarm, e.g. over HTTP).
    pub prewarm: Option<Cause>,
    /// Of the first turn's TTFT: how long it waited on what (at most two entries: the prewarm's
    /// branch for the resolve wait, the response for the rest).
    pub first_token: Vec<(Cause, Duration)>,
}

/// Resolve waits below this are the resolve itself, not a wait on the prewarm.
const WAIT_FLOOR: Duration = Duration::from_millis(1);

fn first<'a>(samples: &'a [Sample], metric: &str) -> Option<&'a Sample> {
    samples.iter().find(|s| s.key.metric == metric)
}

/// The critical path of one iteration's samples (None without a first token).
pub(crate) fn attribute(samples: &[Sample]) -> Option<Attribution> {
    let tools = first(samples, StartupPhase::PrewarmBuildTools.as_str()).map(|s| s.duration);
    let connect = first(samples, WEBSOCKET_CONNECT).map(|s| s.duration);
    let prewarm = match (tools, connect) {
        (Some(t), Some(c)) if t > c => Some(Cause::ToolBuilding),
        (Some(_), Some(_)) | (None, Some(_)) => Some(Cause::WebsocketConnect),
        (Some(_), None) => Some(Cause::ToolBuilding),
        (None, None) => None,
    };
    let ttft = first(samples, TURN_TTFT)?.duration;
    let mut first_token = Vec::with_capacity(2);
    if let Some(resolve) = first(samples, StartupPhase::PrewarmResolve.as_str())
        && resolve.duration >= WAIT_FLOOR
    {
        let waited = resolve.duration.min(ttft);
        let cause = match resolve.key.status.as_deref() {
            Some("timed_out") => Some(Cause::WarmupTimeout),
            Some("ready") | Some("failed") => prewarm,
            _ => None,
        };
        if let Some(cause) = cause {
            first_token.push((cause, waited));
        }
    }
    let waited: Duration = first_token.iter().map(|(_, d)| *d).sum();
    first_token.push((Cause::Response, ttft.saturating_sub(waited)));
    Some(Attribution {
        prewarm,
        first_token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::sample::Resolution;

    fn sample(metric: &str, status: Option<&str>, ms: u64) -> Sample {
        Sample {
            key: crate::model::series::MetricKey::new(metric, status),
            duration: Duration::from_millis(ms),
            resolution: Resolution::Us,
            ended_at: None,
        }
    }

    #[test]
    fn the_longer_branch_finishes_the_prewarm_and_resolve_names_it() {
        // A slow handshake, the turn sent early: it waited 60 ms on the handshake.
        let samples = [
            sample("startup_prewarm_build_tools", None, 50),
            sample("websocket_connect", None, 80),
            sample("startup_prewarm_resolve", Some("ready"), 60),
            sample("turn_ttft", None, 85),
        ];
        let a = attribute(&samples).unwrap();
        assert_eq!(a.prewarm, Some(Cause::WebsocketConnect));
        assert_eq!(
            a.first_token,
            [
                (Cause::WebsocketConnect, Duration::from_millis(60)),
                (Cause::Response, Duration::from_millis(25))
            ]
        );
        // The prewarm was done when the turn came: all of TTFT is the response.
        let ready = [
            sample("startup_prewarm_build_tools", None, 90),
            sample("websocket_connect", None, 10),
            sample("startup_prewarm_resolve", Some("ready"), 0),
            sample("turn_ttft", None, 30),
        ];
        let a = attribute(&ready).unwrap();
        assert_eq!(a.prewarm, Some(Cause::ToolBuilding));
        assert_eq!(
            a.first_token,
            [(Cause::Response, Duration::from_millis(30))]
        );
    }

    #[test]
    fn timeouts_http_and_missing_ttft() {
        let timed_out = [
            sample("websocket_connect", None, 5),
            sample("startup_prewarm_resolve", Some("timed_out"), 500),
            sample("turn_ttft", None, 540),
        ];
        let a = attribute(&timed_out).unwrap();
        assert_eq!(
            a.first_token[0],
            (Cause::WarmupTimeout, Duration::from_millis(500))
        );
        let http = [
            sample("startup_prewarm_resolve", Some("not_scheduled"), 2),
            sample("turn_ttft", None, 40),
        ];
        let a = attribute(&http).unwrap();
        assert_eq!(a.prewarm, None);
        assert_eq!(
            a.first_token,
            [(Cause::Response, Duration::from_millis(40))]
        );
        assert!(attribute(&[sample("websocket_connect", None, 5)]).is_none());
    }
}
