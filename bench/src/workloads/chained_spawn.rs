//! `chained_spawn`: a chain of 1,000 tasks, each spawning the next and
//! finishing (detached: nobody joins them); the last one fires a oneshot.
//! One operation = one hop (spawn + poll + finish of one task).
//!
//! Unlike `spawn_many_local`, the run queue never holds more than one task,
//! so this is the latency of "spawn, get polled, finish" with a cold queue.
//! Shape and size are tokio's `benches/rt_multi_threaded.rs`
//! (`chained_spawn`, `ITER = 1_000`), run on one thread; the completion
//! signal is a `futures::channel::oneshot` in every runtime.

use crate::runtimes::{self, AsyncExecutorLocal, BlockOn, FuturesLocalPool, TokioLocalSet};
use crate::workloads::{per_runtime, Workload};
use crate::{common::Timed, looplet, Case};
use async_executor::LocalExecutor;
use futures::channel::oneshot;
use futures::executor::LocalSpawner;
use futures::task::LocalSpawnExt;
use std::rc::Rc;

/// Length of the chain.
pub const CHAIN_DEPTH: usize = 1_000;

/// The workload.
pub const WORKLOAD: Workload = Workload {
    name: "chained_spawn",
    unit: "hop",
    cases,
};

fn cases() -> Vec<Case> {
    per_runtime(
        WORKLOAD.name,
        CHAIN_DEPTH as u64,
        [
            || Timed::boxed(runtimes::looplet(), looplet),
            || Timed::boxed(runtimes::tokio_ct(), tokio_ct),
            || Timed::boxed(TokioLocalSet::new(), tokio_localset),
            || Timed::boxed(runtimes::tokio_local_runtime(), tokio_local_runtime),
            || Timed::boxed(AsyncExecutorLocal::new(), async_executor_local),
            || Timed::boxed(FuturesLocalPool::new(), futures_localpool),
        ],
    )
}

fn looplet(rt: &mut looplet::EventLoop) {
    fn hop(n: usize, done: oneshot::Sender<()>) {
        if n == 0 {
            done.send(()).unwrap();
        } else {
            // Dropping the JoinHandle detaches the task.
            drop(looplet::spawn(async move { hop(n - 1, done) }));
        }
    }
    rt.block_on(async {
        let (done, finished) = oneshot::channel();
        hop(CHAIN_DEPTH, done);
        finished.await.unwrap();
    });
}

fn tokio_ct(rt: &mut tokio::runtime::Runtime) {
    fn hop(n: usize, done: oneshot::Sender<()>) {
        if n == 0 {
            done.send(()).unwrap();
        } else {
            drop(tokio::spawn(async move { hop(n - 1, done) }));
        }
    }
    rt.block_on(async {
        let (done, finished) = oneshot::channel();
        hop(CHAIN_DEPTH, done);
        finished.await.unwrap();
    });
}

fn tokio_localset(rt: &mut TokioLocalSet) {
    fn hop(n: usize, done: oneshot::Sender<()>) {
        if n == 0 {
            done.send(()).unwrap();
        } else {
            drop(tokio::task::spawn_local(async move { hop(n - 1, done) }));
        }
    }
    rt.block_on(async {
        let (done, finished) = oneshot::channel();
        hop(CHAIN_DEPTH, done);
        finished.await.unwrap();
    });
}

/// `spawn_local` where tokio_ct has `tokio::spawn`: what `LocalRuntime`'s
/// users write.
fn tokio_local_runtime(rt: &mut tokio::runtime::LocalRuntime) {
    fn hop(n: usize, done: oneshot::Sender<()>) {
        if n == 0 {
            done.send(()).unwrap();
        } else {
            drop(tokio::task::spawn_local(async move { hop(n - 1, done) }));
        }
    }
    rt.block_on(async {
        let (done, finished) = oneshot::channel();
        hop(CHAIN_DEPTH, done);
        finished.await.unwrap();
    });
}

fn async_executor_local(rt: &mut AsyncExecutorLocal) {
    fn hop(ex: Rc<LocalExecutor<'static>>, n: usize, done: oneshot::Sender<()>) {
        if n == 0 {
            done.send(()).unwrap();
        } else {
            // An async-executor `Task` cancels when dropped: detach it.
            ex.clone()
                .spawn(async move { hop(ex, n - 1, done) })
                .detach();
        }
    }
    let ex = rt.ex.clone();
    rt.block_on(async {
        let (done, finished) = oneshot::channel();
        hop(ex, CHAIN_DEPTH, done);
        finished.await.unwrap();
    });
}

fn futures_localpool(rt: &mut FuturesLocalPool) {
    fn hop(spawner: LocalSpawner, n: usize, done: oneshot::Sender<()>) {
        if n == 0 {
            done.send(()).unwrap();
        } else {
            let next = spawner.clone();
            spawner
                .spawn_local(async move { hop(next, n - 1, done) })
                .unwrap();
        }
    }
    let spawner = rt.spawner.clone();
    rt.block_on(async {
        let (done, finished) = oneshot::channel();
        hop(spawner, CHAIN_DEPTH, done);
        finished.await.unwrap();
    });
}
