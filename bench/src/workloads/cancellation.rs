//! `soft_cancel` and `cancel_and_wait`: stopping tasks and waiting for them
//! to end. One operation = one task stopped and its end seen.
//!
//! - `soft_cancel`: 1,000 tasks wait; each is asked to stop, then all are
//!   awaited. On looplet the request is soft (`JoinHandle::cancel`): each
//!   task wakes in `looplet::cancelled()` and returns by itself. The peers
//!   have no soft cancel, so they do the nearest thing they can, a hard
//!   cancel and a wait: tokio `abort()` then `.await`, async-executor
//!   `Task::cancel().await`.
//! - `cancel_and_wait`: the same 1,000 waiting tasks, stopped one at a time,
//!   each round trip complete (requested, seen, ended, reported to the
//!   waiter) before the next: looplet's `cancel_and_wait(grace)` (the task
//!   cleans up in time, so the grace never runs out) against tokio's
//!   `abort(); handle.await` and async-executor's `cancel().await`.
//!
//! async-executor's one way to stop a task and see it end is
//! `Task::cancel().await`, so its two rows run the same code: one task at a
//! time.
//!
//! futures' `LocalPool` has no way to cancel a spawned task and wait for its
//! end (dropping its `RemoteHandle` cancels without waiting).

use crate::common::Timed;
use crate::runtimes::{self, AsyncExecutorLocal, BlockOn, TokioLocalSet};
use crate::workloads::Workload;
use crate::{looplet, Case};
use std::future::pending;
use std::time::Duration;

/// Tasks per iteration.
pub const TASKS: usize = 1_000;

/// Long enough never to run out: the tasks end as soon as they are asked.
const GRACE: Duration = Duration::from_secs(60);

/// Ask all, then wait for all.
pub const SOFT_CANCEL: Workload = Workload {
    name: "soft_cancel",
    unit: "task",
    cases: soft_cancel_cases,
};

/// Ask one and wait for it, one after another.
pub const CANCEL_AND_WAIT: Workload = Workload {
    name: "cancel_and_wait",
    unit: "task",
    cases: cancel_and_wait_cases,
};

fn case(
    workload: &'static str,
    runtime: &'static str,
    build: fn() -> Box<dyn crate::Runner>,
) -> Case {
    Case {
        workload,
        runtime,
        elements_per_iter: TASKS as u64,
        build,
    }
}

fn soft_cancel_cases() -> Vec<Case> {
    let name = SOFT_CANCEL.name;
    vec![
        case(name, runtimes::LOOPLET, || {
            Timed::boxed(runtimes::looplet(), |rt| {
                rt.block_on(async {
                    let tasks: Vec<_> = (0..TASKS)
                        .map(|_| looplet::spawn(looplet::cancelled()))
                        .collect();
                    looplet::yield_now().await; // every task is waiting now
                    for task in &tasks {
                        task.cancel();
                    }
                    for task in tasks {
                        task.await.unwrap();
                    }
                })
            })
        }),
        case(name, runtimes::TOKIO_CT, || {
            Timed::boxed(runtimes::tokio_ct(), tokio_ct_abort::<ALL_THEN_WAIT>)
        }),
        case(name, runtimes::TOKIO_LOCALSET, || {
            Timed::boxed(TokioLocalSet::new(), tokio_localset_abort::<ALL_THEN_WAIT>)
        }),
        case(name, runtimes::TOKIO_LOCAL_RUNTIME, || {
            Timed::boxed(
                runtimes::tokio_local_runtime(),
                tokio_local_runtime_abort::<ALL_THEN_WAIT>,
            )
        }),
        case(name, runtimes::ASYNC_EXECUTOR_LOCAL, || {
            Timed::boxed(AsyncExecutorLocal::new(), async_executor_cancel_each)
        }),
    ]
}

fn cancel_and_wait_cases() -> Vec<Case> {
    let name = CANCEL_AND_WAIT.name;
    vec![
        case(name, runtimes::LOOPLET, || {
            Timed::boxed(runtimes::looplet(), |rt| {
                rt.block_on(async {
                    let tasks: Vec<_> = (0..TASKS)
                        .map(|_| looplet::spawn(looplet::cancelled()))
                        .collect();
                    looplet::yield_now().await;
                    for task in tasks {
                        task.cancel_and_wait(GRACE).await.unwrap();
                    }
                })
            })
        }),
        case(name, runtimes::TOKIO_CT, || {
            Timed::boxed(runtimes::tokio_ct(), tokio_ct_abort::<EACH_AND_WAIT>)
        }),
        case(name, runtimes::TOKIO_LOCALSET, || {
            Timed::boxed(TokioLocalSet::new(), tokio_localset_abort::<EACH_AND_WAIT>)
        }),
        case(name, runtimes::TOKIO_LOCAL_RUNTIME, || {
            Timed::boxed(
                runtimes::tokio_local_runtime(),
                tokio_local_runtime_abort::<EACH_AND_WAIT>,
            )
        }),
        case(name, runtimes::ASYNC_EXECUTOR_LOCAL, || {
            Timed::boxed(AsyncExecutorLocal::new(), async_executor_cancel_each)
        }),
    ]
}

/// async-executor's only way to stop a task and see it end, for both rows.
fn async_executor_cancel_each(rt: &mut AsyncExecutorLocal) {
    let ex = rt.ex.clone();
    rt.block_on(async {
        let tasks: Vec<_> = (0..TASKS).map(|_| ex.spawn(pending::<()>())).collect();
        looplet::yield_now().await;
        for task in tasks {
            assert!(task.cancel().await.is_none());
        }
    })
}

/// How tokio's side stops its tasks: all first, then waits for all (the
/// `soft_cancel` row), or one at a time, each waited for (`cancel_and_wait`).
const ALL_THEN_WAIT: bool = false;
/// See [`ALL_THEN_WAIT`].
const EACH_AND_WAIT: bool = true;

fn tokio_ct_abort<const ONE_AT_A_TIME: bool>(rt: &mut tokio::runtime::Runtime) {
    rt.block_on(async {
        let tasks = (0..TASKS).map(|_| tokio::spawn(pending::<()>())).collect();
        tokio_abort::<ONE_AT_A_TIME>(tasks).await
    })
}

fn tokio_localset_abort<const ONE_AT_A_TIME: bool>(rt: &mut TokioLocalSet) {
    rt.block_on(async {
        let tasks = (0..TASKS)
            .map(|_| tokio::task::spawn_local(pending::<()>()))
            .collect();
        tokio_abort::<ONE_AT_A_TIME>(tasks).await
    })
}

/// `spawn_local` where tokio_ct has `tokio::spawn`: what `LocalRuntime`'s
/// users write.
fn tokio_local_runtime_abort<const ONE_AT_A_TIME: bool>(rt: &mut tokio::runtime::LocalRuntime) {
    rt.block_on(async {
        let tasks = (0..TASKS)
            .map(|_| tokio::task::spawn_local(pending::<()>()))
            .collect();
        tokio_abort::<ONE_AT_A_TIME>(tasks).await
    })
}

/// Lets `tasks` start waiting, then aborts them and sees each end.
async fn tokio_abort<const ONE_AT_A_TIME: bool>(tasks: Vec<tokio::task::JoinHandle<()>>) {
    tokio::task::yield_now().await; // every task is waiting now
    if !ONE_AT_A_TIME {
        for task in &tasks {
            task.abort();
        }
    }
    for task in tasks {
        if ONE_AT_A_TIME {
            task.abort();
        }
        assert!(task.await.unwrap_err().is_cancelled());
    }
}
