//! Results pushed to a real metrics backend: Debian's Prometheus Pushgateway and Prometheus
//! (installed by `scripts/test.sh`), started here on loopback ports of their own, the gateway
//! scraped every second, the pushed run queried back through Prometheus's HTTP API.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{debian_tool, phasebench};

/// A loopback port nothing listens on now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server process, killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `GET path` on loopback `port`: (status, body), or None when nothing answers.
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    get_with(port, path, "")
}

/// [`get`] with extra header lines (each ending in CRLF).
fn get_with(port: u16, path: &str, headers: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n{headers}Connection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    let status = text.split(' ').nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n")?.1.to_owned();
    Some((status, body))
}

/// Waits (60 s at most) until `GET path` answers 200 (or, for a gateway behind basic auth
/// or TLS, answers at all).
fn wait_ready(port: u16, path: &str, what: &str) {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        if get(port, path).is_some_and(|(status, _)| what != "Prometheus" || status == 200) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what} did not come up on 127.0.0.1:{port} within 60 s");
}

fn start_pushgateway(dir: &Path) -> (Server, u16) {
    start_pushgateway_with(dir, &[])
}

fn start_pushgateway_with(dir: &Path, args: &[String]) -> (Server, u16) {
    let port = free_port();
    let child = Command::new(debian_tool(
        "PHASEBENCH_PUSHGATEWAY",
        "/usr/bin/prometheus-pushgateway",
        "prometheus-pushgateway",
    ))
    .arg(format!("--web.listen-address=127.0.0.1:{port}"))
    // In memory: Debian's build persists to /var/lib/prometheus by default, which would
    // carry one test run's pushes into the next.
    .arg("--persistence.file=")
    .args(args)
    .stdout(Stdio::null())
    .stderr(std::fs::File::create(dir.join("pushgateway.log")).unwrap())
    .spawn()
    .unwrap();
    let server = Server(child);
    wait_ready(port, "/-/ready", "the Pushgateway");
    (server, port)
}

fn start_prometheus(dir: &Path, gateway: u16) -> (Server, u16) {
    let port = free_port();
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: pushgateway\n    honor_labels: true\n    \
             static_configs:\n      - targets: ['127.0.0.1:{gateway}']\n"
        ),
    )
    .unwrap();
    let child = Command::new(debian_tool(
        "PHASEBENCH_PROMETHEUS",
        "/usr/bin/prometheus",
        "prometheus",
    ))
    .arg(format!("--config.file={}", config.display()))
    .arg(format!(
        "--storage.tsdb.path={}",
        dir.join("data").display()
    ))
    .arg(format!("--web.listen-address=127.0.0.1:{port}"))
    .stdout(Stdio::null())
    .stderr(std::fs::File::create(dir.join("prometheus.log")).unwrap())
    .spawn()
    .unwrap();
    let server = Server(child);
    wait_ready(port, "/-/ready", "Prometheus");
    (server, port)
}

/// A 20-iteration run of the default scenario, its result file in `dir`.
fn small_run(dir: &Path) -> PathBuf {
    let json = dir.join("run.json");
    let out = phasebench()
        .args(["run", "-q", "--iterations", "20", "--json"])
        .arg(&json)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/default.toml"))
        // What is pushed matters, not the budgets' verdict: 20 loaded iterations can leave
        // `thread_start_total.p99 < 50ms` undecided (exit 4).
        .args(["--undecided", "pass"])
        .output()
        .unwrap();
    crate::support::assert_exit(&out, 0);
    json
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The series an instant query returns once it returns any (60 s at most: a scrape a second).
fn query(prometheus: u16, promql: &str) -> Vec<Value> {
    let path = format!("/api/v1/query?query={}", percent_encode(promql));
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        if let Some((200, body)) = get(prometheus, &path) {
            let answer: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(answer["status"], "success", "{body}");
            let result = answer["data"]["result"].as_array().unwrap().clone();
            if !result.is_empty() {
                return result;
            }
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!(
        "Prometheus never returned {promql}; its targets: {:?}",
        get(prometheus, "/api/v1/targets")
    );
}

fn value(series: &Value) -> f64 {
    series["value"][1].as_str().unwrap().parse().unwrap()
}

fn row<'a>(result: &'a Value, metric: &str) -> &'a Value {
    result["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["metric"] == metric && r["status"].is_null())
        .unwrap()
}

/// A run pushed with `--push` (and a result file pushed with `phasebench push`) is in
/// Prometheus with its scenario, target, version and commit labels and the values of its
/// result file; no proxy from the environment is used; a gateway that is down fails the push
/// with exit 3 and a clear error while the result file is still written.
#[test]
fn pushed_runs_are_queryable_in_prometheus() {
    let dir = tempfile::tempdir().unwrap();
    let (gateway, gateway_port) = start_pushgateway(dir.path());
    let (_prometheus, prometheus_port) = start_prometheus(dir.path(), gateway_port);
    // A proxy the environment names: a push must not go through it.
    let proxy = TcpListener::bind("127.0.0.1:0").unwrap();
    proxy.set_nonblocking(true).unwrap();
    let proxy_url = format!("http://{}", proxy.local_addr().unwrap());
    let url = format!("http://127.0.0.1:{gateway_port}");

    let json = dir.path().join("run.json");
    let out = phasebench()
        .args([
            "run",
            "-q",
            "--iterations",
            "60",
            "--undecided",
            "pass",
            "--json",
        ])
        .arg(&json)
        .args(["--push", &url, "--push-label", "runner=flag"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/default.toml"))
        .env("HTTP_PROXY", &proxy_url)
        .env("http_proxy", &proxy_url)
        .env("ALL_PROXY", &proxy_url)
        .output()
        .unwrap();
    crate::support::assert_exit(&out, 0);
    assert!(
        proxy.accept().is_err(),
        "the push went through the environment's proxy"
    );
    let result: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let ttft = row(&result, "turn_ttft");

    let p50 = query(
        prometheus_port,
        r#"phasebench_latency_seconds{job="phasebench",runner="flag",metric="turn_ttft",quantile="0.5"}"#,
    );
    assert_eq!(p50.len(), 1, "{p50:?}");
    let labels = &p50[0]["metric"];
    assert_eq!(labels["scenario"], "default");
    assert_eq!(labels["target"], result["target"]["name"]);
    assert_eq!(labels["version"], result["target"]["version"]);
    if let Some(commit) = result["environment"]["git_commit"].as_str() {
        assert_eq!(labels["commit"], commit);
    }
    let expected = ttft["p50_ms"].as_f64().unwrap() / 1000.0;
    assert!(
        (value(&p50[0]) - expected).abs() < 1e-9,
        "{} vs {expected}",
        value(&p50[0])
    );
    let count = query(
        prometheus_port,
        r#"phasebench_latency_seconds_count{runner="flag",metric="turn_ttft"}"#,
    );
    assert_eq!(value(&count[0]), ttft["count"].as_f64().unwrap());
    let succeeded = query(
        prometheus_port,
        r#"phasebench_run_iterations{runner="flag",outcome="succeeded"}"#,
    );
    assert_eq!(value(&succeeded[0]), 60.0);

    // The same file pushed later, as `phasebench push` re-derives it: the same values. (Not
    // p99: of 60 samples it can be no more than the max, and is left out as in BMF.)
    let out = phasebench()
        .arg("push")
        .arg(&json)
        .arg(&url)
        .args(["--push-label", "runner=file"])
        .output()
        .unwrap();
    crate::support::assert_exit(&out, 0);
    let p99 = query(
        prometheus_port,
        r#"phasebench_latency_seconds{runner="file",metric="turn_ttft",quantile="0.95"}"#,
    );
    let expected = ttft["p95_ms"].as_f64().unwrap() / 1000.0;
    assert!((value(&p99[0]) - expected).abs() < 1e-9);

    // The gateway goes down: the push fails with exit 3, the measurement's file stands.
    drop(gateway);
    let json = dir.path().join("down.json");
    let out = phasebench()
        .args(["run", "-q", "--iterations", "20", "--json"])
        .arg(&json)
        .args(["--push", &url])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/default.toml"))
        .output()
        .unwrap();
    crate::support::assert_exit(&out, 3);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot push to") && stderr.contains("is the Pushgateway up"),
        "{stderr}"
    );
    let written: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(written["run"]["succeeded_iterations"], 20);
    // A URL that is not a Pushgateway's is refused before anything runs.
    let out = phasebench()
        .args(["run", "-q", "--push", "ftp://127.0.0.1:1"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/default.toml"))
        .output()
        .unwrap();
    crate::support::assert_exit(&out, 2);
}

/// A push never follows a redirect (the body would go to an address nobody gave) and never
/// waits without end on a gateway that accepts and does not answer: both fail with exit 3.
#[test]
fn pushes_follow_no_redirect_and_give_up_on_a_silent_gateway() {
    let dir = tempfile::tempdir().unwrap();
    let json = small_run(dir.path());

    // Where a redirect would send the body.
    let elsewhere = TcpListener::bind("127.0.0.1:0").unwrap();
    elsewhere.set_nonblocking(true).unwrap();
    let target = elsewhere.local_addr().unwrap();
    let redirecting = TcpListener::bind("127.0.0.1:0").unwrap();
    let gateway = redirecting.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut stream, _) = redirecting.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut buffer = [0u8; 4096];
        let _ = stream.read(&mut buffer);
        let _ = write!(
            stream,
            "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://{target}/metrics/job/x\r\n\
             Content-Length: 0\r\nConnection: close\r\n\r\n"
        );
    });
    let out = phasebench()
        .arg("push")
        .arg(&json)
        .arg(format!("http://{gateway}"))
        .output()
        .unwrap();
    server.join().unwrap();
    crate::support::assert_exit(&out, 3);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("HTTP 307"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(elsewhere.accept().is_err(), "the redirect was followed");

    // A gateway that accepts the connection and never answers: the push's deadline ends it.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = silent.local_addr().unwrap();
    let started = Instant::now();
    let out = phasebench()
        .arg("push")
        .arg(&json)
        .arg(format!("http://{address}"))
        .output()
        .unwrap();
    let took = started.elapsed();
    drop(silent);
    crate::support::assert_exit(&out, 3);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no answer within 15s"), "{stderr}");
    // The deadline is 15 s; a loaded machine may add a little, never another minute.
    assert!(took < Duration::from_secs(60), "{took:?}");
}

/// A gateway behind basic auth: credentials come from PHASEBENCH_PUSH_BASIC_AUTH (never an
/// argument), a push without them or with a wrong password is refused with exit 3, with them
/// it lands, and the password is not printed.
#[test]
fn basic_auth_credentials_come_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    // The bcrypt hash of "phasebench-test" (cost 4): a test fixture, not a secret.
    let config = dir.path().join("web.yml");
    std::fs::write(
        &config,
        "basic_auth_users:\n  phasebench: $2b$04$.haSGonFzYmWKgVldn9hjufWVzhCgv2Yum9O.q.PkaHb/nTBSuj2O\n",
    )
    .unwrap();
    let (_gateway, port) = start_pushgateway_with(
        dir.path(),
        &[format!("--web.config.file={}", config.display())],
    );
    let json = small_run(dir.path());
    let push = |credentials: Option<&str>| {
        let mut command = phasebench();
        command
            .arg("push")
            .arg(&json)
            .arg(format!("http://127.0.0.1:{port}"))
            .args(["--push-label", "runner=auth"])
            .env_remove("PHASEBENCH_PUSH_BASIC_AUTH");
        if let Some(credentials) = credentials {
            command.env("PHASEBENCH_PUSH_BASIC_AUTH", credentials);
        }
        command.output().unwrap()
    };
    let out = push(None);
    crate::support::assert_exit(&out, 3);
    assert!(String::from_utf8_lossy(&out.stderr).contains("HTTP 401"));
    let out = push(Some("phasebench:wrong"));
    crate::support::assert_exit(&out, 3);
    let out = push(Some("phasebench:phasebench-test"));
    crate::support::assert_exit(&out, 0);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("phasebench-test"));
    // "phasebench:phasebench-test" in base64.
    let (status, body) = get_with(
        port,
        "/metrics",
        "Authorization: Basic cGhhc2ViZW5jaDpwaGFzZWJlbmNoLXRlc3Q=\r\n",
    )
    .unwrap();
    assert_eq!(status, 200);
    assert!(
        body.lines()
            .any(|l| l.starts_with("phasebench_latency_seconds{") && l.contains("runner=\"auth\"")),
        "{body}"
    );
}

/// `openssl` with `args` in `dir`, which must succeed.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl (Debian's package, installed by scripts/test.sh)");
    crate::support::assert_exit(&out, 0);
}

/// An https gateway: refused (exit 3, an unknown issuer) until its CA is given with
/// `--push-ca`, then the run lands, read back over TLS verified by the same CA.
#[test]
fn https_gateways_are_verified_against_the_given_ca() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let ca_args = [
        &["req", "-x509"][..],
        &ec,
        &["-keyout", "ca.key", "-out", "ca.pem", "-days", "2"],
        &["-subj", "/CN=phasebench test CA"],
        &["-addext", "basicConstraints=critical,CA:TRUE"],
        &["-addext", "keyUsage=critical,keyCertSign,cRLSign"],
    ]
    .concat();
    openssl(d, &ca_args);
    let csr_args = [
        &["req"][..],
        &ec,
        &[
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    ]
    .concat();
    openssl(d, &csr_args);
    std::fs::write(
        d.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
         keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        d,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );
    std::fs::write(
        d.join("web.yml"),
        format!(
            "tls_server_config:\n  cert_file: {}\n  key_file: {}\n",
            d.join("server.pem").display(),
            d.join("server.key").display()
        ),
    )
    .unwrap();
    let (_gateway, port) = start_pushgateway_with(
        d,
        &[format!("--web.config.file={}", d.join("web.yml").display())],
    );
    let json = small_run(d);
    let url = format!("https://127.0.0.1:{port}");
    let push = |ca: Option<&Path>| {
        let mut command = phasebench();
        command
            .arg("push")
            .arg(&json)
            .arg(&url)
            .args(["--push-label", "runner=tls"]);
        if let Some(ca) = ca {
            command.arg("--push-ca").arg(ca);
        }
        command.output().unwrap()
    };
    let out = push(None);
    crate::support::assert_exit(&out, 3);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("UnknownIssuer"), "{stderr}");
    let out = push(Some(&d.join("ca.pem")));
    crate::support::assert_exit(&out, 0);
    // Not a certificate: refused before anything is sent.
    let out = push(Some(&d.join("ext.cnf")));
    crate::support::assert_exit(&out, 2);
    // Read back over TLS, verified by the same CA.
    let mut client = Command::new("openssl")
        .args(["s_client", "-quiet", "-verify_return_error", "-CAfile"])
        .arg(d.join("ca.pem"))
        .args(["-connect", &format!("127.0.0.1:{port}")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    write!(
        client.stdin.take().unwrap(),
        "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let out = client.wait_with_output().unwrap();
    let body = String::from_utf8_lossy(&out.stdout);
    assert!(
        body.lines()
            .any(|l| l.starts_with("phasebench_latency_seconds{") && l.contains("runner=\"tls\"")),
        "{body}"
    );
}
