//! `mock-backend`: run the Responses-API mock by hand, e.g. to point a codex build at it.
//!
//! ```text
//! mock-backend [--port N] [--seed N] [--tokens N]
//!              [--ws-handshake D] [--warmup-response D] [--response-headers D]
//!              [--first-token D] [--inter-token D]
//!              [--ws-upgrade-reject P] [--warmup-stall P] [--reset-mid-stream P]
//!              [--http-429 P] [--http-500 P]
//! ```
//! D is a duration ("20ms") or a distribution ("uniform:5ms,15ms", "normal:20ms,5ms",
//! "lognormal:30ms,90ms", "empirical:1ms,3ms"); P a probability in [0, 1]. Prints the base
//! URL on stdout and serves until SIGINT or SIGTERM, so it can run in the background
//! (`mock-backend --first-token 30ms > url.txt &`, then `kill %1`).

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use mock_backend::{MockBackend, MockConfig, Probability, parse_delay};

fn parse_args(args: &[String]) -> Result<(MockConfig, u16), String> {
    let mut config = MockConfig::default();
    let mut port = 0u16;
    let mut iter = args.iter();
    while let Some(flag) = iter.next() {
        if flag == "--help" || flag == "-h" {
            return Err(String::new());
        }
        let value = iter.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let duration = || parse_delay(value).map_err(|e| format!("{flag}: {e}"));
        let probability = || {
            value
                .parse::<f64>()
                .map_err(|e| format!("{flag}: {e}"))
                .and_then(|p| Probability::new(p).map_err(|e| format!("{flag}: {e}")))
        };
        let number = || value.parse::<u64>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--port" => port = u16::try_from(number()?).map_err(|e| format!("--port: {e}"))?,
            "--seed" => config.seed = number()?,
            "--tokens" => {
                config.tokens = u32::try_from(number()?)
                    .map_err(|e| format!("--tokens: {e}"))?
                    .max(1)
            }
            "--ws-handshake" => config.delays.ws_handshake = duration()?,
            "--warmup-response" => config.delays.warmup_response = duration()?,
            "--response-headers" => config.delays.response_headers = duration()?,
            "--first-token" => config.delays.first_token = duration()?,
            "--inter-token" => config.delays.inter_token = duration()?,
            "--ws-upgrade-reject" => config.faults.ws_upgrade_reject = probability()?,
            "--warmup-stall" => config.faults.warmup_stall = probability()?,
            "--reset-mid-stream" => config.faults.reset_mid_stream = probability()?,
            "--http-429" => config.faults.http_429 = probability()?,
            "--http-500" => config.faults.http_500 = probability()?,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    // A manual run keeps no per-request records: memory stays flat however long it serves.
    config.record_requests = false;
    Ok((config, port))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (config, port) = match parse_args(&args) {
        Ok(parsed) => parsed,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("error: {message}");
            }
            eprintln!("{}", include_str!("usage.txt"));
            return ExitCode::from(2);
        }
    };
    let mock = match MockBackend::builder().config(config).port(port).start() {
        Ok(mock) => mock,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(3);
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        if let Err(e) = signal_hook::flag::register(signal, Arc::clone(&stop)) {
            eprintln!("error: cannot install the signal handlers: {e}");
            return ExitCode::from(3);
        }
    }
    println!("{}", mock.uri());
    eprintln!(
        "mock backend serving on {} (websocket {}); SIGINT or SIGTERM stops it",
        mock.uri(),
        mock.ws_uri()
    );
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    drop(mock);
    eprintln!("mock backend stopped");
    ExitCode::SUCCESS
}
