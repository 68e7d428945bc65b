//! `spawn_at_1k_live` and `spawn_at_1m_live`: [`spawn_many_local`] (spawn
//! 1,000 empty tasks, join them) on a runtime that already holds 1,000 —
//! resp. 1,000,000 — pending tasks. One operation = one task.
//!
//! Does the cost of a task grow with the number of tasks alive? It should
//! not: a slab insert, a queue push and a free-list pop are O(1). What does
//! grow is the working set: a million tasks no longer fit in the caches, so
//! the slab and the allocator touch colder memory. looplet's target: the cost at 1M live at most 1.5 × the cost at 1K. The pending
//! tasks are made by [`crate::live_tasks`] (trivial futures, handles kept);
//! building a runner with a million of them takes about a second.
//!
//! [`spawn_many_local`]: super::spawn_many_local

use crate::live_tasks::{self, LiveTasks};
use crate::workloads::{per_runtime, spawn_many_local::NUM_SPAWN, Workload};
use crate::Runner;
use std::time::{Duration, Instant};

/// With 1,000 pending tasks.
pub const AT_1K_LIVE: Workload = Workload {
    name: "spawn_at_1k_live",
    unit: "task",
    cases: || {
        per_runtime(
            AT_1K_LIVE.name,
            NUM_SPAWN as u64,
            [
                || with_live(live_tasks::looplet, 1_000),
                || with_live(live_tasks::tokio_ct, 1_000),
                || with_live(live_tasks::tokio_localset, 1_000),
                || with_live(live_tasks::tokio_local_runtime, 1_000),
                || with_live(live_tasks::async_executor_local, 1_000),
                || with_live(live_tasks::futures_localpool, 1_000),
            ],
        )
    },
};

/// With 1,000,000 pending tasks.
pub const AT_1M_LIVE: Workload = Workload {
    name: "spawn_at_1m_live",
    unit: "task",
    cases: || {
        per_runtime(
            AT_1M_LIVE.name,
            NUM_SPAWN as u64,
            [
                || with_live(live_tasks::looplet, 1_000_000),
                || with_live(live_tasks::tokio_ct, 1_000_000),
                || with_live(live_tasks::tokio_localset, 1_000_000),
                || with_live(live_tasks::tokio_local_runtime, 1_000_000),
                || with_live(live_tasks::async_executor_local, 1_000_000),
                || with_live(live_tasks::futures_localpool, 1_000_000),
            ],
        )
    },
};

struct WithLive(Box<dyn LiveTasks>);

fn with_live(build: fn(usize) -> Box<dyn LiveTasks>, live: usize) -> Box<dyn Runner> {
    let mut runtime = build(live);
    runtime.spawn_pending(live, 0);
    Box::new(WithLive(runtime))
}

impl Runner for WithLive {
    fn run(&mut self, iters: u64) -> Duration {
        let start = Instant::now();
        for _ in 0..iters {
            self.0.spawn_many_local();
        }
        start.elapsed()
    }
}
