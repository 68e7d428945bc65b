//! `remote_round_trip`: a foreign thread submits one empty task to an
//! *idle* loop and blocks until its result is back; then the next. One
//! operation = one round trip.
//!
//! The latency of `run_coroutine_threadsafe(...).result()`: the loop sleeps
//! in `epoll_wait` on its eventfd, the caller sleeps on a futex. Nothing can
//! batch or coalesce here, so it is two wakeups of sleeping threads — which
//! is why its target is set against the raw mechanism, not against tokio:
//! at most 1.1 × the workload's `raw` case,
//! `controls::eventfd_futex_ping_pong` (one thread in `epoll_wait` on an
//! eventfd, the other parked on a futex), sampled interleaved with it.
//!
//! On a VM the latency of waking a sleeping thread on the other vCPU
//! swings between phases (here ~7 µs and ~80 µs a round trip, each phase
//! lasting tens of milliseconds): which is why the control sits in this
//! group, and why the check is the median of *per-round* ratios.
//!
//! looplet: `handle.spawn(async {}).wait_timeout(..)` (the `RemoteHandle`
//! parks the caller on a condvar). tokio_ct: `handle.spawn(async {})`, the
//! `JoinHandle` awaited by a thread-parking `block_on` ([`Parker`]).

use crate::common::{Parker, TIMEOUT};
use crate::loop_threads::{LoopletThread, TokioThread};
use crate::runtimes;
use crate::workloads::{controls, Workload};
use crate::{Case, Runner, WakeCounts};
use std::time::{Duration, Instant};

/// The workload.
pub const WORKLOAD: Workload = Workload {
    name: "remote_round_trip",
    unit: "round trip",
    cases,
};

fn cases() -> Vec<Case> {
    vec![
        Case {
            workload: WORKLOAD.name,
            runtime: runtimes::LOOPLET,
            elements_per_iter: 1,
            build: || Box::new(LoopletRoundTrip(LoopletThread::start())),
        },
        Case {
            workload: WORKLOAD.name,
            runtime: runtimes::TOKIO_CT,
            elements_per_iter: 1,
            build: || Box::new(TokioRoundTrip(TokioThread::start())),
        },
        Case {
            workload: WORKLOAD.name,
            runtime: runtimes::RAW,
            elements_per_iter: 1,
            build: controls::eventfd_futex_ping_pong,
        },
    ]
}

struct LoopletRoundTrip(LoopletThread);

impl Runner for LoopletRoundTrip {
    fn run(&mut self, iters: u64) -> Duration {
        let handle = self.0.handle();
        let start = Instant::now();
        for _ in 0..iters {
            handle
                .spawn(async {})
                .wait_timeout(TIMEOUT)
                .expect("bench: no round trip within the timeout")
                .unwrap();
        }
        start.elapsed()
    }

    fn wake_counts(&mut self) -> Option<WakeCounts> {
        Some(self.0.wake_counts())
    }
}

struct TokioRoundTrip(TokioThread);

impl Runner for TokioRoundTrip {
    fn run(&mut self, iters: u64) -> Duration {
        let handle = self.0.handle();
        let parker = Parker::new();
        let start = Instant::now();
        for _ in 0..iters {
            parker.block_on(handle.spawn(async {})).unwrap();
        }
        start.elapsed()
    }
}
