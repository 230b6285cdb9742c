//! The mock speaks the protocol codex 0.169.0 expects, injects what it is told, and records it.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use mock_backend::{DelayDist, Exchange, InjectedFault, MockBackend, MockConfig, Probability};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

fn sse_events(body: &str) -> Vec<(String, Value)> {
    body.split("\n\n")
        .filter(|f| !f.trim().is_empty())
        .map(|frame| {
            let mut lines = frame.lines();
            let event = lines
                .next()
                .unwrap()
                .strip_prefix("event: ")
                .unwrap()
                .to_owned();
            let data: Value =
                serde_json::from_str(lines.next().unwrap().strip_prefix("data: ").unwrap())
                    .unwrap();
            (event, data)
        })
        .collect()
}

async fn post(mock: &MockBackend, body: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/responses", mock.uri()))
        .header("thread-id", "t-http")
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn sse_answer_has_codex_event_order() {
    let mock = MockBackend::start(MockConfig::default()).unwrap();
    let response = post(&mock, r#"{"model":"m","input":[]}"#).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let events = sse_events(&response.text().await.unwrap());
    let kinds: Vec<&str> = events.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        kinds[..2],
        ["response.created", "response.output_item.added"]
    );
    assert_eq!(
        kinds[kinds.len() - 2..],
        ["response.output_item.done", "response.completed"]
    );
    let text: String = events
        .iter()
        .filter(|(k, _)| k == "response.output_text.delta")
        .map(|(_, d)| d["delta"].as_str().unwrap())
        .collect();
    assert_eq!(text, "Hello from the mock model.");
    for (kind, data) in &events {
        assert_eq!(data["type"], kind.as_str());
    }
    let records = mock.requests().take_thread("t-http");
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].exchange, Exchange::HttpResponse);
    assert!(records[0].first_delta_sent.is_some() && records[0].completed_sent.is_some());
}

#[tokio::test]
async fn http_faults_and_bad_bodies_get_error_statuses() {
    let mut cfg = MockConfig::default();
    cfg.faults.http_429 = Probability::ALWAYS;
    let mock = MockBackend::start(cfg).unwrap();
    let response = post(&mock, "{}").await;
    assert_eq!(response.status(), 429);
    let body: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(body["error"]["code"], 429);
    assert_eq!(post(&mock, "not json").await.status(), 400);
    let costs = reqwest::Client::new()
        .post(format!("{}/analytics/codex/turn-costs", mock.uri()))
        .body(r#"{"turn_ids":["x"]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(costs.status(), 200);
    let costs: Value = serde_json::from_str(&costs.text().await.unwrap()).unwrap();
    assert_eq!(costs, json!({"turns": []}));
}

#[tokio::test]
async fn injected_first_token_delay_is_honoured_precisely() {
    let mut cfg = MockConfig::default();
    cfg.delays.first_token = DelayDist::Constant(Duration::from_millis(30));
    let mock = MockBackend::start(cfg).unwrap();
    post(&mock, "{}").await.text().await.unwrap();
    let record = &mock.requests().take_thread("t-http")[0];
    let server_side = record.first_delta_sent.unwrap() - record.received;
    assert_eq!(record.injected_first_token, Duration::from_millis(30));
    assert!(server_side >= Duration::from_millis(30), "{server_side:?}");
    assert!(server_side < Duration::from_millis(40), "{server_side:?}");
}

async fn connect(
    mock: &MockBackend,
) -> Result<mock_socket::Socket, tokio_tungstenite::tungstenite::Error> {
    let mut request = mock.ws_uri().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("thread-id", "t-ws".parse().unwrap());
    tokio_tungstenite::connect_async(request)
        .await
        .map(|(s, _)| s)
}

mod mock_socket {
    pub type Socket = tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >;
}

async fn next_json(socket: &mut mock_socket::Socket) -> Value {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap()
        {
            Message::Text(t) => return serde_json::from_str(t.as_str()).unwrap(),
            _ => continue,
        }
    }
}

/// Reads one answer: the event types up to `response.completed`, and that event.
async fn answer(socket: &mut mock_socket::Socket) -> (Vec<String>, Value) {
    let mut kinds = Vec::new();
    loop {
        let event = next_json(socket).await;
        kinds.push(event["type"].as_str().unwrap().to_owned());
        if event["type"] == "response.completed" {
            return (kinds, event);
        }
    }
}

#[tokio::test]
async fn websocket_warmup_then_chained_turn() {
    let mock = MockBackend::start(MockConfig::default()).unwrap();
    let mut socket = connect(&mock).await.unwrap();
    socket
        .send(Message::text(
            json!({"type": "response.create", "generate": false, "input": []}).to_string(),
        ))
        .await
        .unwrap();
    assert_eq!(next_json(&mut socket).await["type"], "response.created");
    let completed = next_json(&mut socket).await;
    assert_eq!(completed["type"], "response.completed");
    let warm_id = completed["response"]["id"].as_str().unwrap().to_owned();
    socket
        .send(Message::text(
            json!({"type": "response.create", "previous_response_id": warm_id, "input": [{"type": "message"}]}).to_string(),
        ))
        .await
        .unwrap();
    let (kinds, _) = answer(&mut socket).await;
    assert_eq!(kinds.len(), 2 + 5 + 2);
    let records = mock.requests().take_thread("t-ws");
    let exchanges: Vec<Exchange> = records.iter().map(|r| r.exchange).collect();
    assert_eq!(
        exchanges,
        [
            Exchange::WebsocketUpgrade,
            Exchange::WebsocketWarmup,
            Exchange::WebsocketTurn
        ]
    );
    assert_eq!(
        records[2].previous_response_id.as_deref(),
        Some(warm_id.as_str())
    );
}

#[tokio::test]
async fn refused_upgrade_answers_the_configured_status_after_the_handshake_delay() {
    let mut cfg = MockConfig::default();
    cfg.faults.ws_upgrade_reject = Probability::ALWAYS;
    cfg.faults.ws_upgrade_status = 403;
    cfg.delays.ws_handshake = DelayDist::Constant(Duration::from_millis(20));
    let mock = MockBackend::start(cfg).unwrap();
    let started = Instant::now();
    match connect(&mock).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403)
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(started.elapsed() >= Duration::from_millis(20));
    let records = mock.requests().take_thread("t-ws");
    assert_eq!(
        records[0].fault,
        Some(InjectedFault::UpgradeRejected { status: 403 })
    );
}

#[tokio::test]
async fn garbage_on_the_websocket_gets_an_error_event_not_silence() {
    let mock = MockBackend::start(MockConfig::default()).unwrap();
    let mut socket = connect(&mock).await.unwrap();
    socket.send(Message::text("{not json")).await.unwrap();
    let event = next_json(&mut socket).await;
    assert_eq!(event["type"], "error");
    socket
        .send(Message::text(r#"{"type":"session.update"}"#))
        .await
        .unwrap();
    assert_eq!(next_json(&mut socket).await["type"], "error");
}

#[tokio::test]
async fn same_seed_draws_the_same_delays() {
    let mut cfg = MockConfig {
        seed: 42,
        ..MockConfig::default()
    };
    cfg.delays.first_token = DelayDist::Uniform {
        low: Duration::ZERO,
        high: Duration::from_millis(3),
    };
    let mut runs = Vec::new();
    for _ in 0..2 {
        let mock = MockBackend::start(cfg.clone()).unwrap();
        for _ in 0..5 {
            post(&mock, "{}").await.text().await.unwrap();
        }
        let draws: Vec<Duration> = mock
            .requests()
            .take_thread("t-http")
            .iter()
            .map(|r| r.injected_first_token)
            .collect();
        runs.push(draws);
    }
    assert_eq!(runs[0], runs[1]);
    assert!(runs[0].iter().any(|d| !d.is_zero()));
}

const CAPTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/codex-0.169.0");

/// Collapses runs of the same event type (the capture's answer had one delta, the mock's five).
fn collapsed(kinds: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for kind in kinds {
        if out.last() != Some(&kind) {
            out.push(kind);
        }
    }
    out
}

/// What codex 0.169.0 really sent on its websocket, replayed: the mock answers each message
/// with the event types the captured session shows.
#[tokio::test]
async fn captured_websocket_session_replays_with_the_same_answers() {
    let text = std::fs::read_to_string(format!("{CAPTURES}/websocket_session.json")).unwrap();
    let session: Vec<Value> = serde_json::from_str(&text).unwrap();
    // Each client message, and the event types that followed it in the capture.
    let mut exchanges: Vec<(Value, Vec<String>)> = Vec::new();
    for entry in &session {
        match entry["kind"].as_str().unwrap() {
            "ws_in" => exchanges.push((entry["body"].clone(), Vec::new())),
            "ws_out" => exchanges
                .last_mut()
                .expect("answers follow a request")
                .1
                .push(entry["body"]["type"].as_str().unwrap().to_owned()),
            _ => {}
        }
    }
    assert_eq!(exchanges.len(), 2, "a warmup and a turn");
    let mock = MockBackend::start(MockConfig::default()).unwrap();
    let mut socket = connect(&mock).await.unwrap();
    let mut previous: Option<String> = None;
    for (mut request, captured) in exchanges {
        // The turn chains on whatever id this mock gave the warmup.
        if let (Some(id), Some(field)) = (&previous, request.get_mut("previous_response_id")) {
            *field = Value::String(id.clone());
        }
        socket
            .send(Message::text(request.to_string()))
            .await
            .unwrap();
        let (kinds, completed) = answer(&mut socket).await;
        previous = completed["response"]["id"].as_str().map(str::to_owned);
        assert_eq!(
            collapsed(kinds),
            collapsed(captured),
            "answer to {}",
            request["type"]
        );
    }
    let exchanges: Vec<Exchange> = mock
        .requests()
        .take_thread("t-ws")
        .iter()
        .map(|r| r.exchange)
        .collect();
    assert_eq!(
        exchanges,
        [
            Exchange::WebsocketUpgrade,
            Exchange::WebsocketWarmup,
            Exchange::WebsocketTurn
        ]
    );
}

/// The body codex 0.169.0 really POSTed in HTTP mode is accepted and answered as a turn.
#[tokio::test]
async fn captured_http_request_body_is_answered_as_a_turn() {
    let text = std::fs::read_to_string(format!("{CAPTURES}/http_post_v1_responses.json")).unwrap();
    let captured: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(captured["path"], "/v1/responses");
    let mock = MockBackend::start(MockConfig::default()).unwrap();
    let response = post(&mock, &captured["body"].to_string()).await;
    assert_eq!(response.status(), 200);
    let events = sse_events(&response.text().await.unwrap());
    let kinds = collapsed(events.iter().map(|(k, _)| k.clone()));
    assert_eq!(
        kinds,
        [
            "response.created",
            "response.output_item.added",
            "response.output_text.delta",
            "response.output_item.done",
            "response.completed"
        ]
    );
    let records = mock.requests().take_thread("t-http");
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].exchange, Exchange::HttpResponse);
}

#[test]
fn a_half_open_client_cannot_hold_the_server_open() {
    use std::io::Write;
    let mock = MockBackend::start(MockConfig::default()).unwrap();
    // A client that sent part of its headers and then went quiet (slowloris).
    let mut client = std::net::TcpStream::connect(mock.addr()).unwrap();
    client
        .write_all(b"POST /v1/responses HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le")
        .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let started = Instant::now();
    drop(mock);
    let took = started.elapsed();
    assert!(
        took < loopback::SHUTDOWN_GRACE + Duration::from_secs(2),
        "shutdown took {took:?}"
    );
    drop(client);
}

#[tokio::test]
async fn the_binary_serves_in_the_background_until_signalled() {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mock-backend"))
        .args(["--first-token", "uniform:5ms,10ms", "--inter-token", "1ms"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut url = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut url)
        .unwrap();
    let url = url.trim().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    // Still up with stdin closed (it was never open).
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(child.try_wait().unwrap().is_none());
    let started = Instant::now();
    let answer = reqwest::Client::new()
        .post(format!("{url}/responses"))
        .header("thread-id", "t-bin")
        .body(r#"{"model":"m","input":[],"stream":true}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    let body = answer.text().await.unwrap();
    assert!(body.contains("response.output_text.delta"), "{body}");
    assert!(started.elapsed() >= Duration::from_millis(5));
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let stopping = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(stopping.elapsed() < Duration::from_secs(5), "did not stop");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success());
}
