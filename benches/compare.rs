//! looplet against tokio's current_thread runtime, workload by workload.
//!
//! `cargo bench --bench compare` runs it; each `benchmark_group` holds the
//! same workload for each runtime, so criterion's report compares them side
//! by side. (This is the first slice of the suite; more workloads and peers
//! arrive with the benchmarks issue.)

// criterion's macros generate undocumented public functions.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::time::Duration;

const SPAWN_MANY: usize = 1_000;
const CHAIN_DEPTH: usize = 1_000;
const YIELD_TASKS: usize = 200;
const YIELDS: usize = 1_000;

fn tokio_ct() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn spawn_many_local(c: &mut Criterion) {
    let mut group = c.benchmark_group("spawn_many_local");
    group.throughput(Throughput::Elements(SPAWN_MANY as u64));
    let mut event_loop = looplet::EventLoop::new().unwrap();
    group.bench_function(BenchmarkId::from_parameter("looplet"), |b| {
        b.iter(|| {
            event_loop.block_on(async {
                let handles: Vec<_> = (0..SPAWN_MANY)
                    .map(|i| looplet::spawn(async move { i }))
                    .collect();
                for h in handles {
                    h.await.unwrap();
                }
            })
        })
    });
    let rt = tokio_ct();
    group.bench_function(BenchmarkId::from_parameter("tokio_ct"), |b| {
        b.iter(|| {
            rt.block_on(async {
                let handles: Vec<_> = (0..SPAWN_MANY)
                    .map(|i| tokio::spawn(async move { i }))
                    .collect();
                for h in handles {
                    h.await.unwrap();
                }
            })
        })
    });
    group.finish();
}

fn chained_spawn(c: &mut Criterion) {
    fn looplet_chain(n: usize, done: std::rc::Rc<std::cell::Cell<bool>>) {
        if n == 0 {
            done.set(true);
        } else {
            // Dropping the JoinHandle detaches the task: it still runs.
            drop(looplet::spawn(async move { looplet_chain(n - 1, done) }));
        }
    }
    fn tokio_chain(n: usize, done: tokio::sync::oneshot::Sender<()>) {
        if n == 0 {
            let _ = done.send(());
        } else {
            tokio::spawn(async move { tokio_chain(n - 1, done) });
        }
    }
    let mut group = c.benchmark_group("chained_spawn");
    group.throughput(Throughput::Elements(CHAIN_DEPTH as u64));
    let mut event_loop = looplet::EventLoop::new().unwrap();
    group.bench_function(BenchmarkId::from_parameter("looplet"), |b| {
        b.iter(|| {
            let done = std::rc::Rc::new(std::cell::Cell::new(false));
            let flag = std::rc::Rc::clone(&done);
            event_loop.block_on(async move {
                looplet_chain(CHAIN_DEPTH, flag);
            });
            while !done.get() {
                event_loop.run_until_stalled();
            }
        })
    });
    let rt = tokio_ct();
    group.bench_function(BenchmarkId::from_parameter("tokio_ct"), |b| {
        b.iter(|| {
            rt.block_on(async {
                let (tx, rx) = tokio::sync::oneshot::channel();
                tokio_chain(CHAIN_DEPTH, tx);
                rx.await.unwrap();
            })
        })
    });
    group.finish();
}

fn yield_many(c: &mut Criterion) {
    let mut group = c.benchmark_group("yield_many");
    group.throughput(Throughput::Elements((YIELD_TASKS * YIELDS) as u64));
    group.measurement_time(Duration::from_secs(5));
    let mut event_loop = looplet::EventLoop::new().unwrap();
    group.bench_function(BenchmarkId::from_parameter("looplet"), |b| {
        b.iter(|| {
            event_loop.block_on(async {
                let handles: Vec<_> = (0..YIELD_TASKS)
                    .map(|_| {
                        looplet::spawn(async {
                            for _ in 0..YIELDS {
                                looplet::yield_now().await;
                            }
                        })
                    })
                    .collect();
                for h in handles {
                    h.await.unwrap();
                }
            })
        })
    });
    let rt = tokio_ct();
    group.bench_function(BenchmarkId::from_parameter("tokio_ct"), |b| {
        b.iter(|| {
            rt.block_on(async {
                let handles: Vec<_> = (0..YIELD_TASKS)
                    .map(|_| {
                        tokio::spawn(async {
                            for _ in 0..YIELDS {
                                tokio::task::yield_now().await;
                            }
                        })
                    })
                    .collect();
                for h in handles {
                    h.await.unwrap();
                }
            })
        })
    });
    group.finish();
}

criterion_group!(benches, spawn_many_local, chained_spawn, yield_many);
criterion_main!(benches);
