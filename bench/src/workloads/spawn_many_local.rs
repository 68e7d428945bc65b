//! `spawn_many_local`: spawn 1,000 empty tasks from inside the runtime, then
//! await every handle. One operation = one task (spawn, first poll, finish,
//! join).
//!
//! The cost of a task's whole life when nothing else is going on: the
//! allocation, the run queue, the join handle. Shape and size are tokio's
//! `benches/rt_current_thread.rs` (`spawn_many_local`, `NUM_SPAWN = 1_000`);
//! async-executor's `executor::spawn_many_local` is the same with 25,000.

use crate::runtimes::{self, AsyncExecutorLocal, BlockOn, FuturesLocalPool, TokioLocalSet};
use crate::workloads::{per_runtime, Workload};
use crate::{common::Timed, looplet, Case};
use futures::task::LocalSpawnExt;

/// Tasks per iteration.
pub const NUM_SPAWN: usize = 1_000;

/// The workload.
pub const WORKLOAD: Workload = Workload {
    name: "spawn_many_local",
    unit: "task",
    cases,
};

/// The same workload on a looplet loop built with `track_tasks(true)`
/// (every task's polls, last poll and spawn site recorded for
/// `EventLoop::tasks`): what the opt-in costs, next to tokio for the ratio.
/// The plain `spawn_many_local` row is the loop with tracking off.
pub const TRACKED: Workload = Workload {
    name: "spawn_many_local_tracked",
    unit: "task",
    cases: tracked_cases,
};

fn tracked_cases() -> Vec<Case> {
    let looplet_tracked = || {
        let tracked = looplet::EventLoop::builder()
            .track_tasks(true)
            .build()
            .expect("EventLoop::build");
        Timed::boxed(tracked, looplet)
    };
    vec![
        Case {
            workload: TRACKED.name,
            runtime: runtimes::LOOPLET,
            elements_per_iter: NUM_SPAWN as u64,
            build: looplet_tracked,
        },
        Case {
            workload: TRACKED.name,
            runtime: runtimes::TOKIO_CT,
            elements_per_iter: NUM_SPAWN as u64,
            build: || Timed::boxed(runtimes::tokio_ct(), tokio_ct),
        },
    ]
}

fn cases() -> Vec<Case> {
    per_runtime(
        WORKLOAD.name,
        NUM_SPAWN as u64,
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

/// One iteration on looplet (also used by [`live_spawn`](super::live_spawn)).
pub fn looplet(rt: &mut looplet::EventLoop) {
    rt.block_on(async {
        let handles: Vec<_> = (0..NUM_SPAWN).map(|_| looplet::spawn(async {})).collect();
        for handle in handles {
            handle.await.unwrap();
        }
    });
}

/// One iteration on tokio's current-thread runtime.
pub fn tokio_ct(rt: &mut tokio::runtime::Runtime) {
    rt.block_on(async {
        let handles: Vec<_> = (0..NUM_SPAWN).map(|_| tokio::spawn(async {})).collect();
        for handle in handles {
            handle.await.unwrap();
        }
    });
}

/// One iteration on a tokio `LocalSet`.
pub fn tokio_localset(rt: &mut TokioLocalSet) {
    rt.block_on(async {
        let handles: Vec<_> = (0..NUM_SPAWN)
            .map(|_| tokio::task::spawn_local(async {}))
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
    });
}

/// One iteration on tokio's `LocalRuntime`: `spawn_local` where tokio_ct
/// has `tokio::spawn`, since that is what its users write (it is the
/// runtime's reason to exist: `!Send` tasks without a `LocalSet`).
pub fn tokio_local_runtime(rt: &mut tokio::runtime::LocalRuntime) {
    rt.block_on(async {
        let handles: Vec<_> = (0..NUM_SPAWN)
            .map(|_| tokio::task::spawn_local(async {}))
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
    });
}

/// One iteration on async-executor's `LocalExecutor`.
pub fn async_executor_local(rt: &mut AsyncExecutorLocal) {
    let ex = rt.ex.clone();
    rt.block_on(async {
        let handles: Vec<_> = (0..NUM_SPAWN).map(|_| ex.spawn(async {})).collect();
        for handle in handles {
            handle.await;
        }
    });
}

/// One iteration on futures' `LocalPool`.
pub fn futures_localpool(rt: &mut FuturesLocalPool) {
    let spawner = rt.spawner.clone();
    rt.block_on(async {
        let handles: Vec<_> = (0..NUM_SPAWN)
            .map(|_| spawner.spawn_local_with_handle(async {}).unwrap())
            .collect();
        for handle in handles {
            handle.await;
        }
    });
}
