//! `channel_ring`: 300 tasks in a ring of bounded channels of capacity one;
//! the root sends a token into the ring 300 times, each task receives it and
//! passes it on. One operation = one task step (receive + send: a wake of the
//! next task through a channel).
//!
//! Message passing between many tasks, each waking the next: the wake path
//! and the run queue under a steady one-at-a-time handoff. Shape and size
//! are async-executor's `benches/executor.rs` (`executor::channels`:
//! `TASKS = 300`, `STEPS = 300`, `async_channel::bounded(1)`). The channels
//! here are `futures::channel::mpsc::channel(0)` (capacity one per sender) in
//! every runtime, so the executors are compared, not their channels.

use crate::runtimes::{self, AsyncExecutorLocal, BlockOn, FuturesLocalPool, TokioLocalSet};
use crate::workloads::{per_runtime, Workload};
use crate::{common::Timed, looplet, Case};
use futures::channel::mpsc;
use futures::task::LocalSpawnExt;
use futures::{SinkExt, StreamExt};
use std::future::Future;

/// Tasks in the ring.
pub const TASKS: usize = 300;
/// Times the token goes round.
pub const STEPS: usize = 300;

/// The workload.
pub const WORKLOAD: Workload = Workload {
    name: "channel_ring",
    unit: "step",
    cases,
};

fn cases() -> Vec<Case> {
    per_runtime(
        WORKLOAD.name,
        (TASKS * STEPS) as u64,
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

/// The ring, runtime-neutral: `spawn` is given each task's future (a ring
/// member) and returns something to await for its end; the returned future
/// drives the token round the ring `STEPS` times, then joins the members.
/// (The members are boxed `Send` futures, so one builder serves every
/// runtime; the box and its dynamic call are the same for all.)
async fn ring<J: Future>(mut spawn: impl FnMut(Member) -> J) {
    let (mut first_send, first_recv) = mpsc::channel::<()>(0);
    let mut current_recv = first_recv;
    let mut members = Vec::with_capacity(TASKS);
    for _ in 0..TASKS {
        let (next_send, next_recv) = mpsc::channel(0);
        let recv = std::mem::replace(&mut current_recv, next_recv);
        members.push(spawn(member(recv, next_send)));
    }
    for _ in 0..STEPS {
        first_send.send(()).await.unwrap();
        current_recv.next().await.unwrap();
    }
    for member in members {
        member.await;
    }
}

/// A ring member's future.
type Member = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

/// One ring member: receive the token, pass it on, `STEPS` times.
fn member(mut recv: mpsc::Receiver<()>, mut send: mpsc::Sender<()>) -> Member {
    Box::pin(async move {
        for _ in 0..STEPS {
            recv.next().await.unwrap();
            send.send(()).await.unwrap();
        }
    })
}

// Each `spawn` closure spawns at once and returns the join to await later.

fn looplet(rt: &mut looplet::EventLoop) {
    rt.block_on(ring(|m| {
        let handle = looplet::spawn(m);
        async { handle.await.unwrap() }
    }));
}

fn tokio_ct(rt: &mut tokio::runtime::Runtime) {
    rt.block_on(ring(|m| {
        let handle = tokio::spawn(m);
        async { handle.await.unwrap() }
    }));
}

fn tokio_localset(rt: &mut TokioLocalSet) {
    rt.block_on(ring(|m| {
        let handle = tokio::task::spawn_local(m);
        async { handle.await.unwrap() }
    }));
}

/// `spawn_local` where tokio_ct has `tokio::spawn`: what `LocalRuntime`'s
/// users write.
fn tokio_local_runtime(rt: &mut tokio::runtime::LocalRuntime) {
    rt.block_on(ring(|m| {
        let handle = tokio::task::spawn_local(m);
        async { handle.await.unwrap() }
    }));
}

fn async_executor_local(rt: &mut AsyncExecutorLocal) {
    let ex = rt.ex.clone();
    rt.block_on(ring(|m| ex.spawn(m)));
}

fn futures_localpool(rt: &mut FuturesLocalPool) {
    let spawner = rt.spawner.clone();
    rt.block_on(ring(|m| spawner.spawn_local_with_handle(m).unwrap()));
}
