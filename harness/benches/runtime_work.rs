//! CPU-bound micro benchmarks of the reference runtime's startup work: building tool schemas
//! from listings, and assembling and serializing the prompt.

mod common;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use thread_runtime::{prompt, tools};

fn tool_building(c: &mut Criterion) {
    let mut group = c.benchmark_group("build_tools");
    for count in [10usize, 40, 480] {
        let listing = tools::synthetic_listing(0, count).to_string().into_bytes();
        group.throughput(Throughput::Elements(count as u64));
        group.bench_with_input(
            BenchmarkId::from_parameter(count),
            &listing,
            |b, listing| {
                b.iter(|| {
                    tools::build_specs(&[("server", black_box(listing.as_slice()))])
                        .expect("valid listing")
                });
            },
        );
    }
    group.finish();
}

fn prompt_assembly(c: &mut Criterion) {
    let mut group = c.benchmark_group("build_prompt");
    for (instructions_bytes, tool_count) in [(16 * 1024, 40usize), (256 * 1024, 480)] {
        let listing = tools::synthetic_listing(0, tool_count)
            .to_string()
            .into_bytes();
        let specs = tools::build_specs(&[("server", listing.as_slice())]).expect("valid listing");
        let instructions = prompt::instructions(instructions_bytes);
        group.throughput(Throughput::Bytes(instructions_bytes as u64));
        let id = BenchmarkId::from_parameter(format!(
            "{}KiB-{tool_count}tools",
            instructions_bytes / 1024
        ));
        group.bench_function(id, |b| {
            b.iter(|| {
                let p = prompt::build(
                    "gpt-6.1-sol",
                    "thread",
                    black_box(&instructions),
                    black_box(&specs),
                    "/work",
                );
                prompt::turn_request(&p, "hi", Some("resp_1"), true)
            });
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = tool_building, prompt_assembly
}
criterion_main!(benches);
