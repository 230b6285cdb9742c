//! The wire's own cost: a bare websocket client and server on loopback doing a startup's
//! model exchange and nothing else. No runtime, no telemetry, no recorder, no injected delay,
//! no request records: connect and upgrade, a warmup `response.create` answered by
//! `response.created` + `response.completed`, a turn answered by the five events of one
//! answer, then close. Both ends use tokio-tungstenite with `TCP_NODELAY`, the server on a
//! thread and runtime of its own as the mock's is.
//!
//! The server can also wait before answering, as the mock does ([`WireDelays`]): before the
//! upgrade, the warmup's completion and the first delta. It waits on its own thread (a coarse
//! sleep, then a spin for the last [`SPIN_WINDOW`]), so its answer leaves on time from a
//! thread that is awake; what the client pays beyond the wait is then the wire plus waking
//! up after an idle wait, the least any mock could add.
//!
//! Why it exists: it is the floor. `phasebench calibrate` runs it beside the harness's own
//! path, in one process, so the harness's overhead is read against what this machine's
//! loopback and scheduler allow, not against zero.

use std::net::SocketAddr;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use mock_backend::protocol;
use serde::Deserialize;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

/// Every exchange ends within this, or fails.
pub(crate) const EXCHANGE_DEADLINE: Duration = Duration::from_secs(10);

/// Per-socket read buffer, the runtime's (the mock uses the same).
const READ_BUFFER: usize = thread_runtime::transport::WEBSOCKET_READ_BUFFER;

/// How long before a deadline the server stops sleeping and spins (tokio's timer is only
/// good to a millisecond).
pub(crate) const SPIN_WINDOW: Duration = Duration::from_millis(2);

/// What the server waits before it answers, each from when the request arrived.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct WireDelays {
    /// Before the upgrade's answer.
    pub(crate) handshake: Duration,
    /// Before the warmup's `response.completed`.
    pub(crate) warmup: Duration,
    /// Before the turn's first delta (`response.created` and the item go at once).
    pub(crate) first_token: Duration,
}

/// Waits until `deadline`: a coarse sleep, then a spin, so the task resumes on time.
async fn wait_until(deadline: Instant) {
    if let Some(coarse) = deadline.checked_sub(SPIN_WINDOW)
        && Instant::now() < coarse
    {
        tokio::time::sleep_until(coarse.into()).await;
    }
    while Instant::now() < deadline {
        std::hint::spin_loop();
    }
}

/// Why the bare pair could not start or finish an exchange.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("cannot start the bare websocket server: {0}")]
    Start(std::io::Error),
    #[error("bare websocket exchange: {0}")]
    Io(#[from] std::io::Error),
    #[error("bare websocket exchange: {0}")]
    Websocket(#[from] tokio_tungstenite::tungstenite::Error),
    #[error("bare websocket exchange: the server closed before {0}")]
    Closed(&'static str),
    #[error("bare websocket exchange did not finish within {0:?}")]
    Deadline(Duration),
}

/// The bare server: one loopback port, its own thread and current-thread runtime; dropping it
/// stops the server and joins the thread.
pub(crate) struct WireServer {
    addr: SocketAddr,
    delays: WireDelays,
    stop: Option<watch::Sender<bool>>,
    thread: Option<JoinHandle<()>>,
}

/// The answers the server sends, serialized once.
struct Answers {
    warmup: [Utf8Bytes; 2],
    turn: [Utf8Bytes; 5],
}

impl Answers {
    fn new() -> Self {
        let text = |v: serde_json::Value| Utf8Bytes::from(v.to_string());
        Self {
            warmup: [
                text(protocol::created("resp_warm")),
                text(protocol::completed("resp_warm")),
            ],
            turn: [
                text(protocol::created("resp_turn")),
                text(protocol::item_added("msg_1")),
                text(protocol::text_delta("msg_1", "Hello.")),
                text(protocol::item_done("msg_1", "Hello.")),
                text(protocol::completed("resp_turn")),
            ],
        }
    }
}

/// The one field of an event the client looks at.
#[derive(Deserialize)]
struct Event<'a> {
    #[serde(rename = "type", borrow)]
    kind: &'a str,
}

impl WireServer {
    pub(crate) fn start(delays: WireDelays) -> Result<Self, WireError> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).map_err(WireError::Start)?;
        listener.set_nonblocking(true).map_err(WireError::Start)?;
        let addr = listener.local_addr().map_err(WireError::Start)?;
        let (stop, stopped) = watch::channel(false);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(WireError::Start)?;
        let thread = std::thread::Builder::new()
            .name(format!("wire-{}", addr.port()))
            .spawn(move || {
                runtime.block_on(serve(listener, stopped, delays));
                runtime.shutdown_timeout(Duration::from_millis(100));
            })
            .map_err(WireError::Start)?;
        Ok(Self {
            addr,
            delays,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub(crate) fn delays(&self) -> WireDelays {
        self.delays
    }
}

impl Drop for WireServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve(
    listener: std::net::TcpListener,
    mut stopped: watch::Receiver<bool>,
    delays: WireDelays,
) {
    let Ok(listener) = TcpListener::from_std(listener) else {
        return;
    };
    let answers = std::sync::Arc::new(Answers::new());
    loop {
        tokio::select! {
            _ = stopped.wait_for(|stop| *stop) => return,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                tokio::spawn(serve_socket(stream, std::sync::Arc::clone(&answers), delays));
            }
        }
    }
}

async fn serve_socket(stream: TcpStream, answers: std::sync::Arc<Answers>, delays: WireDelays) {
    if !delays.handshake.is_zero() {
        // From when the upgrade request arrived, as the mock counts it.
        if stream.readable().await.is_err() {
            return;
        }
        wait_until(Instant::now() + delays.handshake).await;
    }
    let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER);
    let Ok(mut socket) = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await
    else {
        return;
    };
    while let Some(Ok(message)) = socket.next().await {
        let received = Instant::now();
        let text = match message {
            Message::Text(text) => text,
            Message::Close(_) => return,
            _ => continue,
        };
        let warmup = serde_json::from_str::<protocol::CreateRequest<'_>>(text.as_str())
            .is_ok_and(|r| r.is_warmup());
        // The events sent at once, and those sent after the wait.
        let (now, later, wait): (&[Utf8Bytes], &[Utf8Bytes], Duration) = if warmup {
            (&[], &answers.warmup, delays.warmup)
        } else {
            let (now, later) = answers.turn.split_at(2);
            (now, later, delays.first_token)
        };
        if !wait.is_zero() {
            if send_all(&mut socket, now).await.is_err() {
                return;
            }
            wait_until(received + wait).await;
            if send_all(&mut socket, later).await.is_err() {
                return;
            }
        } else if send_all(&mut socket, now).await.is_err()
            || send_all(&mut socket, later).await.is_err()
        {
            return;
        }
    }
}

/// Sends `events`, one frame each, as a streaming server sends them.
async fn send_all(
    socket: &mut tokio_tungstenite::WebSocketStream<TcpStream>,
    events: &[Utf8Bytes],
) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    for event in events {
        socket.feed(Message::Text(event.clone())).await?;
        socket.flush().await?;
    }
    Ok(())
}

/// The requests the client sends: a warmup and a turn of the runtime's request size.
#[derive(Debug, Clone)]
pub(crate) struct WireRequests {
    warmup: Utf8Bytes,
    turn: Utf8Bytes,
}

impl WireRequests {
    /// Requests carrying `instructions_bytes` of instructions, as the runtime's do.
    pub(crate) fn new(instructions_bytes: usize) -> Self {
        let instructions = "x".repeat(instructions_bytes);
        let body = |generate: bool| {
            let mut request = serde_json::json!({
                "type": "response.create",
                "model": "phasebench-mock",
                "instructions": instructions,
                "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}],
                "stream": true,
            });
            if !generate {
                request["generate"] = false.into();
            }
            Utf8Bytes::from(request.to_string())
        };
        Self {
            warmup: body(false),
            turn: body(true),
        }
    }
}

/// How long each step of one bare exchange took, on the client's clock.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WireTimings {
    /// TCP connect and websocket upgrade.
    pub(crate) connect: Duration,
    /// Warmup sent → `response.completed` received.
    pub(crate) warmup: Duration,
    /// Turn sent → first `response.output_text.delta` received.
    pub(crate) first_delta: Duration,
}

/// One bare exchange against `addr`, within [`EXCHANGE_DEADLINE`].
pub(crate) async fn exchange(
    addr: SocketAddr,
    requests: &WireRequests,
) -> Result<WireTimings, WireError> {
    tokio::time::timeout(EXCHANGE_DEADLINE, exchange_unbounded(addr, requests))
        .await
        .map_err(|_| WireError::Deadline(EXCHANGE_DEADLINE))?
}

async fn exchange_unbounded(
    addr: SocketAddr,
    requests: &WireRequests,
) -> Result<WireTimings, WireError> {
    let started = Instant::now();
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER);
    let (mut socket, _) = tokio_tungstenite::client_async_with_config(
        format!("ws://{addr}/v1/responses"),
        stream,
        Some(config),
    )
    .await?;
    let connected = Instant::now();

    socket.send(Message::Text(requests.warmup.clone())).await?;
    wait_for(&mut socket, protocol::COMPLETED, "the warmup completed").await?;
    let warmed = Instant::now();

    let sent = Instant::now();
    socket.send(Message::Text(requests.turn.clone())).await?;
    wait_for(&mut socket, protocol::TEXT_DELTA, "the first delta").await?;
    let first_delta = sent.elapsed();
    wait_for(&mut socket, protocol::COMPLETED, "the turn completed").await?;
    let _ = socket.close(None).await;
    Ok(WireTimings {
        connect: connected - started,
        warmup: warmed - connected,
        first_delta,
    })
}

/// Reads events until one of type `kind`.
async fn wait_for<S>(
    socket: &mut tokio_tungstenite::WebSocketStream<S>,
    kind: &str,
    what: &'static str,
) -> Result<(), WireError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    while let Some(message) = socket.next().await {
        if let Message::Text(text) = message?
            && serde_json::from_str::<Event<'_>>(text.as_str()).is_ok_and(|e| e.kind == kind)
        {
            return Ok(());
        }
    }
    Err(WireError::Closed(what))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_bare_exchange_goes_through_every_step_and_the_server_stops_when_dropped() {
        let server = WireServer::start(WireDelays::default()).unwrap();
        let requests = WireRequests::new(4096);
        for _ in 0..3 {
            let t = exchange(server.addr(), &requests).await.unwrap();
            // Loopback without injected delays: well under a second each, with a wide margin.
            assert!(t.connect < Duration::from_secs(1), "{t:?}");
            assert!(t.warmup < Duration::from_secs(1), "{t:?}");
            assert!(t.first_delta < Duration::from_secs(1), "{t:?}");
        }
        let addr = server.addr();
        drop(server);
        assert!(
            exchange(addr, &requests).await.is_err(),
            "nothing listens once the server is dropped"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_waiting_server_answers_no_earlier_than_its_delays() {
        let delays = WireDelays {
            handshake: Duration::from_millis(5),
            warmup: Duration::from_millis(7),
            first_token: Duration::from_millis(9),
        };
        let server = WireServer::start(delays).unwrap();
        let t = exchange(server.addr(), &WireRequests::new(256))
            .await
            .unwrap();
        assert!(t.connect >= delays.handshake, "{t:?}");
        assert!(t.warmup >= delays.warmup, "{t:?}");
        assert!(t.first_delta >= delays.first_token, "{t:?}");
        // Far below the next second even on a loaded machine.
        assert!(t.first_delta < Duration::from_secs(1), "{t:?}");
    }

    #[test]
    fn the_requests_carry_the_instructions_and_only_the_warmup_says_generate_false() {
        let requests = WireRequests::new(1000);
        assert!(requests.warmup.len() > 1000 && requests.turn.len() > 1000);
        let warmup: protocol::CreateRequest<'_> =
            serde_json::from_str(requests.warmup.as_str()).unwrap();
        let turn: protocol::CreateRequest<'_> =
            serde_json::from_str(requests.turn.as_str()).unwrap();
        assert_eq!(warmup.generate, Some(false));
        assert_eq!(turn.generate, None);
    }
}
