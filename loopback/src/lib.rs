//! An axum app served on 127.0.0.1 from a thread and tokio runtime of its own, so the code under
//! test can never starve it, with `TCP_NODELAY` on every accepted socket (Nagle's algorithm
//! meeting delayed ACKs would add ~40 ms to small frames). Dropping the handle shuts the
//! server down and joins its thread: connections get [`SHUTDOWN_GRACE`] to finish, then are
//! dropped (a client sending its headers a byte at a time once held the process open for a
//! minute). The mock backend (its model API and MCP servers) and phasebench's OTLP receiver
//! use it: a crate of its own, so the harness's receiver does not borrow from the mock.
#![warn(unreachable_pub)]

use std::net::SocketAddr;
use std::thread::JoinHandle;
use std::time::Duration;

use axum::Router;
use axum::serve::ListenerExt;
use tokio::sync::watch;

/// How long open connections may take to finish once the server is asked to stop.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// Binding or starting failed.
#[derive(Debug, thiserror::Error)]
pub enum LoopbackError {
    #[error("cannot bind 127.0.0.1:{port}: {source}")]
    Bind { port: u16, source: std::io::Error },
    #[error("cannot start the server thread: {0}")]
    Thread(std::io::Error),
}

/// A running server.
pub struct LoopbackServer {
    addr: SocketAddr,
    shutdown: Option<watch::Sender<bool>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for LoopbackServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoopbackServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl LoopbackServer {
    /// Binds 127.0.0.1:`port` (0 picks a free port) and serves `app` on a thread named `name`.
    pub fn start(app: Router, port: u16, name: &str) -> Result<Self, LoopbackError> {
        let bind_error = |source| LoopbackError::Bind { port, source };
        let listener = std::net::TcpListener::bind(("127.0.0.1", port)).map_err(bind_error)?;
        listener.set_nonblocking(true).map_err(bind_error)?;
        let addr = listener.local_addr().map_err(bind_error)?;
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let thread = std::thread::Builder::new()
            .name(format!("{name}-{}", addr.port()))
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(err) => {
                        eprintln!("loopback server {addr}: cannot build its runtime: {err}");
                        return;
                    }
                };
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(listener) => listener.tap_io(|tcp| {
                            let _ = tcp.set_nodelay(true);
                        }),
                        Err(err) => {
                            eprintln!(
                                "loopback server {addr}: cannot register its listener: {err}"
                            );
                            return;
                        }
                    };
                    let stopped = |mut rx: watch::Receiver<bool>| async move {
                        // A dropped sender stops the server too.
                        let _ = rx.wait_for(|stop| *stop).await;
                    };
                    let serve = axum::serve(listener, app)
                        .with_graceful_shutdown(stopped(shutdown_rx.clone()));
                    let grace = async {
                        stopped(shutdown_rx).await;
                        tokio::time::sleep(SHUTDOWN_GRACE).await;
                    };
                    tokio::select! {
                        _ = serve => {}
                        () = grace => {}
                    }
                });
                // Open websockets and streams are dropped with the runtime.
                runtime.shutdown_timeout(Duration::from_millis(100));
            })
            .map_err(LoopbackError::Thread)?;
        Ok(Self {
            addr,
            shutdown: Some(shutdown_tx),
            thread: Some(thread),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for LoopbackServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(true);
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
