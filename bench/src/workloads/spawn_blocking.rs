//! `spawn_blocking_idle` and `spawn_blocking_100_in_flight`: jobs that
//! return at once, run on the runtime's blocking pool and awaited from the
//! runtime's thread. One operation = one job (submitted to the pool, a pool
//! thread woken, the job run, its result handed back, the awaiting future
//! woken and its result taken).
//!
//! What `spawn_blocking` costs when the work itself costs nothing: the
//! pool's queue and its thread wakeups, the result's way back, the wake of
//! the loop. The in-flight shape is tokio's `benches/spawn_blocking.rs`
//! (batches of no-op `spawn_blocking` jobs, each batch awaited together,
//! `black_box(0)` as the work), on the current-thread runtime and with one
//! batch of 100 instead of 16.
//!
//! - **idle**: 100 jobs one after another, each awaited before the next is
//!   spawned: a round trip through an idle pool — a sleeping pool thread
//!   is woken for the job, and the loop, with nothing else to do, waits
//!   for the result. Nothing can batch: like `remote_round_trip`, each job
//!   is a hand-off to another thread and back, so it runs pinned to one
//!   CPU (see [`crate::loop_threads`]):
//!   the loop runs on a [`CallerThread`] pinned to [`latency_cpu`], and the
//!   pool threads, started from it, inherit its pinning. The pool keeps its
//!   default cap (looplet 64, tokio 512) and starts with [`IDLE_THREADS`]
//!   warm threads: one round trip after another, both pools still start a
//!   thread now and then (the thread that ran a job can take the next one
//!   while the thread woken for it is on its way; the submission after
//!   that finds no idle thread not already woken, and starts one). From 2
//!   warm threads each pool grew to 8 or 9 in 100,000 round trips; from 8,
//!   by at most one: a thread start (tens of µs) in ~1.5 s of round trips.
//! - **100 in flight**: 100 jobs spawned at once on a pool capped at 4
//!   threads (looplet `Builder::blocking_threads(4)`, tokio
//!   `max_blocking_threads(4)`), then all awaited: the queue, four workers
//!   taking jobs from it, and the loop collecting results that arrive while
//!   it is still awaiting others. Not pinned, like the other cross-thread
//!   throughput workloads.
//!
//! Fairness: each runner builds its runtime once and, before anything is
//! timed, brings its pool to the threads the workload uses (`warm`: that
//! many jobs that wait for each other, so that many threads run at once),
//! so no sample times their creation (the idle variant's rare extra thread
//! aside, above). Both pools keep an idle thread
//! 10 s (their default), far longer than the gap between two samples. The
//! same jobs, awaited the same way: the `block_on` future awaits each
//! runtime's own handle (looplet's `BlockingHandle`, tokio's `JoinHandle`).
//! tokio_localset is the same runtime awaiting from inside a `LocalSet`,
//! tokio_local_runtime tokio's `LocalRuntime` (the same scheduler and
//! blocking pool, built with `build_local`).
//! async-executor and LocalPool have no blocking pool (see
//! [`crate::missing_reason`]).

use crate::common::TIMEOUT;
use crate::loop_threads::{latency_cpu, CallerThread};
use crate::runtimes::{self, BlockOn, TokioLocalSet};
use crate::workloads::Workload;
use crate::{common::Timed, looplet, Case, Runner};
use std::hint::black_box;
use std::sync::{Arc, Condvar, Mutex};

/// Round trips per iteration of the idle variant.
pub const ROUND_TRIPS: usize = 100;
/// Jobs in flight per iteration of the other variant.
pub const IN_FLIGHT: usize = 100;
/// The pool's cap in the in-flight variant.
pub const POOL_THREADS: usize = 4;
/// Pool threads warmed for the idle variant (see the module docs).
pub const IDLE_THREADS: usize = 8;

/// One job at a time, on an idle pool.
pub const IDLE: Workload = Workload {
    name: "spawn_blocking_idle",
    unit: "job",
    cases: idle_cases,
};

/// 100 jobs at once, on 4 threads.
pub const IN_FLIGHT_100: Workload = Workload {
    name: "spawn_blocking_100_in_flight",
    unit: "job",
    cases: in_flight_cases,
};

fn case(
    workload: &'static str,
    runtime: &'static str,
    elements_per_iter: usize,
    build: fn() -> Box<dyn Runner>,
) -> Case {
    Case {
        workload,
        runtime,
        elements_per_iter: elements_per_iter as u64,
        build,
    }
}

fn idle_cases() -> Vec<Case> {
    let name = IDLE.name;
    vec![
        case(name, runtimes::LOOPLET, ROUND_TRIPS, || {
            Box::new(CallerThread::start(
                latency_cpu(),
                || warm(runtimes::looplet(), IDLE_THREADS),
                looplet_idle,
            ))
        }),
        case(name, runtimes::TOKIO_CT, ROUND_TRIPS, || {
            Box::new(CallerThread::start(
                latency_cpu(),
                || warm(runtimes::tokio_ct(), IDLE_THREADS),
                tokio_idle,
            ))
        }),
        case(name, runtimes::TOKIO_LOCALSET, ROUND_TRIPS, || {
            Box::new(CallerThread::start(
                latency_cpu(),
                || warm(TokioLocalSet::new(), IDLE_THREADS),
                tokio_idle,
            ))
        }),
        case(name, runtimes::TOKIO_LOCAL_RUNTIME, ROUND_TRIPS, || {
            // Built by `make`, on the caller thread: it is `!Send`.
            Box::new(CallerThread::start(
                latency_cpu(),
                || warm(runtimes::tokio_local_runtime(), IDLE_THREADS),
                tokio_idle,
            ))
        }),
    ]
}

fn in_flight_cases() -> Vec<Case> {
    let name = IN_FLIGHT_100.name;
    vec![
        case(name, runtimes::LOOPLET, IN_FLIGHT, || {
            Timed::boxed(warm(looplet_capped(), POOL_THREADS), looplet_in_flight)
        }),
        case(name, runtimes::TOKIO_CT, IN_FLIGHT, || {
            Timed::boxed(warm(tokio_ct_capped(), POOL_THREADS), tokio_in_flight)
        }),
        case(name, runtimes::TOKIO_LOCALSET, IN_FLIGHT, || {
            let rt = TokioLocalSet {
                runtime: tokio_ct_capped(),
                local: tokio::task::LocalSet::new(),
            };
            Timed::boxed(warm(rt, POOL_THREADS), tokio_in_flight)
        }),
        case(name, runtimes::TOKIO_LOCAL_RUNTIME, IN_FLIGHT, || {
            Timed::boxed(
                warm(tokio_local_runtime_capped(), POOL_THREADS),
                tokio_in_flight,
            )
        }),
    ]
}

/// [`runtimes::looplet`] with its blocking pool capped at [`POOL_THREADS`].
fn looplet_capped() -> looplet::EventLoop {
    looplet::EventLoop::builder()
        .blocking_threads(POOL_THREADS)
        .build()
        .expect("EventLoop::builder().build()")
}

/// [`runtimes::tokio_ct`] with its blocking pool capped at [`POOL_THREADS`].
fn tokio_ct_capped() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(POOL_THREADS)
        .build()
        .expect("tokio current-thread runtime")
}

/// [`runtimes::tokio_local_runtime`] with its blocking pool capped at
/// [`POOL_THREADS`].
fn tokio_local_runtime_capped() -> tokio::runtime::LocalRuntime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(POOL_THREADS)
        .build_local(tokio::runtime::LocalOptions::default())
        .expect("tokio LocalRuntime")
}

fn looplet_idle(rt: &mut looplet::EventLoop) {
    rt.block_on(async {
        for _ in 0..ROUND_TRIPS {
            looplet::spawn_blocking(|_| black_box(0_u64)).await.unwrap();
        }
    });
}

/// The idle variant on tokio_ct, tokio_localset or tokio_local_runtime.
fn tokio_idle<R: BlockOn>(rt: &mut R) {
    rt.block_on(async {
        for _ in 0..ROUND_TRIPS {
            tokio::task::spawn_blocking(|| black_box(0_u64))
                .await
                .unwrap();
        }
    });
}

fn looplet_in_flight(rt: &mut looplet::EventLoop) {
    rt.block_on(async {
        let jobs: Vec<_> = (0..IN_FLIGHT)
            .map(|_| looplet::spawn_blocking(|_| black_box(0_u64)))
            .collect();
        for job in jobs {
            job.await.unwrap();
        }
    });
}

/// The in-flight variant on tokio_ct, tokio_localset or
/// tokio_local_runtime.
fn tokio_in_flight<R: BlockOn>(rt: &mut R) {
    rt.block_on(async {
        let jobs: Vec<_> = (0..IN_FLIGHT)
            .map(|_| tokio::task::spawn_blocking(|| black_box(0_u64)))
            .collect();
        for job in jobs {
            job.await.unwrap();
        }
    });
}

/// A runtime whose blocking pool can be warmed: `threads` jobs submitted
/// at once, each running `job`.
trait WarmPool: BlockOn {
    fn run_together(&mut self, threads: usize, job: impl Fn() + Clone + Send + 'static);
}

impl WarmPool for looplet::EventLoop {
    fn run_together(&mut self, threads: usize, job: impl Fn() + Clone + Send + 'static) {
        self.block_on(async {
            let jobs: Vec<_> = (0..threads)
                .map(|_| {
                    let job = job.clone();
                    looplet::spawn_blocking(move |_| job())
                })
                .collect();
            for job in jobs {
                job.await.unwrap();
            }
        });
    }
}

/// Runs the jobs through `rt`'s `block_on`: tokio_ct, tokio_localset and
/// tokio_local_runtime.
async fn tokio_together(threads: usize, job: impl Fn() + Clone + Send + 'static) {
    let jobs: Vec<_> = (0..threads)
        .map(|_| tokio::task::spawn_blocking(job.clone()))
        .collect();
    for job in jobs {
        job.await.unwrap();
    }
}

impl WarmPool for tokio::runtime::Runtime {
    fn run_together(&mut self, threads: usize, job: impl Fn() + Clone + Send + 'static) {
        BlockOn::block_on(self, tokio_together(threads, job));
    }
}

impl WarmPool for TokioLocalSet {
    fn run_together(&mut self, threads: usize, job: impl Fn() + Clone + Send + 'static) {
        self.block_on(tokio_together(threads, job));
    }
}

impl WarmPool for tokio::runtime::LocalRuntime {
    fn run_together(&mut self, threads: usize, job: impl Fn() + Clone + Send + 'static) {
        BlockOn::block_on(self, tokio_together(threads, job));
    }
}

/// Brings `rt`'s blocking pool to at least `threads` live threads: that
/// many jobs, each waiting (bounded) until all of them are running, so
/// that many threads run at once. Returns the runtime.
fn warm<R: WarmPool>(mut rt: R, threads: usize) -> R {
    let running = Arc::new((Mutex::new(0_usize), Condvar::new()));
    rt.run_together(threads, move || {
        let (count, all_in) = &*running;
        let mut count = count.lock().unwrap();
        *count += 1;
        all_in.notify_all();
        let (count, waited) = all_in
            .wait_timeout_while(count, TIMEOUT, |count| *count < threads)
            .unwrap();
        assert!(
            !waited.timed_out(),
            "bench: only {} of {threads} blocking pool threads started",
            *count
        );
    });
    rt
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warming_leaves_the_pool_with_its_threads() {
        let mut capped = warm(looplet_capped(), POOL_THREADS);
        assert_eq!(capped.metrics().blocking_threads_alive, POOL_THREADS as u64);
        looplet_in_flight(&mut capped);
        assert_eq!(capped.metrics().blocking_threads_alive, POOL_THREADS as u64);

        // The idle variant's pool may still grow now and then (module docs).
        let mut idle = warm(runtimes::looplet(), IDLE_THREADS);
        assert_eq!(idle.metrics().blocking_threads_alive, IDLE_THREADS as u64);
        looplet_idle(&mut idle);
        assert!(idle.metrics().blocking_threads_alive >= IDLE_THREADS as u64);
    }

    #[test]
    fn tokio_runs_both_variants() {
        tokio_idle(&mut warm(runtimes::tokio_ct(), IDLE_THREADS));
        tokio_in_flight(&mut warm(TokioLocalSet::new(), POOL_THREADS));
        tokio_idle(&mut warm(runtimes::tokio_local_runtime(), IDLE_THREADS));
        tokio_in_flight(&mut warm(tokio_local_runtime_capped(), POOL_THREADS));
    }
}
