//! The workloads, one module each, in the table's order.
//!
//! Each module implements its workload for every runtime that can do it,
//! side by side (same shape, each runtime's own spawn), and says in its docs
//! what it measures and which peer benchmark its shape comes from.
//!
//! [`timer_lateness`] is the one that is not timed: it records how late
//! each sleep ends, has no [`Case`]s, and is not in [`all`], so not in the
//! criterion bench either; the table command samples it by itself.

use crate::{runtimes, Case, Runner};

pub mod call_soon_threadsafe;
pub mod cancellation;
pub mod chained_spawn;
pub mod channel_ring;
pub mod controls;
pub mod hyper_hello;
pub mod live_spawn;
pub mod ping_pong;
pub mod remote_round_trip;
pub mod spawn_blocking;
pub mod spawn_many_local;
pub mod spawn_many_remote;
pub mod tcp_echo;
pub mod timer_lateness;
pub mod timers;
pub mod yield_many;

/// A workload: its name, what one operation is, and its cases.
#[derive(Debug, Clone, Copy)]
pub struct Workload {
    /// The name (a criterion group, a table row).
    pub name: &'static str,
    /// What one operation is ("task", "yield", …): the table says "ns/" + unit.
    pub unit: &'static str,
    /// Its cases, one per runtime that can do it.
    pub cases: fn() -> Vec<Case>,
}

/// Every workload, in the table's order: the executor workloads, the
/// cross-thread ones, timers, cancellation, the blocking pool, sockets
/// (echo, then an HTTP server),
/// spawn cost under many live tasks, then the controls (raw mechanisms, no
/// runtime).
pub fn all() -> Vec<Workload> {
    vec![
        spawn_many_local::WORKLOAD,
        spawn_many_local::TRACKED,
        chained_spawn::WORKLOAD,
        yield_many::WORKLOAD,
        ping_pong::WORKLOAD,
        channel_ring::WORKLOAD,
        spawn_many_remote::IDLE,
        spawn_many_remote::BUSY,
        call_soon_threadsafe::ONE_PRODUCER,
        call_soon_threadsafe::TWO_PRODUCERS,
        remote_round_trip::WORKLOAD,
        timers::WORKLOAD,
        cancellation::SOFT_CANCEL,
        cancellation::CANCEL_AND_WAIT,
        spawn_blocking::IDLE,
        spawn_blocking::IN_FLIGHT_100,
        tcp_echo::ONE_CONN,
        tcp_echo::CONNS_64,
        hyper_hello::WORKLOAD,
        live_spawn::AT_1K_LIVE,
        live_spawn::AT_1M_LIVE,
        controls::CROSSBEAM_SEND_RECV,
        controls::EVENTFD_EPOLL_PING_PONG,
        controls::FUTEX_PING_PONG,
    ]
}

/// The workload called `name`.
pub fn by_name(name: &str) -> Option<Workload> {
    all().into_iter().find(|w| w.name == name)
}

/// One case per runtime of [`runtimes::ALL`]; `builds` in that order.
pub(crate) fn per_runtime(
    workload: &'static str,
    elements_per_iter: u64,
    builds: [fn() -> Box<dyn Runner>; runtimes::ALL.len()],
) -> Vec<Case> {
    runtimes::ALL
        .into_iter()
        .zip(builds)
        .map(|(runtime, build)| Case {
            workload,
            runtime,
            elements_per_iter,
            build,
        })
        .collect()
}
