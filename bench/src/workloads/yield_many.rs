//! `yield_many`: 200 tasks each yield 1,000 times, then all are joined.
//! One operation = one yield (wake yourself, go to the back of the queue,
//! get polled again).
//!
//! The scheduler's hot loop with a full run queue: no allocation, only
//! wake → enqueue → dequeue → poll. Shape and size are tokio's
//! `benches/rt_multi_threaded.rs` (`yield_many`: `TASKS = 200`,
//! `NUM_YIELD = 1_000`); async-executor's `executor::yield_now` is the same
//! with 300 × 300. Each runtime yields with its own `yield_now` where it has
//! one (`looplet::yield_now`, `tokio::task::yield_now` — which defers the
//! wake to the driver's next turn, a real part of tokio's cost). The two
//! without one use `looplet::yield_now` too: it is runtime-neutral (it wakes
//! its own waker and returns `Pending` once; it needs no looplet loop), so
//! they run exactly the code looplet's tasks run.

use crate::common::Timed;
use crate::runtimes::{self, AsyncExecutorLocal, BlockOn, FuturesLocalPool, TokioLocalSet};
use crate::workloads::{per_runtime, Workload};
use crate::{looplet, Case};
use futures::task::LocalSpawnExt;

/// Tasks per iteration.
pub const TASKS: usize = 200;
/// Yields per task.
pub const NUM_YIELD: usize = 1_000;

/// The workload.
pub const WORKLOAD: Workload = Workload {
    name: "yield_many",
    unit: "yield",
    cases,
};

fn cases() -> Vec<Case> {
    per_runtime(
        WORKLOAD.name,
        (TASKS * NUM_YIELD) as u64,
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
    rt.block_on(async {
        let handles: Vec<_> = (0..TASKS)
            .map(|_| {
                looplet::spawn(async {
                    for _ in 0..NUM_YIELD {
                        looplet::yield_now().await;
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
    });
}

fn tokio_ct(rt: &mut tokio::runtime::Runtime) {
    rt.block_on(async {
        let handles: Vec<_> = (0..TASKS)
            .map(|_| {
                tokio::spawn(async {
                    for _ in 0..NUM_YIELD {
                        tokio::task::yield_now().await;
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
    });
}

fn tokio_localset(rt: &mut TokioLocalSet) {
    rt.block_on(async {
        let handles: Vec<_> = (0..TASKS)
            .map(|_| {
                tokio::task::spawn_local(async {
                    for _ in 0..NUM_YIELD {
                        tokio::task::yield_now().await;
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
    });
}

/// `spawn_local` where tokio_ct has `tokio::spawn`: what `LocalRuntime`'s
/// users write.
fn tokio_local_runtime(rt: &mut tokio::runtime::LocalRuntime) {
    rt.block_on(async {
        let handles: Vec<_> = (0..TASKS)
            .map(|_| {
                tokio::task::spawn_local(async {
                    for _ in 0..NUM_YIELD {
                        tokio::task::yield_now().await;
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
    });
}

fn async_executor_local(rt: &mut AsyncExecutorLocal) {
    let ex = rt.ex.clone();
    rt.block_on(async {
        let handles: Vec<_> = (0..TASKS)
            .map(|_| {
                ex.spawn(async {
                    for _ in 0..NUM_YIELD {
                        looplet::yield_now().await;
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.await;
        }
    });
}

fn futures_localpool(rt: &mut FuturesLocalPool) {
    let spawner = rt.spawner.clone();
    rt.block_on(async {
        let handles: Vec<_> = (0..TASKS)
            .map(|_| {
                spawner
                    .spawn_local_with_handle(async {
                        for _ in 0..NUM_YIELD {
                            looplet::yield_now().await;
                        }
                    })
                    .unwrap()
            })
            .collect();
        for handle in handles {
            handle.await;
        }
    });
}
