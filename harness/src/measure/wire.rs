//! The bare pair ([`crate::target::wire`]) measured: its latency per step one exchange at a
//! time, and its rate of whole exchanges at a given concurrency. Failures are not hidden: an
//! exchange that fails ends the measurement with its error (on loopback with nothing
//! injected, a failure is a broken machine, not a statistic).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::model::series::DurationHistogram;
use crate::target::wire::{WireError, WireRequests, WireServer, exchange};

/// The bare pair's latency per step beyond what its server waited ([`WireServer::delays`]),
/// over exchanges made one at a time.
#[derive(Debug, Clone, Default)]
pub(crate) struct WireLatency {
    pub(crate) connect: DurationHistogram,
    pub(crate) warmup: DurationHistogram,
    pub(crate) first_delta: DurationHistogram,
}

impl WireLatency {
    /// Adds `exchanges` more exchanges, one at a time, after `warmup` unrecorded ones.
    pub(crate) async fn measure(
        &mut self,
        server: &WireServer,
        requests: &WireRequests,
        warmup: u64,
        exchanges: u64,
    ) -> Result<(), WireError> {
        for _ in 0..warmup {
            exchange(server.addr(), requests).await?;
        }
        let waited = server.delays();
        for _ in 0..exchanges {
            let t = exchange(server.addr(), requests).await?;
            self.connect
                .record(t.connect.saturating_sub(waited.handshake));
            self.warmup.record(t.warmup.saturating_sub(waited.warmup));
            self.first_delta
                .record(t.first_delta.saturating_sub(waited.first_token));
        }
        Ok(())
    }
}

/// Whole exchanges per second with `concurrency` in flight, over `exchanges` of them.
pub(crate) async fn rate(
    server: &WireServer,
    requests: &WireRequests,
    exchanges: u64,
    concurrency: u32,
) -> Result<f64, WireError> {
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let next = Arc::clone(&next);
        let requests = requests.clone();
        let addr = server.addr();
        workers.spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < exchanges {
                exchange(addr, &requests).await?;
            }
            Ok::<(), WireError>(())
        });
    }
    while let Some(joined) = workers.join_next().await {
        match joined {
            Ok(result) => result?,
            Err(e) => return Err(WireError::Io(std::io::Error::other(e.to_string()))),
        }
    }
    let elapsed = started.elapsed().max(Duration::from_micros(1));
    Ok(exchanges as f64 / elapsed.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::wire::WireDelays;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn latency_counts_every_exchange_and_rate_is_positive() {
        let server = WireServer::start(WireDelays::default()).unwrap();
        let requests = WireRequests::new(256);
        let mut latency = WireLatency::default();
        latency.measure(&server, &requests, 2, 20).await.unwrap();
        latency.measure(&server, &requests, 0, 5).await.unwrap();
        assert_eq!(latency.connect.count(), 25);
        assert_eq!(latency.first_delta.count(), 25);
        let per_second = rate(&server, &requests, 40, 8).await.unwrap();
        // 40 loopback exchanges take far less than 40 s even on a loaded machine.
        assert!(per_second > 1.0, "{per_second}");
    }
}
