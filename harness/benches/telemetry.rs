//! What decoding codex's telemetry costs the harness: one `codex exec` run's log body (47 KB of
//! OTLP/JSON, 16 records) in JSON and protobuf, and its trace body (cut down to 19 spans).
//! The receiver does this while codex waits at exit for the export to be answered.

mod common;

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use phasebench::test_support::{Encoding, decode_logs, decode_spans};
use prost::Message;

fn data(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/data/codex-0.169.0/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("captured telemetry")
}

fn decoding(c: &mut Criterion) {
    let logs = data("captured-exec-logs.json");
    let request: ExportLogsServiceRequest = serde_json::from_slice(&logs).expect("valid body");
    let logs_proto = request.encode_to_vec();
    let traces = data("captured-exec-traces.json");
    let mut group = c.benchmark_group("otlp_decode");
    group.throughput(Throughput::Bytes(logs.len() as u64));
    group.bench_function("logs_json", |b| {
        b.iter(|| decode_logs(black_box(&logs), Encoding::Json).expect("decodes"))
    });
    group.throughput(Throughput::Bytes(logs_proto.len() as u64));
    group.bench_function("logs_protobuf", |b| {
        b.iter(|| decode_logs(black_box(&logs_proto), Encoding::Protobuf).expect("decodes"))
    });
    group.throughput(Throughput::Bytes(traces.len() as u64));
    group.bench_function("traces_json", |b| {
        b.iter(|| decode_spans(black_box(&traces), Encoding::Json).expect("decodes"))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = decoding
}
criterion_main!(benches);
