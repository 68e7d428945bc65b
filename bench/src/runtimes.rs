//! The six runtimes, each built the way its users build it, behind one
//! tiny interface: [`BlockOn`] (run a future to completion on this thread,
//! running the runtime's tasks meanwhile).
//!
//! Spawning is *not* abstracted: each workload calls each runtime's own
//! spawn (`looplet::spawn`, `tokio::spawn`, `spawn_local`, `ex.spawn`,
//! `spawner.spawn_local_with_handle`), so the code of a workload reads the
//! same way its users would write it.

use crate::looplet;
use futures::executor::{LocalPool, LocalSpawner};
use std::future::Future;
use std::rc::Rc;

/// The runtime ids, as criterion function ids and table columns.
pub const LOOPLET: &str = "looplet";
/// tokio's current-thread runtime with `enable_all()`.
pub const TOKIO_CT: &str = "tokio_ct";
/// The same runtime, tasks on a `LocalSet`.
pub const TOKIO_LOCALSET: &str = "tokio_localset";
/// tokio's `LocalRuntime`: the same scheduler, built for `!Send` tasks.
pub const TOKIO_LOCAL_RUNTIME: &str = "tokio_local_runtime";
/// `async_executor::LocalExecutor`.
pub const ASYNC_EXECUTOR_LOCAL: &str = "async_executor_local";
/// `futures::executor::LocalPool`.
pub const FUTURES_LOCALPOOL: &str = "futures_localpool";
/// A control: no runtime, the raw mechanism (a channel, an eventfd, a futex).
pub const RAW: &str = "raw";

/// Every runtime id, in the table's column order.
pub const ALL: [&str; 6] = [
    LOOPLET,
    TOKIO_CT,
    TOKIO_LOCALSET,
    TOKIO_LOCAL_RUNTIME,
    ASYNC_EXECUTOR_LOCAL,
    FUTURES_LOCALPOOL,
];

/// Runs a future to completion on the current thread, driving the
/// runtime's other tasks meanwhile.
pub trait BlockOn {
    /// Runs `future` to completion and returns its output.
    fn block_on<F: Future>(&mut self, future: F) -> F::Output;
}

/// A looplet loop with the default settings.
pub fn looplet() -> looplet::EventLoop {
    looplet::EventLoop::new().expect("EventLoop::new")
}

impl BlockOn for looplet::EventLoop {
    fn block_on<F: Future>(&mut self, future: F) -> F::Output {
        looplet::EventLoop::block_on(self, future)
    }
}

/// tokio's current-thread runtime exactly as
/// `#[tokio::main(flavor = "current_thread")]` builds it: `enable_all()`,
/// so it has an I/O driver (an epoll + eventfd, like looplet) and a timer.
pub fn tokio_ct() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio current-thread runtime")
}

impl BlockOn for tokio::runtime::Runtime {
    fn block_on<F: Future>(&mut self, future: F) -> F::Output {
        tokio::runtime::Runtime::block_on(self, future)
    }
}

/// [`tokio_ct`] plus a `LocalSet`: tasks are `!Send`-capable and spawned
/// with `tokio::task::spawn_local`.
#[derive(Debug)]
pub struct TokioLocalSet {
    /// The runtime that drives the set (its drivers: I/O, time).
    pub runtime: tokio::runtime::Runtime,
    /// The set the tasks live in.
    pub local: tokio::task::LocalSet,
}

impl TokioLocalSet {
    /// A current-thread runtime with `enable_all()` and an empty `LocalSet`.
    pub fn new() -> Self {
        TokioLocalSet {
            runtime: tokio_ct(),
            local: tokio::task::LocalSet::new(),
        }
    }
}

impl Default for TokioLocalSet {
    fn default() -> Self {
        Self::new()
    }
}

impl BlockOn for TokioLocalSet {
    fn block_on<F: Future>(&mut self, future: F) -> F::Output {
        self.local.block_on(&self.runtime, future)
    }
}

/// tokio's answer to "a single-threaded runtime for `!Send` futures"
/// without a `LocalSet`: `LocalRuntime`, built by the same builder as
/// [`tokio_ct`] (`enable_all()`: the same I/O driver and timer) with
/// `build_local`. Inside it, `tokio::task::spawn_local` spawns onto the
/// runtime itself (no `LocalSet`), which is what its users write; it is
/// internally the current-thread scheduler, so it differs from [`tokio_ct`]
/// in that spawn path, not in its run queue or drivers. It is `!Send`: a
/// case that runs it on a thread of its own builds it there.
pub fn tokio_local_runtime() -> tokio::runtime::LocalRuntime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build_local(tokio::runtime::LocalOptions::default())
        .expect("tokio LocalRuntime")
}

impl BlockOn for tokio::runtime::LocalRuntime {
    fn block_on<F: Future>(&mut self, future: F) -> F::Output {
        tokio::runtime::LocalRuntime::block_on(self, future)
    }
}

/// `async_executor::LocalExecutor`, shared through an `Rc` so that tasks can
/// spawn more tasks (it has no "current executor" of its own), driven by
/// `futures::executor::block_on(ex.run(..))`.
#[derive(Debug, Default)]
pub struct AsyncExecutorLocal {
    /// The executor; clone the `Rc` to spawn from inside a task.
    pub ex: Rc<async_executor::LocalExecutor<'static>>,
}

impl AsyncExecutorLocal {
    /// A new, empty executor.
    pub fn new() -> Self {
        Self::default()
    }
}

impl BlockOn for AsyncExecutorLocal {
    fn block_on<F: Future>(&mut self, future: F) -> F::Output {
        futures::executor::block_on(self.ex.run(future))
    }
}

/// `futures::executor::LocalPool` and its spawner.
#[derive(Debug)]
pub struct FuturesLocalPool {
    /// The pool: `run_until` drives it.
    pub pool: LocalPool,
    /// Spawns onto the pool (`LocalSpawnExt`); clone it into tasks.
    pub spawner: LocalSpawner,
}

impl FuturesLocalPool {
    /// A new, empty pool.
    pub fn new() -> Self {
        let pool = LocalPool::new();
        let spawner = pool.spawner();
        FuturesLocalPool { pool, spawner }
    }
}

impl Default for FuturesLocalPool {
    fn default() -> Self {
        Self::new()
    }
}

impl BlockOn for FuturesLocalPool {
    fn block_on<F: Future>(&mut self, future: F) -> F::Output {
        self.pool.run_until(future)
    }
}
