//! looplet against tokio (current_thread, with and without a `LocalSet`),
//! async-executor's `LocalExecutor` and futures' `LocalPool`, workload by
//! workload, in one criterion binary.
//!
//! ```text
//! cargo bench --bench compare                       # everything (several minutes)
//! cargo bench --bench compare -- spawn_many_local   # one workload
//! cargo bench --bench compare -- --test             # each case once (CI)
//! ```
//!
//! The cases live in the `looplet-bench` package (`bench/`), one module per
//! workload with every runtime side by side; `cargo run --release -p
//! looplet-bench` runs the same cases interleaved in one process and prints
//! the table with the targets. Here each workload is a `benchmark_group` with
//! `Throughput::Elements` (so criterion reports time per operation: per
//! task, per yield, per message, …) and one function per runtime, named by
//! its id (`looplet`, `tokio_ct`, `tokio_localset`, `tokio_local_runtime`,
//! `async_executor_local`, `futures_localpool`, and `raw` for a control). A
//! runtime that cannot do a workload has no function in its group.
//!
//! Timer lateness (`looplet_bench::workloads::timer_lateness`: how late a
//! sleep ends, p50 and p99) is not here: it is not a time per operation,
//! and criterion's mean per iteration would hide the tail it is about. The
//! table command measures it.

// criterion's macros generate undocumented public functions.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use looplet_bench::{workloads, Runner};
use std::time::Duration;

fn compare(c: &mut Criterion) {
    for workload in workloads::all() {
        let mut group = c.benchmark_group(workload.name);
        for case in (workload.cases)() {
            group.throughput(Throughput::Elements(case.elements_per_iter));
            // Built on first use, so a case filtered out costs nothing (some
            // hold a million tasks), and dropped — threads joined — before
            // the next one is built.
            let mut runner: Option<Box<dyn Runner>> = None;
            group.bench_function(case.runtime, |b| {
                let runner = runner.get_or_insert_with(case.build);
                b.iter_custom(|iters| runner.run(iters));
            });
            drop(runner);
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2));
    targets = compare
}
criterion_main!(benches);
