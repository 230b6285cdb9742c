//! Per-phase criterion benchmarks through the harness's own pipeline: each benchmark runs
//! iterations of `scenarios/bench.toml` (or `$PHASEBENCH_BENCH_SCENARIO`) through the built-in
//! target and reports the sum of one phase's measured durations (`iter_custom`), so
//! `cargo bench -- --save-baseline main` and `--baseline main` compare phase by phase.

mod common;

use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use phasebench::Scenario;
use phasebench::test_support::BuiltinTarget;
use phasebench::test_support::Target;
use phasebench::test_support::expected_metrics;

fn phases(c: &mut Criterion) {
    let path = std::env::var("PHASEBENCH_BENCH_SCENARIO").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/bench.toml").to_owned()
    });
    let scenario = Scenario::load(Path::new(&path), &[]).unwrap_or_else(|e| panic!("{e}"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let target = runtime
        .block_on(BuiltinTarget::start(&scenario))
        .expect("built-in target");
    let mut group = c.benchmark_group(format!("startup/{}", scenario.name));
    group
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for metric in expected_metrics(scenario.profile()) {
        group.bench_function(&metric, |b| {
            b.iter_custom(|iterations| {
                runtime.block_on(async {
                    let mut total = Duration::ZERO;
                    for i in 0..iterations {
                        let report = target.run_iteration(i).await;
                        if let Some(failure) = report.failure {
                            panic!("iteration {i} failed: {failure}");
                        }
                        total += report
                            .samples
                            .iter()
                            .filter(|s| s.key.metric == metric)
                            .map(|s| s.duration)
                            .sum::<Duration>();
                    }
                    total
                })
            });
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = phases
}
criterion_main!(benches);
