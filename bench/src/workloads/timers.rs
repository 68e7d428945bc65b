//! `timers`: 100,000 tasks each sleep 1 ms, then all are joined. One
//! operation = one timer (registered on the task's first poll, fired,
//! the task woken and finished).
//!
//! The timer structure under load: 100k concurrent deadlines inserted and
//! fired — looplet's heap against tokio's hierarchical wheel. The 1 ms
//! itself is a fixed cost per iteration (under 5% of it: registering 100k
//! timers takes longer than 1 ms on every runtime), the same for all.
//! The size is the project's own target shape (100k sleeps fired, per
//! timer); no peer benchmark has this shape (tokio's `benches/time_*` time single
//! operations). async-executor and LocalPool have no timers of their own
//! (see [`crate::missing_reason`]).

use crate::runtimes::{self, TokioLocalSet};
use crate::workloads::Workload;
use crate::{common::Timed, looplet, Case};
use std::time::Duration;

/// Timers per iteration.
pub const TIMERS: usize = 100_000;
/// How long each task sleeps.
pub const SLEEP: Duration = Duration::from_millis(1);

/// The workload.
pub const WORKLOAD: Workload = Workload {
    name: "timers",
    unit: "timer",
    cases,
};

fn cases() -> Vec<Case> {
    let case = |runtime, build| Case {
        workload: WORKLOAD.name,
        runtime,
        elements_per_iter: TIMERS as u64,
        build,
    };
    vec![
        case(runtimes::LOOPLET, || {
            Timed::boxed(runtimes::looplet(), looplet)
        }),
        case(runtimes::TOKIO_CT, || {
            Timed::boxed(runtimes::tokio_ct(), tokio_ct)
        }),
        case(runtimes::TOKIO_LOCALSET, || {
            Timed::boxed(TokioLocalSet::new(), tokio_localset)
        }),
        case(runtimes::TOKIO_LOCAL_RUNTIME, || {
            Timed::boxed(runtimes::tokio_local_runtime(), tokio_local_runtime)
        }),
    ]
}

fn looplet(rt: &mut looplet::EventLoop) {
    rt.block_on(async {
        let handles: Vec<_> = (0..TIMERS)
            .map(|_| looplet::spawn(looplet::sleep(SLEEP)))
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
    });
}

fn tokio_ct(rt: &mut tokio::runtime::Runtime) {
    rt.block_on(async {
        let handles: Vec<_> = (0..TIMERS)
            .map(|_| tokio::spawn(tokio::time::sleep(SLEEP)))
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
    });
}

fn tokio_localset(rt: &mut TokioLocalSet) {
    use crate::runtimes::BlockOn;
    rt.block_on(async {
        let handles: Vec<_> = (0..TIMERS)
            .map(|_| tokio::task::spawn_local(tokio::time::sleep(SLEEP)))
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
    });
}

/// `spawn_local` where tokio_ct has `tokio::spawn`: what `LocalRuntime`'s
/// users write. The same timer wheel as tokio_ct's.
fn tokio_local_runtime(rt: &mut tokio::runtime::LocalRuntime) {
    rt.block_on(async {
        let handles: Vec<_> = (0..TIMERS)
            .map(|_| tokio::task::spawn_local(tokio::time::sleep(SLEEP)))
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
    });
}
