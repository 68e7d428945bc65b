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
//! The caller runs on a thread of the runner's own, pinned with the loop
//! thread to one CPU: on a VM a cross-CPU wakeup costs whatever the
//! hypervisor makes it cost, and where the scheduler puts the two threads
//! would decide the result (see [`crate::loop_threads`]).
//!
//! looplet: `handle.spawn(async {}).wait_timeout(..)` (the `RemoteHandle`
//! parks the caller on a condvar). tokio_ct and tokio_local_runtime:
//! `handle.spawn(async {})`, the `JoinHandle` awaited by a thread-parking
//! `block_on` ([`Parker`]) — a `LocalRuntime`'s `Handle` takes `Send`
//! futures from any thread, like any tokio runtime's (its `spawn_local`
//! works only on the runtime's own thread).

use crate::common::{Parker, TIMEOUT};
use crate::loop_threads::{latency_cpu, CallerThread, LoopletThread, TokioThread};
use crate::runtimes;
use crate::workloads::{controls, Workload};
use crate::{looplet, Case, Runner, WakeCounts};
use std::time::Duration;

/// The workload.
pub const WORKLOAD: Workload = Workload {
    name: "remote_round_trip",
    unit: "round trip",
    cases,
};

fn cases() -> Vec<Case> {
    let case = |runtime, build| Case {
        workload: WORKLOAD.name,
        runtime,
        elements_per_iter: 1,
        build,
    };
    vec![
        case(runtimes::LOOPLET, looplet),
        case(runtimes::TOKIO_CT, tokio_ct),
        case(runtimes::TOKIO_LOCAL_RUNTIME, tokio_local_runtime),
        case(runtimes::RAW, controls::eventfd_futex_ping_pong),
    ]
}

/// The caller thread and the loop thread, both pinned to [`latency_cpu`].
/// (Fields drop in order: the caller, holding a `Handle`, goes first.)
struct LoopletRoundTrip {
    caller: CallerThread,
    event_loop: LoopletThread,
}

fn looplet() -> Box<dyn Runner> {
    let cpu = latency_cpu();
    let event_loop = LoopletThread::start_on(Some(cpu));
    let handle = event_loop.handle().clone();
    let caller = CallerThread::start(
        cpu,
        move || handle,
        |handle: &mut looplet::Handle| {
            handle
                .spawn(async {})
                .wait_timeout(TIMEOUT)
                .expect("bench: no round trip within the timeout")
                .unwrap();
        },
    );
    Box::new(LoopletRoundTrip { caller, event_loop })
}

impl Runner for LoopletRoundTrip {
    fn run(&mut self, iters: u64) -> Duration {
        self.caller.run(iters)
    }

    fn wake_counts(&mut self) -> Option<WakeCounts> {
        Some(self.event_loop.wake_counts())
    }
}

/// As [`LoopletRoundTrip`], for tokio.
struct TokioRoundTrip {
    caller: CallerThread,
    _runtime: TokioThread,
}

fn tokio_ct() -> Box<dyn Runner> {
    let cpu = latency_cpu();
    tokio_round_trip(cpu, TokioThread::start_on(Some(cpu)))
}

/// tokio's `LocalRuntime`: the same `Handle::spawn` as tokio_ct (from a
/// foreign thread there is no `spawn_local`).
fn tokio_local_runtime() -> Box<dyn Runner> {
    let cpu = latency_cpu();
    tokio_round_trip(cpu, TokioThread::start_local_on(Some(cpu)))
}

/// The caller thread, pinned to `cpu` as `runtime`'s thread is, spawning
/// through `runtime`'s handle.
fn tokio_round_trip(cpu: usize, runtime: TokioThread) -> Box<dyn Runner> {
    let handle = runtime.handle().clone();
    let caller = CallerThread::start(
        cpu,
        move || (handle, Parker::new()),
        |(handle, parker): &mut (tokio::runtime::Handle, Parker)| {
            parker.block_on(handle.spawn(async {})).unwrap();
        },
    );
    Box::new(TokioRoundTrip {
        caller,
        _runtime: runtime,
    })
}

impl Runner for TokioRoundTrip {
    fn run(&mut self, iters: u64) -> Duration {
        self.caller.run(iters)
    }
}
