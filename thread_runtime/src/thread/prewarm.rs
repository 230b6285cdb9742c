//! The startup prewarm, run in the background from thread start: turn context, tool listing
//! and schema building beside the websocket handshake, prompt assembly, then the warmup
//! request on the new socket. Each step is a `codex.startup_phase` event; a failure anywhere
//! is `startup_prewarm_total` with status `failed` and leaves the first turn to connect anew.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{PrewarmError, Shared};
use crate::config::{RuntimeConfig, Transport};
use crate::context::TurnContext;
use crate::prompt::{self, Prompt};
use crate::telemetry::{PhaseStatus, SessionTelemetry, StartupPhase};
use crate::tools;
use crate::transport::{self, ModelSocket};

/// The result of a successful prewarm.
pub(super) struct Prewarmed {
    pub(super) socket: ModelSocket,
    pub(super) response_id: String,
    pub(super) prompt: Prompt,
}

pub(super) fn connect_timeout(config: &RuntimeConfig) -> Duration {
    match config.transport {
        Transport::Websocket { connect_timeout } => connect_timeout,
        Transport::Http => Duration::ZERO,
    }
}

pub(super) async fn run_prewarm(
    shared: Arc<Shared>,
    telemetry: SessionTelemetry,
    id: String,
) -> Result<Prewarmed, PrewarmError> {
    let total = Instant::now();
    let result = prewarm_steps(&shared, &telemetry, &id).await;
    let status = if result.is_ok() {
        PhaseStatus::Ready
    } else {
        PhaseStatus::Failed
    };
    telemetry.startup_phase(StartupPhase::PrewarmTotal, Some(status), total.elapsed());
    result
}

async fn prewarm_steps(
    shared: &Shared,
    telemetry: &SessionTelemetry,
    id: &str,
) -> Result<Prewarmed, PrewarmError> {
    let config = &shared.config;
    let started = Instant::now();
    let context = TurnContext::resolve(&config.model, &cwd_of(config))?;
    telemetry.startup_phase(
        StartupPhase::PrewarmCreateTurnContext,
        None,
        started.elapsed(),
    );

    // Tool building and the websocket handshake overlap.
    let build_tools = async {
        let started = Instant::now();
        let tools = tools::discover_and_build(
            &shared.http,
            &config.tool_servers,
            &config.mcp_servers,
            id,
            config.http_timeout,
        )
        .await;
        if tools.is_ok() {
            telemetry.startup_phase(StartupPhase::PrewarmBuildTools, None, started.elapsed());
        }
        tools
    };
    let connect = async {
        let started = Instant::now();
        let socket = transport::connect_websocket(config, id, connect_timeout(config)).await;
        telemetry.websocket_connect(started.elapsed(), socket.is_ok());
        socket
    };
    let (tools, socket) = tokio::join!(build_tools, connect);
    let (tools, mut socket) = (tools?, socket?);

    let started = Instant::now();
    let prompt = prompt::build(
        &context.model.slug,
        id,
        &shared.instructions,
        &tools,
        &context.cwd,
    );
    telemetry.startup_phase(StartupPhase::PrewarmBuildPrompt, None, started.elapsed());

    let started = Instant::now();
    let response_id =
        transport::warmup(&mut socket, prompt::warmup_request(&context.model.slug, id)).await?;
    telemetry.startup_phase(
        StartupPhase::PrewarmWebsocketWarmup,
        None,
        started.elapsed(),
    );
    Ok(Prewarmed {
        socket,
        response_id,
        prompt,
    })
}

pub(super) fn cwd_of(config: &RuntimeConfig) -> String {
    config.state_dir.display().to_string()
}
