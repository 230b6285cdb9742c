//! An egress trap: a loopback "proxy" that refuses every request and remembers where it was
//! going. The codex targets point `HTTP_PROXY`, `HTTPS_PROXY` and `ALL_PROXY` at it (with
//! `NO_PROXY` for loopback), so anything codex tries to reach beyond 127.0.0.1 through a
//! proxy-honouring client lands here instead of on the network, and every run can say that
//! nothing left loopback, or what tried to.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// Destinations quoted at most.
const EXAMPLES: usize = 5;

#[derive(Default)]
struct Seen {
    attempts: AtomicU64,
    examples: Mutex<Vec<String>>,
    stop: AtomicBool,
}

/// The running trap; stops when dropped.
pub struct EgressTrap {
    addr: SocketAddr,
    seen: Arc<Seen>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl EgressTrap {
    pub fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        let addr = listener.local_addr()?;
        let seen = Arc::new(Seen::default());
        let thread_seen = Arc::clone(&seen);
        let thread = std::thread::Builder::new()
            .name("egress-trap".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    if thread_seen.stop.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(stream) = stream {
                        refuse(stream, &thread_seen);
                    }
                }
            })?;
        Ok(Self {
            addr,
            seen,
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`, for the proxy variables.
    pub fn proxy_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The environment that routes a proxy-honouring client's non-loopback traffic here.
    pub fn env(&self) -> [(&'static str, String); 7] {
        let url = self.proxy_url();
        let local = "127.0.0.1,localhost,::1".to_owned();
        [
            ("HTTP_PROXY", url.clone()),
            ("HTTPS_PROXY", url.clone()),
            ("ALL_PROXY", url.clone()),
            ("http_proxy", url.clone()),
            ("https_proxy", url),
            ("NO_PROXY", local.clone()),
            ("no_proxy", local),
        ]
    }

    /// Connections that tried to leave loopback so far.
    pub fn attempts(&self) -> u64 {
        self.seen.attempts.load(Ordering::SeqCst)
    }

    /// The first few request lines ("CONNECT api.example.com:443 HTTP/1.1").
    pub fn examples(&self) -> Vec<String> {
        self.seen
            .examples
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for EgressTrap {
    fn drop(&mut self) {
        self.seen.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads the request line, remembers it, answers 403 and closes.
fn refuse(stream: TcpStream, seen: &Seen) {
    if seen.stop.load(Ordering::SeqCst) {
        return;
    }
    seen.attempts.fetch_add(1, Ordering::SeqCst);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let mut line = String::new();
    let mut reader = BufReader::new(&stream);
    let _ = reader.read_line(&mut line);
    let line = line.trim().chars().take(200).collect::<String>();
    let mut examples = seen.examples.lock().unwrap_or_else(PoisonError::into_inner);
    if examples.len() < EXAMPLES {
        examples.push(if line.is_empty() {
            "(no request line)".into()
        } else {
            line
        });
    }
    drop(examples);
    let mut stream = stream;
    let _ = stream
        .write_all(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn requests_through_the_trap_are_refused_and_recorded() {
        let trap = EgressTrap::start().unwrap();
        assert_eq!(trap.attempts(), 0);
        let mut stream = TcpStream::connect(trap.addr).unwrap();
        stream
            .write_all(b"CONNECT api.example.com:443 HTTP/1.1\r\nhost: api.example.com\r\n\r\n")
            .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
        assert_eq!(trap.attempts(), 1);
        assert_eq!(trap.examples(), ["CONNECT api.example.com:443 HTTP/1.1"]);
        let env = trap.env();
        assert!(
            env.iter()
                .any(|(k, v)| *k == "HTTPS_PROXY" && *v == trap.proxy_url())
        );
        assert!(
            env.iter()
                .any(|(k, v)| *k == "NO_PROXY" && v.contains("127.0.0.1"))
        );
    }
}
