//! End to end: the runtime against the mock backend and a wiremock tool server, with its
//! telemetry captured by a log processor.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mock_backend::{DelayDist, Exchange, MockBackend, MockConfig, Probability};
use opentelemetry::InstrumentationScope;
use opentelemetry::logs::AnyValue;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogProcessor, SdkLogRecord, SdkLoggerProvider};
use thread_runtime::{
    Event, Op, RuntimeConfig, TelemetrySink, ThreadRuntime, Transport, TurnTransport,
};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// (event name, phase, status) of one captured log record.
type CapturedEvent = (String, Option<String>, Option<String>);

#[derive(Debug, Default, Clone)]
struct Captured(Arc<Mutex<Vec<CapturedEvent>>>);

impl LogProcessor for Captured {
    fn emit(&self, record: &mut SdkLogRecord, _scope: &InstrumentationScope) {
        let get = |key: &str| {
            record
                .attributes_iter()
                .find(|(k, _)| k.as_str() == key)
                .and_then(|(_, v)| match v {
                    AnyValue::String(s) => Some(s.as_str().to_owned()),
                    _ => None,
                })
        };
        let name = get("event.name").unwrap_or_default();
        self.0
            .lock()
            .unwrap()
            .push((name, get("startup.phase"), get("startup.status")));
    }
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }
}

impl Captured {
    fn phases(&self) -> Vec<(String, Option<String>)> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(n, _, _)| n == "codex.startup_phase")
            .map(|(_, p, s)| (p.clone().unwrap(), s.clone()))
            .collect()
    }
    fn count(&self, event: &str) -> usize {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(n, _, _)| n == event)
            .count()
    }
}

async fn tool_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/tools"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(thread_runtime::tools::synthetic_listing(0, 8)),
        )
        .mount(&server)
        .await;
    server
}

struct Setup {
    mock: MockBackend,
    runtime: ThreadRuntime,
    captured: Captured,
    _tools: MockServer,
    _dir: tempfile::TempDir,
    _provider: SdkLoggerProvider,
}

async fn setup(mock_config: MockConfig, transport: Transport) -> Setup {
    let mock = MockBackend::start(mock_config).unwrap();
    let tools = tool_server().await;
    let dir = tempfile::tempdir().unwrap();
    let captured = Captured::default();
    let provider = SdkLoggerProvider::builder()
        .with_log_processor(captured.clone())
        .build();
    let mut config = RuntimeConfig::new(mock.uri(), dir.path().join("state"));
    config.transport = transport;
    config.tool_servers = vec![tools.uri()];
    config.instructions_bytes = 2048;
    let runtime = ThreadRuntime::new(config, TelemetrySink::new(&provider)).unwrap();
    Setup {
        mock,
        runtime,
        captured,
        _tools: tools,
        _dir: dir,
        _provider: provider,
    }
}

fn ws(timeout_ms: u64) -> Transport {
    Transport::Websocket {
        connect_timeout: Duration::from_millis(timeout_ms),
    }
}

async fn run_one_turn(runtime: &ThreadRuntime) -> (String, Vec<Event>) {
    let mut thread = runtime.start_thread().await.unwrap();
    thread.submit(Op::UserTurn { text: "hi".into() }).unwrap();
    let mut events = Vec::new();
    let id = thread.id().to_owned();
    loop {
        let event = tokio::time::timeout(Duration::from_secs(10), thread.next_event())
            .await
            .expect("event within 10 s")
            .expect("session alive");
        let done = matches!(
            event,
            Event::TurnComplete { .. } | Event::TurnAborted | Event::Error(_)
        );
        events.push(event);
        if done {
            break;
        }
    }
    thread.shutdown_and_wait().await.unwrap();
    (id, events)
}

fn status_of(phases: &[(String, Option<String>)], phase: &str) -> Option<String> {
    phases
        .iter()
        .find(|(p, _)| p == phase)
        .and_then(|(_, s)| s.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_turn_uses_the_warm_socket_and_reports_every_phase() {
    let s = setup(MockConfig::default(), ws(5000)).await;
    let (id, events) = run_one_turn(&s.runtime).await;
    match events.last().unwrap() {
        Event::TurnComplete { text, transport } => {
            assert_eq!(text, "Hello from the mock model.");
            // The first turn races the prewarm; with no delays the prewarm normally wins, but
            // resolve waits for it either way.
            assert_eq!(*transport, TurnTransport::WarmWebsocket);
        }
        other => panic!("turn did not complete: {other:?}"),
    }
    let phases = s.captured.phases();
    for phase in thread_runtime::StartupPhase::ALL {
        assert!(
            phases.iter().any(|(p, _)| p == phase.as_str()),
            "missing {}",
            phase.as_str()
        );
    }
    assert_eq!(
        status_of(&phases, "startup_prewarm_resolve").as_deref(),
        Some("ready")
    );
    assert_eq!(s.captured.count("codex.turn_ttft"), 1);
    let records = s.mock.requests().take_thread(&id);
    let warmup = records
        .iter()
        .find(|r| r.exchange == Exchange::WebsocketWarmup)
        .expect("warmup");
    let turn = records
        .iter()
        .find(|r| r.exchange == Exchange::WebsocketTurn)
        .expect("turn");
    assert!(warmup.completed_sent.is_some());
    assert_eq!(turn.previous_response_id.as_deref(), Some("resp_mock_1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_transport_is_not_scheduled_and_streams_sse() {
    let s = setup(MockConfig::default(), Transport::Http).await;
    let (_, events) = run_one_turn(&s.runtime).await;
    assert!(matches!(
        events.last(),
        Some(Event::TurnComplete {
            transport: TurnTransport::Http,
            ..
        })
    ));
    let phases = s.captured.phases();
    assert_eq!(
        status_of(&phases, "startup_prewarm_resolve").as_deref(),
        Some("not_scheduled")
    );
    assert!(!phases.iter().any(|(p, _)| p == "startup_prewarm_total"));
    assert_eq!(s.captured.count("codex.turn_ttft"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_warmup_times_out_and_reconnects() {
    let mut cfg = MockConfig::default();
    cfg.faults.warmup_stall = Probability::ALWAYS;
    let s = setup(cfg, ws(150)).await;
    let started = std::time::Instant::now();
    let (_, events) = run_one_turn(&s.runtime).await;
    assert!(matches!(
        events.last(),
        Some(Event::TurnComplete {
            transport: TurnTransport::Websocket,
            ..
        })
    ));
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert_eq!(
        status_of(&s.captured.phases(), "startup_prewarm_resolve").as_deref(),
        Some("timed_out")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_upgrade_fails_and_falls_back_to_http() {
    let mut cfg = MockConfig::default();
    cfg.faults.ws_upgrade_reject = Probability::ALWAYS;
    let s = setup(cfg, ws(5000)).await;
    let (_, events) = run_one_turn(&s.runtime).await;
    assert!(
        matches!(
            events.last(),
            Some(Event::TurnComplete {
                transport: TurnTransport::Http,
                ..
            })
        ),
        "{events:?}"
    );
    let phases = s.captured.phases();
    assert_eq!(
        status_of(&phases, "startup_prewarm_resolve").as_deref(),
        Some("failed")
    );
    assert_eq!(
        status_of(&phases, "startup_prewarm_total").as_deref(),
        Some("failed")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupt_while_waiting_for_the_prewarm_is_cancelled() {
    let mut cfg = MockConfig::default();
    cfg.delays.warmup_response = DelayDist::Constant(Duration::from_millis(500));
    let s = setup(cfg, ws(5000)).await;
    let mut thread = s.runtime.start_thread().await.unwrap();
    thread.submit(Op::UserTurn { text: "hi".into() }).unwrap();
    tokio::time::sleep(Duration::from_millis(30)).await;
    thread.submit(Op::Interrupt).unwrap();
    let mut last = None;
    while let Ok(Some(event)) =
        tokio::time::timeout(Duration::from_secs(5), thread.next_event()).await
    {
        let done = matches!(event, Event::TurnAborted | Event::TurnComplete { .. });
        last = Some(event);
        if done {
            break;
        }
    }
    assert_eq!(last, Some(Event::TurnAborted));
    thread.shutdown_and_wait().await.unwrap();
    assert_eq!(
        status_of(&s.captured.phases(), "startup_prewarm_resolve").as_deref(),
        Some("cancelled")
    );
    assert_eq!(s.captured.count("codex.turn_ttft"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_mid_stream_is_an_error_not_a_hang() {
    let mut cfg = MockConfig::default();
    cfg.faults.reset_mid_stream = Probability::ALWAYS;
    for transport in [Transport::Http, ws(5000)] {
        let s = setup(cfg.clone(), transport).await;
        let (_, events) = run_one_turn(&s.runtime).await;
        assert!(
            matches!(events.last(), Some(Event::Error(_))),
            "{transport:?}: {events:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_turn_chains_on_the_same_socket() {
    let s = setup(MockConfig::default(), ws(5000)).await;
    let mut thread = s.runtime.start_thread().await.unwrap();
    let id = thread.id().to_owned();
    for _ in 0..2 {
        thread.submit(Op::UserTurn { text: "hi".into() }).unwrap();
        loop {
            match tokio::time::timeout(Duration::from_secs(5), thread.next_event())
                .await
                .unwrap()
                .unwrap()
            {
                Event::TurnComplete { .. } => break,
                Event::Error(e) => panic!("{e}"),
                _ => {}
            }
        }
    }
    thread.shutdown_and_wait().await.unwrap();
    let records = s.mock.requests().take_thread(&id);
    let upgrades = records
        .iter()
        .filter(|r| r.exchange == Exchange::WebsocketUpgrade)
        .count();
    let turns: Vec<_> = records
        .iter()
        .filter(|r| r.exchange == Exchange::WebsocketTurn)
        .collect();
    assert_eq!(upgrades, 1);
    assert_eq!(turns.len(), 2);
    assert_eq!(
        turns[1].previous_response_id.as_deref(),
        Some("resp_mock_2")
    );
}

/// (metric name, attributes, count) of one exported histogram data point.
type ExportedPoint = (String, Vec<(String, String)>, u64);

/// Keeps every exported histogram data point.
#[derive(Debug, Default, Clone)]
struct HistogramExport(Arc<Mutex<Vec<ExportedPoint>>>);

impl opentelemetry_sdk::metrics::exporter::PushMetricExporter for HistogramExport {
    async fn export(
        &self,
        metrics: &opentelemetry_sdk::metrics::data::ResourceMetrics,
    ) -> OTelSdkResult {
        use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
        let mut out = self.0.lock().unwrap();
        for scope in metrics.scope_metrics() {
            for metric in scope.metrics() {
                if let AggregatedMetrics::F64(MetricData::Histogram(h)) = metric.data() {
                    for point in h.data_points() {
                        let attrs = point
                            .attributes()
                            .map(|kv| (kv.key.to_string(), kv.value.to_string()))
                            .collect();
                        out.push((metric.name().to_owned(), attrs, point.count()));
                    }
                }
            }
        }
        Ok(())
    }
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }
    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
    fn temporality(&self) -> opentelemetry_sdk::metrics::Temporality {
        opentelemetry_sdk::metrics::Temporality::Cumulative
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codex_histograms_are_recorded_with_phase_and_status() {
    use opentelemetry::metrics::MeterProvider;
    let mock = MockBackend::start(MockConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let logs = SdkLoggerProvider::builder().build();
    let export = HistogramExport::default();
    let meters = opentelemetry_sdk::metrics::SdkMeterProvider::builder()
        .with_reader(opentelemetry_sdk::metrics::PeriodicReader::builder(export.clone()).build())
        .build();
    let meter = meters.meter("test");
    let runtime = ThreadRuntime::new(
        RuntimeConfig::new(mock.uri(), dir.path().join("state")),
        TelemetrySink::new(&logs).with_meter(&meter),
    )
    .unwrap();
    for _ in 0..3 {
        let (_, events) = run_one_turn(&runtime).await;
        assert!(matches!(events.last(), Some(Event::TurnComplete { .. })));
    }
    meters.force_flush().unwrap();
    let points = export.0.lock().unwrap().clone();
    let count = |name: &str, attrs: &[(&str, &str)]| -> u64 {
        points
            .iter()
            .filter(|(n, a, _)| {
                n == name
                    && attrs
                        .iter()
                        .all(|(k, v)| a.contains(&(k.to_string(), v.to_string())))
            })
            .map(|(_, _, c)| *c)
            .max()
            .unwrap_or(0)
    };
    assert_eq!(count("codex.turn.ttft.duration_ms", &[]), 3, "{points:?}");
    assert_eq!(
        count(
            "codex.startup.phase.duration_ms",
            &[("phase", "thread_start_total"), ("status", "ready")]
        ),
        3
    );
    assert_eq!(
        count(
            "codex.startup.phase.duration_ms",
            &[("phase", "startup_prewarm_resolve"), ("status", "ready")]
        ),
        3
    );
    assert_eq!(
        count(
            "codex.startup.phase.duration_ms",
            &[("phase", "startup_prewarm_build_prompt")]
        ),
        3
    );
}
