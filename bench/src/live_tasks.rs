//! Live tasks: runtimes holding many *pending* tasks — for what a waiting
//! task costs in memory (the table command counts the heap around
//! [`LiveTasks::spawn_pending`]) and for what many of them do to the cost of
//! spawning more ([`workloads::live_spawn`](crate::workloads::live_spawn)).
//!
//! A pending task's future is a [`Pending<N>`](crate::common::Pending): `N`
//! bytes, never ready. Tasks are spawned in batches of [`BATCH`], and each
//! batch is polled once before the next is spawned — so every task has had
//! its first poll (a waker may be made then) and the run queue never holds
//! more than one batch: what is measured is what a *waiting* task keeps,
//! not a queue grown to hold 100,000 at once. The handles are kept (in a
//! vector reserved beforehand, so the vector itself is not counted), since
//! a task someone will join is the common case; futures' `LocalPool` has no
//! handle and keeps none.

use crate::common::Pending;
use crate::looplet;
use crate::runtimes::{self, AsyncExecutorLocal, BlockOn, FuturesLocalPool, TokioLocalSet};
use crate::workloads::spawn_many_local;
use futures::task::LocalSpawnExt;

/// Tasks spawned between two polls of the runtime.
pub const BATCH: usize = 1_000;

/// The future sizes measured, in bytes.
pub const FUTURE_SIZES: [usize; 3] = [0, 64, 256];

/// A runtime that can hold many pending tasks.
pub trait LiveTasks {
    /// Spawns `n` tasks that never finish, with futures of `future_bytes`
    /// (one of [`FUTURE_SIZES`]) bytes, polling each batch once.
    fn spawn_pending(&mut self, n: usize, future_bytes: usize);

    /// One iteration of [`spawn_many_local`] on this runtime, next to the
    /// pending tasks.
    fn spawn_many_local(&mut self);
}

/// A runtime that can hold live tasks, by id.
#[derive(Debug, Clone, Copy)]
pub struct Population {
    /// The runtime's id.
    pub runtime: &'static str,
    /// Builds the runtime, with room reserved for `capacity` handles.
    pub build: fn(capacity: usize) -> Box<dyn LiveTasks>,
}

/// Every runtime, in the table's column order.
pub fn populations() -> Vec<Population> {
    vec![
        Population {
            runtime: runtimes::LOOPLET,
            build: looplet,
        },
        Population {
            runtime: runtimes::TOKIO_CT,
            build: tokio_ct,
        },
        Population {
            runtime: runtimes::TOKIO_LOCALSET,
            build: tokio_localset,
        },
        Population {
            runtime: runtimes::TOKIO_LOCAL_RUNTIME,
            build: tokio_local_runtime,
        },
        Population {
            runtime: runtimes::ASYNC_EXECUTOR_LOCAL,
            build: async_executor_local,
        },
        Population {
            runtime: runtimes::FUTURES_LOCALPOOL,
            build: futures_localpool,
        },
    ]
}

/// Calls `$f::<N>(args)` for the `N` equal to `$bytes`.
macro_rules! by_size {
    ($bytes:expr, $f:ident($($arg:expr),*)) => {
        match $bytes {
            0 => $f::<0>($($arg),*),
            64 => $f::<64>($($arg),*),
            256 => $f::<256>($($arg),*),
            other => panic!("no pending future of {other} bytes (sizes: {FUTURE_SIZES:?})"),
        }
    };
}

/// Splits `n` into batches of at most [`BATCH`].
fn batches(n: usize) -> impl Iterator<Item = usize> {
    (0..n).step_by(BATCH).map(move |start| BATCH.min(n - start))
}

// ----- looplet -------------------------------------------------------------

struct LoopletLive {
    event_loop: looplet::EventLoop,
    handles: Vec<looplet::JoinHandle<()>>,
}

/// looplet: `EventLoop::spawn`, then `run_until_stalled` polls the batch.
pub fn looplet(capacity: usize) -> Box<dyn LiveTasks> {
    Box::new(LoopletLive {
        event_loop: runtimes::looplet(),
        handles: Vec::with_capacity(capacity),
    })
}

fn looplet_batch<const N: usize>(live: &mut LoopletLive, batch: usize) {
    for _ in 0..batch {
        live.handles
            .push(live.event_loop.spawn(Pending::<N>::new()));
    }
    live.event_loop.run_until_stalled();
}

impl LiveTasks for LoopletLive {
    fn spawn_pending(&mut self, n: usize, future_bytes: usize) {
        for batch in batches(n) {
            by_size!(future_bytes, looplet_batch(self, batch));
        }
    }

    fn spawn_many_local(&mut self) {
        spawn_many_local::looplet(&mut self.event_loop);
    }
}

// ----- tokio current_thread ------------------------------------------------

struct TokioLive {
    runtime: tokio::runtime::Runtime,
    handles: Vec<tokio::task::JoinHandle<()>>,
}

/// tokio_ct: `tokio::spawn` inside `block_on`; a last, empty task is
/// awaited, and the run queue is FIFO, so the batch has been polled.
pub fn tokio_ct(capacity: usize) -> Box<dyn LiveTasks> {
    Box::new(TokioLive {
        runtime: runtimes::tokio_ct(),
        handles: Vec::with_capacity(capacity),
    })
}

fn tokio_batch<const N: usize>(live: &mut TokioLive, batch: usize) {
    let handles = &mut live.handles;
    live.runtime.block_on(async {
        for _ in 0..batch {
            handles.push(tokio::spawn(Pending::<N>::new()));
        }
        tokio::spawn(async {}).await.unwrap();
    });
}

impl LiveTasks for TokioLive {
    fn spawn_pending(&mut self, n: usize, future_bytes: usize) {
        for batch in batches(n) {
            by_size!(future_bytes, tokio_batch(self, batch));
        }
    }

    fn spawn_many_local(&mut self) {
        spawn_many_local::tokio_ct(&mut self.runtime);
    }
}

// ----- tokio LocalSet ------------------------------------------------------

struct TokioLocalSetLive {
    runtime: TokioLocalSet,
    handles: Vec<tokio::task::JoinHandle<()>>,
}

/// tokio_localset: as tokio_ct, with `spawn_local`.
pub fn tokio_localset(capacity: usize) -> Box<dyn LiveTasks> {
    Box::new(TokioLocalSetLive {
        runtime: TokioLocalSet::new(),
        handles: Vec::with_capacity(capacity),
    })
}

fn tokio_localset_batch<const N: usize>(live: &mut TokioLocalSetLive, batch: usize) {
    let handles = &mut live.handles;
    live.runtime.block_on(async {
        for _ in 0..batch {
            handles.push(tokio::task::spawn_local(Pending::<N>::new()));
        }
        tokio::task::spawn_local(async {}).await.unwrap();
    });
}

impl LiveTasks for TokioLocalSetLive {
    fn spawn_pending(&mut self, n: usize, future_bytes: usize) {
        for batch in batches(n) {
            by_size!(future_bytes, tokio_localset_batch(self, batch));
        }
    }

    fn spawn_many_local(&mut self) {
        spawn_many_local::tokio_localset(&mut self.runtime);
    }
}

// ----- tokio LocalRuntime --------------------------------------------------

struct TokioLocalRuntimeLive {
    runtime: tokio::runtime::LocalRuntime,
    handles: Vec<tokio::task::JoinHandle<()>>,
}

/// tokio_local_runtime: as tokio_ct, with `spawn_local` (what its users
/// write) where tokio_ct has `tokio::spawn`.
pub fn tokio_local_runtime(capacity: usize) -> Box<dyn LiveTasks> {
    Box::new(TokioLocalRuntimeLive {
        runtime: runtimes::tokio_local_runtime(),
        handles: Vec::with_capacity(capacity),
    })
}

fn tokio_local_runtime_batch<const N: usize>(live: &mut TokioLocalRuntimeLive, batch: usize) {
    let handles = &mut live.handles;
    live.runtime.block_on(async {
        for _ in 0..batch {
            handles.push(tokio::task::spawn_local(Pending::<N>::new()));
        }
        tokio::task::spawn_local(async {}).await.unwrap();
    });
}

impl LiveTasks for TokioLocalRuntimeLive {
    fn spawn_pending(&mut self, n: usize, future_bytes: usize) {
        for batch in batches(n) {
            by_size!(future_bytes, tokio_local_runtime_batch(self, batch));
        }
    }

    fn spawn_many_local(&mut self) {
        spawn_many_local::tokio_local_runtime(&mut self.runtime);
    }
}

// ----- async-executor ------------------------------------------------------

struct AsyncExecutorLive {
    runtime: AsyncExecutorLocal,
    handles: Vec<async_executor::Task<()>>,
}

/// async_executor_local: `ex.spawn` inside `ex.run`, then an empty task is
/// awaited (its queue is FIFO too).
pub fn async_executor_local(capacity: usize) -> Box<dyn LiveTasks> {
    Box::new(AsyncExecutorLive {
        runtime: AsyncExecutorLocal::new(),
        handles: Vec::with_capacity(capacity),
    })
}

fn async_executor_batch<const N: usize>(live: &mut AsyncExecutorLive, batch: usize) {
    let ex = live.runtime.ex.clone();
    let handles = &mut live.handles;
    live.runtime.block_on(async {
        for _ in 0..batch {
            handles.push(ex.spawn(Pending::<N>::new()));
        }
        ex.spawn(async {}).await;
    });
}

impl LiveTasks for AsyncExecutorLive {
    fn spawn_pending(&mut self, n: usize, future_bytes: usize) {
        for batch in batches(n) {
            by_size!(future_bytes, async_executor_batch(self, batch));
        }
    }

    fn spawn_many_local(&mut self) {
        spawn_many_local::async_executor_local(&mut self.runtime);
    }
}

// ----- futures LocalPool ---------------------------------------------------

struct LocalPoolLive {
    runtime: FuturesLocalPool,
}

/// futures_localpool: `spawn_local` (no handle), then `run_until_stalled`.
pub fn futures_localpool(_capacity: usize) -> Box<dyn LiveTasks> {
    Box::new(LocalPoolLive {
        runtime: FuturesLocalPool::new(),
    })
}

fn localpool_batch<const N: usize>(live: &mut LocalPoolLive, batch: usize) {
    for _ in 0..batch {
        live.runtime
            .spawner
            .spawn_local(Pending::<N>::new())
            .unwrap();
    }
    live.runtime.pool.run_until_stalled();
}

impl LiveTasks for LocalPoolLive {
    fn spawn_pending(&mut self, n: usize, future_bytes: usize) {
        for batch in batches(n) {
            by_size!(future_bytes, localpool_batch(self, batch));
        }
    }

    fn spawn_many_local(&mut self) {
        spawn_many_local::futures_localpool(&mut self.runtime);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_cover_n_exactly() {
        assert_eq!(batches(2_500).collect::<Vec<_>>(), [1_000, 1_000, 500]);
        assert_eq!(batches(0).count(), 0);
    }
}
