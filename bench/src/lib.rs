//! # looplet-bench: looplet against tokio and the single-threaded peers
//!
//! This crate is the *one* source of truth for what is measured. It holds
//! the benchmark **cases**: a workload (say `spawn_many_local`) implemented
//! for a runtime (say `tokio_ct`). Two commands run them:
//!
//! - `cargo bench --bench compare` (the facade's criterion bench) gives each
//!   workload a `benchmark_group`, one `bench_function` per runtime, and
//!   hands criterion's iteration count to [`Runner::run`];
//! - `cargo run --release -p looplet-bench` (this crate's binary) runs every
//!   case in one process, samples the runtimes of a workload *interleaved*,
//!   and prints (and writes to `docs/`) one table with the ratios and
//!   looplet's targets (listed in `docs/08-benchmarks.md`).
//!
//! ## The runtimes
//!
//! | id | what it is |
//! |----|------------|
//! | `looplet` | [`looplet::EventLoop`] |
//! | `tokio_ct` | tokio's current-thread runtime with `enable_all()` (I/O and time drivers), as `#[tokio::main(flavor = "current_thread")]` builds it |
//! | `tokio_localset` | the same runtime, tasks spawned with `spawn_local` on a `LocalSet` |
//! | `tokio_local_runtime` | tokio's `LocalRuntime` (`build_local`, `enable_all()`), tasks spawned with `spawn_local` on the runtime itself; from another thread, through its `Handle::spawn` |
//! | `async_executor_local` | `async_executor::LocalExecutor`, driven by `futures::executor::block_on(ex.run(..))` |
//! | `futures_localpool` | `futures::executor::LocalPool` |
//!
//! (See [`runtimes`] for how each is built and driven.)
//!
//! ## How a case is timed
//!
//! A case's [`Case::build`] makes a [`Runner`], which owns its runtime and any
//! helper threads, built once. [`Runner::run`]`(iters)` runs exactly `iters`
//! iterations of the workload and returns the time they took, setup
//! excluded — the shape of criterion's `iter_custom`. One iteration does
//! [`Case::elements_per_iter`] operations (tasks spawned, yields, messages,
//! …), so `time / (iters × elements)` is the time per operation.
//!
//! ## The workloads
//!
//! One module per workload under [`workloads`], each implementing the
//! workload for every runtime side by side, and saying which peer benchmark
//! its shape comes from. Where a runtime cannot do a workload (no spawn from
//! a foreign thread, no timers, no blocking pool, no sockets), the case is
//! left out; [`missing_reason`] says why.
//!
//! One workload is not timed: [`workloads::timer_lateness`] records how
//! late sequential sleeps end (p50 and p99, µs), through a [`Sleeper`]
//! of its own instead of a [`Runner`], and only the table command runs it.
//!
//! [`Sleeper`]: workloads::timer_lateness::Sleeper
//!
//! Cross-thread waits are always bounded by [`common::TIMEOUT`]: a bug makes
//! a case panic, never hang.
#![forbid(unsafe_code)]

use looplet_executor as looplet;
use std::fmt;
use std::time::Duration;

pub mod common;
pub mod live_tasks;
pub mod loop_threads;
pub mod measure;
pub mod runtimes;
pub mod workloads;

/// One workload on one runtime, ready to be timed: owns its runtime and
/// helper threads, and shuts them down cleanly when dropped.
pub trait Runner {
    /// Runs exactly `iters` iterations and returns the time they took,
    /// excluding setup (criterion's `iter_custom` shape).
    fn run(&mut self, iters: u64) -> Duration;

    /// For looplet runners whose work comes from other threads: the loop's
    /// wake syscalls and remote submissions so far (cumulative since the
    /// runner was built). `None` for everything else.
    fn wake_counts(&mut self) -> Option<WakeCounts> {
        None
    }
}

/// Cumulative counters of a looplet loop fed from other threads, from
/// [`looplet::Metrics`]: the difference of two readings over the remote
/// submissions made in between is "wake syscalls per submission".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WakeCounts {
    /// `Metrics::wake_syscalls`: times the loop's eventfd was written.
    pub wake_syscalls: u64,
    /// `Metrics::remote_spawns + Metrics::call_soon_threadsafe`: submissions
    /// from other threads that reached the loop.
    pub submissions: u64,
}

impl WakeCounts {
    /// Reads the counters of `event_loop` (on its own thread).
    pub fn of(event_loop: &looplet::EventLoop) -> WakeCounts {
        let metrics = event_loop.metrics();
        WakeCounts {
            wake_syscalls: metrics.wake_syscalls,
            submissions: metrics.remote_spawns + metrics.call_soon_threadsafe,
        }
    }

    /// Wake syscalls per submission between `earlier` and `self`.
    pub fn per_submission_since(&self, earlier: &WakeCounts) -> Option<f64> {
        let submissions = self.submissions.checked_sub(earlier.submissions)?;
        let syscalls = self.wake_syscalls.checked_sub(earlier.wake_syscalls)?;
        (submissions > 0).then(|| syscalls as f64 / submissions as f64)
    }
}

/// A workload on a runtime: how to build its [`Runner`].
#[derive(Clone, Copy)]
pub struct Case {
    /// The workload's name, e.g. `spawn_many_local` (a criterion group).
    pub workload: &'static str,
    /// The runtime's id, e.g. `tokio_ct` (a criterion function id).
    pub runtime: &'static str,
    /// Operations per iteration: the unit of "ns/op".
    pub elements_per_iter: u64,
    /// Builds the runner: runtime, helper threads, warm state.
    pub build: fn() -> Box<dyn Runner>,
}

impl fmt::Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Case")
            .field("workload", &self.workload)
            .field("runtime", &self.runtime)
            .field("elements_per_iter", &self.elements_per_iter)
            .finish_non_exhaustive()
    }
}

/// Every case, grouped by workload in a fixed order (the table's order).
pub fn cases() -> Vec<Case> {
    workloads::all()
        .into_iter()
        .flat_map(|w| (w.cases)())
        .collect()
}

/// Why `runtime` has no case for `workload` (the table's footnote for a
/// `—`), or `None` if it has one.
pub fn missing_reason(workload: &str, runtime: &str) -> Option<&'static str> {
    let has_case = match workloads::timer_lateness::by_name(workload) {
        Some(_) => workloads::timer_lateness::cases()
            .iter()
            .any(|c| c.runtime == runtime),
        None => workloads::by_name(workload)
            .is_some_and(|w| (w.cases)().iter().any(|c| c.runtime == runtime)),
    };
    if has_case {
        return None;
    }
    Some(match workload {
        "spawn_many_remote_idle" | "spawn_many_remote_busy" | "remote_round_trip" => {
            "no spawn from a foreign thread: a LocalSet, a LocalExecutor and a LocalSpawner \
             are !Send (tokio's multi-thread-capable Handle::spawn bypasses the LocalSet)"
        }
        "soft_cancel" | "cancel_and_wait" => {
            "no way to cancel a spawned task and wait for its end (dropping a \
             RemoteHandle cancels without waiting)"
        }
        "spawn_blocking_idle" | "spawn_blocking_100_in_flight" => {
            "no blocking pool of its own (async-executor and LocalPool leave blocking \
             work to another crate's pool, such as `blocking`, or to the caller's threads)"
        }
        "tcp_echo_1conn" | "tcp_echo_64conn" | "hyper_hello" => {
            "no sockets of their own (async-executor and LocalPool need async-io's reactor, \
             another runtime's, which the bench does not depend on)"
        }
        "spawn_many_local_tracked" => {
            "looplet's own opt-in (Builder::track_tasks); compare with spawn_many_local, \
             the same loop with tracking off"
        }
        "timers" | "timer_lateness_250us" | "timer_lateness_1ms" => {
            "no timers of its own (async-executor and LocalPool need async-io or \
             futures-timer, i.e. another runtime's timer)"
        }
        _ => "not measured",
    })
}
