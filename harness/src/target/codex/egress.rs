//! An egress trap: a loopback "proxy" that refuses every request and remembers where it was
//! going. The codex targets point `HTTP_PROXY`, `HTTPS_PROXY` and `ALL_PROXY` at it (with
//! `NO_PROXY` for loopback), so anything codex tries to reach beyond 127.0.0.1 through a
//! proxy-honouring client lands here instead of on the network, and every run can say that
//! nothing left loopback, or what tried to.

use std::io::{BufRead, BufReader, Read, Write};
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

/// Reads the request line, answers 403 and closes; counts and remembers it when it was
/// going beyond loopback (a request for 127.0.0.1 through the proxy, or a connection that
/// says nothing, did not try to leave the machine).
fn refuse(stream: TcpStream, seen: &Seen) {
    if seen.stop.load(Ordering::SeqCst) {
        return;
    }
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let mut line = String::new();
    let mut reader = BufReader::new((&stream).take(8 << 10));
    let _ = reader.read_line(&mut line);
    let line = line.trim().chars().take(200).collect::<String>();
    if destination(&line).is_some_and(|host| !is_loopback(host)) {
        seen.attempts.fetch_add(1, Ordering::SeqCst);
        let mut examples = seen.examples.lock().unwrap_or_else(PoisonError::into_inner);
        if examples.len() < EXAMPLES {
            examples.push(line);
        }
    }
    let mut stream = stream;
    let _ = stream
        .write_all(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
}

/// The host a proxy request line is for: `CONNECT host:443 HTTP/1.1` or
/// `GET http://host:port/path HTTP/1.1`.
fn destination(line: &str) -> Option<&str> {
    let target = line.split_whitespace().nth(1)?;
    let authority = match target.split_once("://") {
        Some((_, rest)) => rest.split(['/', '?', '#']).next()?,
        None => target,
    };
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    Some(match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => host_port.rsplit_once(':').map_or(host_port, |(h, _)| h),
    })
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_requests_beyond_loopback_count_as_egress() {
        for (line, host) in [
            (
                "CONNECT api.example.com:443 HTTP/1.1",
                Some("api.example.com"),
            ),
            ("GET http://10.0.0.1:8080/x HTTP/1.1", Some("10.0.0.1")),
            ("GET http://u:p@[::1]:9/ HTTP/1.1", Some("::1")),
            ("CONNECT localhost:443 HTTP/1.1", Some("localhost")),
            ("", None),
        ] {
            assert_eq!(destination(line), host, "{line}");
        }
        assert!(is_loopback("127.0.0.2") && is_loopback("::1") && is_loopback("LOCALHOST"));
        assert!(!is_loopback("api.example.com") && !is_loopback("10.0.0.1"));
        let trap = EgressTrap::start().unwrap();
        for request in [&b"CONNECT 127.0.0.1:443 HTTP/1.1\r\n\r\n"[..], b"\r\n"] {
            let mut stream = TcpStream::connect(trap.addr).unwrap();
            stream.write_all(request).unwrap();
            let mut answer = String::new();
            stream.read_to_string(&mut answer).unwrap();
            assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
        }
        assert_eq!(trap.attempts(), 0, "{:?}", trap.examples());
    }

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
