//! `phasebench calibrate`: how close to the wire this machine lets the harness get. The bare
//! pair ([`crate::target::wire`]) and the harness's own path run in one process, one after the
//! other and back again, so load and drift reach both:
//!
//! * latency: the built-in calibration scenario (constant injected delays, one startup at a
//!   time), each phase's overhead (measured − injected: p50, p90 − p10, p99) beside the bare
//!   pair's time for the same step back to back (the wire) and beyond the same injected
//!   delays (the floor: the wire plus waking up after an idle wait), half of each before the
//!   harness and half after;
//! * throughput: the built-in throughput scenario (zero delays) at each concurrency, beside
//!   the bare pair's rate of whole exchanges measured just before and just after it, and the
//!   CPU time (the whole process's) each side spent per startup: a rate bound by CPU is the
//!   cores over the CPU per startup, so the CPU ratio says how far the throughput ratio can
//!   go without doing less work per startup.
//!
//! The scenarios are the ones shipped in `scenarios/`, embedded, so the command needs no
//! files and measures the same thing on every machine.

use crate::error::Error;
use crate::measure::meter::Meter;
use crate::measure::wire::{WireLatency, rate};
use crate::model::metric::{CLIENT_FIRST_DELTA, TURN_TTFT, WEBSOCKET_CONNECT};
use crate::model::series::DurationHistogram;
use crate::report::limit::{LimitReport, PhaseLimit, ThroughputLimit};
use crate::results::summarize::ms_to_the_us as ms;
use crate::results::{OverheadRow, RunSummary};
use crate::scenario::{Override, Scenario};
use crate::sys::cpu::cpu_of;
use crate::target::wire::{WireDelays, WireError, WireRequests, WireServer};

use super::run::rounds::measure_rounds;

const CALIBRATION: &str = include_str!("../../../scenarios/calibration.toml");
const THROUGHPUT: &str = include_str!("../../../scenarios/throughput.toml");

/// Unrecorded exchanges before the bare pair's latency is measured.
const WIRE_WARMUP: u64 = 20;

/// What `phasebench calibrate` was asked to measure.
#[derive(Debug, Clone)]
pub(crate) struct CalibrateRequest {
    /// Startups one at a time, for the latency table (harness iterations and bare exchanges).
    pub(crate) iterations: u64,
    /// Startups per throughput measurement (each side, each concurrency).
    pub(crate) startups: u64,
    /// The concurrencies of the throughput table; empty: no throughput.
    pub(crate) concurrency: Vec<u32>,
    /// Skip the latency table.
    pub(crate) skip_latency: bool,
}

impl Default for CalibrateRequest {
    fn default() -> Self {
        Self {
            iterations: 300,
            startups: 5000,
            concurrency: vec![1, 64],
            skip_latency: false,
        }
    }
}

/// Why a calibration could not finish.
#[derive(Debug, thiserror::Error)]
pub enum CalibrateError {
    #[error(transparent)]
    Wire(#[from] WireError),
    #[error("calibrate was stopped before it finished; a half-measured table would mislead")]
    Stopped,
    #[error("--iterations and --startups must be at least 1")]
    Empty,
}

fn overrides(pairs: &[(&str, String)]) -> Vec<Override> {
    pairs
        .iter()
        .map(|(key, value)| Override {
            key: (*key).to_owned(),
            value: value.clone(),
        })
        .collect()
}

/// The harness's overhead row for `metric` beside the bare pair's histograms for its step,
/// back to back (`wire`) and beyond the same injected delay (`floor`).
fn phase_limit(
    summary: &RunSummary,
    metric: &str,
    wire_step: &'static str,
    wire: &DurationHistogram,
    floor: &DurationHistogram,
) -> Option<PhaseLimit> {
    let row: &OverheadRow = summary.overhead.iter().find(|o| o.metric == metric)?;
    Some(PhaseLimit {
        phase: metric.to_owned(),
        wire_step,
        wire_exchanges: wire.count(),
        wire_p50_ms: ms(wire.quantile(0.5)),
        wire_p99_ms: ms(wire.quantile(0.99)),
        wire_jitter_ms: ms(wire.quantile(0.9).saturating_sub(wire.quantile(0.1))),
        floor_p50_ms: ms(floor.quantile(0.5)),
        floor_p99_ms: ms(floor.quantile(0.99)),
        samples: row.count,
        overhead_p50_ms: row.overhead_p50_ms,
        overhead_p99_ms: row.overhead_p99_ms,
        overhead_jitter_ms: row.overhead_jitter_ms.unwrap_or_default(),
    })
}

/// Fails when a stop was asked for mid-way: a half-measured table would mislead.
fn stopped() -> Result<(), Error> {
    match crate::sys::shutdown::requested() {
        Some(_) => Err(CalibrateError::Stopped.into()),
        None => Ok(()),
    }
}

/// The delays the scenario's mock injects, as the bare server's waits.
fn injected(scenario: &Scenario) -> WireDelays {
    use rand::SeedableRng;
    let mut rng = rand::rngs::SmallRng::seed_from_u64(scenario.seed);
    let delays = &scenario.backend.delays;
    WireDelays {
        handshake: delays.ws_handshake.sample(&mut rng),
        warmup: delays.warmup_response.sample(&mut rng),
        first_token: delays.first_token.sample(&mut rng),
    }
}

async fn latency(
    request: &CalibrateRequest,
    wire_server: &WireServer,
) -> Result<Vec<PhaseLimit>, Error> {
    let scenario = Scenario::parse(
        CALIBRATION,
        "scenarios/calibration.toml (built in)",
        &overrides(&[("iterations", request.iterations.to_string())]),
    )?;
    let floor_server = WireServer::start(injected(&scenario)).map_err(CalibrateError::from)?;
    let requests = WireRequests::new(scenario.runtime.instructions_bytes);
    let mut wire = WireLatency::default();
    let mut floor = WireLatency::default();
    let before = request.iterations / 2;
    let after = request.iterations - before;
    wire.measure(wire_server, &requests, WIRE_WARMUP, before)
        .await
        .map_err(CalibrateError::from)?;
    floor
        .measure(&floor_server, &requests, WIRE_WARMUP / 4, before)
        .await
        .map_err(CalibrateError::from)?;
    let harness = measure_rounds(&scenario, Meter::off(), false, None).await?;
    stopped()?;
    floor
        .measure(&floor_server, &requests, 0, after)
        .await
        .map_err(CalibrateError::from)?;
    wire.measure(wire_server, &requests, 0, after)
        .await
        .map_err(CalibrateError::from)?;
    let summary = &harness.summary;
    let first_delta = "turn sent -> first delta";
    Ok([
        (
            WEBSOCKET_CONNECT,
            "connect + upgrade",
            &wire.connect,
            &floor.connect,
        ),
        (
            codex_telemetry::StartupPhase::PrewarmWebsocketWarmup.as_str(),
            "warmup sent -> completed",
            &wire.warmup,
            &floor.warmup,
        ),
        (
            TURN_TTFT,
            first_delta,
            &wire.first_delta,
            &floor.first_delta,
        ),
        (
            CLIENT_FIRST_DELTA,
            first_delta,
            &wire.first_delta,
            &floor.first_delta,
        ),
    ]
    .into_iter()
    .filter_map(|(metric, step, wire, floor)| phase_limit(summary, metric, step, wire, floor))
    .collect())
}

async fn throughput(
    request: &CalibrateRequest,
    server: &WireServer,
    concurrency: u32,
) -> Result<ThroughputLimit, Error> {
    let scenario = Scenario::parse(
        THROUGHPUT,
        "scenarios/throughput.toml (built in)",
        &overrides(&[
            ("iterations", request.startups.to_string()),
            ("concurrency", concurrency.to_string()),
            ("run.rounds", "1".to_owned()),
        ]),
    )?;
    let requests = &WireRequests::new(scenario.runtime.instructions_bytes);
    // The bare pair warms up as the harness does (the scenario's warmup iterations).
    let wire_rate = |exchanges| async move {
        rate(server, requests, exchanges, concurrency)
            .await
            .map_err(CalibrateError::from)
    };
    wire_rate(scenario.plan.warmup).await?;
    let (wire_before_per_s, wire_before_cpu) = cpu_of(wire_rate(request.startups)).await;
    let wire_before_per_s = wire_before_per_s?;
    let (harness, harness_cpu) = cpu_of(measure_rounds(&scenario, Meter::off(), false, None)).await;
    let harness = harness?;
    stopped()?;
    let (wire_after_per_s, wire_after_cpu) = cpu_of(wire_rate(request.startups)).await;
    let wire_after_per_s = wire_after_per_s?;
    // CPU per startup: the harness's run includes its warmup iterations.
    let per_startup =
        |cpu: std::time::Duration, startups: u64| cpu.as_secs_f64() * 1e6 / startups.max(1) as f64;
    Ok(ThroughputLimit {
        concurrency,
        exchanges: request.startups,
        wire_before_per_s,
        wire_after_per_s,
        harness_per_s: harness.summary.run.iterations_per_s,
        wire_cpu_us: per_startup(wire_before_cpu + wire_after_cpu, 2 * request.startups),
        harness_cpu_us: per_startup(harness_cpu, request.startups + scenario.plan.warmup),
    })
}

/// Measures the latency table, then the throughput at each concurrency.
pub(crate) async fn execute(request: &CalibrateRequest) -> Result<LimitReport, Error> {
    if request.iterations == 0 || request.startups == 0 {
        return Err(CalibrateError::Empty.into());
    }
    let server = WireServer::start(WireDelays::default()).map_err(CalibrateError::from)?;
    let phases = if request.skip_latency {
        Vec::new()
    } else {
        latency(request, &server).await?
    };
    let mut rows = Vec::with_capacity(request.concurrency.len());
    for &concurrency in &request.concurrency {
        rows.push(throughput(request, &server, concurrency).await?);
    }
    Ok(LimitReport {
        build: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        phases,
        throughput: rows,
    })
}
