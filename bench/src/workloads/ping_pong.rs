//! `ping_pong`: 1,000 pairs of tasks; in each pair the pinger spawns a
//! ponger, sends it a `oneshot`, and waits for the answer on another.
//! One operation = one pair (two spawns, two oneshots, four wakes).
//!
//! A mix of spawning and waking through a channel — what request/response
//! code on one thread does. Shape and size are tokio's
//! `benches/rt_multi_threaded.rs` (`ping_pong`, `NUM_PINGS = 1_000`: a
//! driver task spawns the pingers, the last pinger to finish signals done).
//! The channels are `futures::channel::oneshot` in every runtime, so the
//! executors are compared, not their channels.

use crate::runtimes::{self, AsyncExecutorLocal, BlockOn, FuturesLocalPool, TokioLocalSet};
use crate::workloads::{per_runtime, Workload};
use crate::{common::Timed, looplet, Case};
use futures::channel::oneshot;
use futures::task::LocalSpawnExt;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

/// Pairs per iteration.
pub const NUM_PINGS: usize = 1_000;

/// The workload.
pub const WORKLOAD: Workload = Workload {
    name: "ping_pong",
    unit: "pair",
    cases,
};

fn cases() -> Vec<Case> {
    per_runtime(
        WORKLOAD.name,
        NUM_PINGS as u64,
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

/// What the pingers share: how many pairs are left, and the signal that the
/// last one fires (tokio's shape uses a counter and a channel the same way).
struct Remaining {
    pairs: AtomicUsize,
    done: Mutex<Option<oneshot::Sender<()>>>,
}

impl Remaining {
    fn new() -> (Arc<Remaining>, oneshot::Receiver<()>) {
        let (done, finished) = oneshot::channel();
        let remaining = Remaining {
            pairs: AtomicUsize::new(NUM_PINGS),
            done: Mutex::new(Some(done)),
        };
        (Arc::new(remaining), finished)
    }

    fn pair_finished(&self) {
        if self.pairs.fetch_sub(1, Relaxed) == 1 {
            let done = self.done.lock().unwrap().take().unwrap();
            done.send(()).unwrap();
        }
    }
}

fn looplet(rt: &mut looplet::EventLoop) {
    rt.block_on(async {
        let (remaining, finished) = Remaining::new();
        drop(looplet::spawn(async move {
            for _ in 0..NUM_PINGS {
                let remaining = remaining.clone();
                drop(looplet::spawn(async move {
                    let (ping, pinged) = oneshot::channel();
                    let (pong, ponged) = oneshot::channel();
                    drop(looplet::spawn(async move {
                        pinged.await.unwrap();
                        pong.send(()).unwrap();
                    }));
                    ping.send(()).unwrap();
                    ponged.await.unwrap();
                    remaining.pair_finished();
                }));
            }
        }));
        finished.await.unwrap();
    });
}

fn tokio_ct(rt: &mut tokio::runtime::Runtime) {
    rt.block_on(async {
        let (remaining, finished) = Remaining::new();
        drop(tokio::spawn(async move {
            for _ in 0..NUM_PINGS {
                let remaining = remaining.clone();
                drop(tokio::spawn(async move {
                    let (ping, pinged) = oneshot::channel();
                    let (pong, ponged) = oneshot::channel();
                    drop(tokio::spawn(async move {
                        pinged.await.unwrap();
                        pong.send(()).unwrap();
                    }));
                    ping.send(()).unwrap();
                    ponged.await.unwrap();
                    remaining.pair_finished();
                }));
            }
        }));
        finished.await.unwrap();
    });
}

fn tokio_localset(rt: &mut TokioLocalSet) {
    use tokio::task::spawn_local;
    rt.block_on(async {
        let (remaining, finished) = Remaining::new();
        drop(spawn_local(async move {
            for _ in 0..NUM_PINGS {
                let remaining = remaining.clone();
                drop(spawn_local(async move {
                    let (ping, pinged) = oneshot::channel();
                    let (pong, ponged) = oneshot::channel();
                    drop(spawn_local(async move {
                        pinged.await.unwrap();
                        pong.send(()).unwrap();
                    }));
                    ping.send(()).unwrap();
                    ponged.await.unwrap();
                    remaining.pair_finished();
                }));
            }
        }));
        finished.await.unwrap();
    });
}

/// `spawn_local` where tokio_ct has `tokio::spawn`: what `LocalRuntime`'s
/// users write.
fn tokio_local_runtime(rt: &mut tokio::runtime::LocalRuntime) {
    use tokio::task::spawn_local;
    rt.block_on(async {
        let (remaining, finished) = Remaining::new();
        drop(spawn_local(async move {
            for _ in 0..NUM_PINGS {
                let remaining = remaining.clone();
                drop(spawn_local(async move {
                    let (ping, pinged) = oneshot::channel();
                    let (pong, ponged) = oneshot::channel();
                    drop(spawn_local(async move {
                        pinged.await.unwrap();
                        pong.send(()).unwrap();
                    }));
                    ping.send(()).unwrap();
                    ponged.await.unwrap();
                    remaining.pair_finished();
                }));
            }
        }));
        finished.await.unwrap();
    });
}

fn async_executor_local(rt: &mut AsyncExecutorLocal) {
    let ex = rt.ex.clone();
    rt.block_on(async {
        let (remaining, finished) = Remaining::new();
        // An async-executor `Task` cancels when dropped: detach each one.
        let driver_ex = ex.clone();
        ex.spawn(async move {
            for _ in 0..NUM_PINGS {
                let remaining = remaining.clone();
                let pinger_ex = driver_ex.clone();
                driver_ex
                    .spawn(async move {
                        let (ping, pinged) = oneshot::channel();
                        let (pong, ponged) = oneshot::channel();
                        pinger_ex
                            .spawn(async move {
                                pinged.await.unwrap();
                                pong.send(()).unwrap();
                            })
                            .detach();
                        ping.send(()).unwrap();
                        ponged.await.unwrap();
                        remaining.pair_finished();
                    })
                    .detach();
            }
        })
        .detach();
        finished.await.unwrap();
    });
}

fn futures_localpool(rt: &mut FuturesLocalPool) {
    let spawner = rt.spawner.clone();
    rt.block_on(async {
        let (remaining, finished) = Remaining::new();
        let driver_spawner = spawner.clone();
        spawner
            .spawn_local(async move {
                for _ in 0..NUM_PINGS {
                    let remaining = remaining.clone();
                    let pinger_spawner = driver_spawner.clone();
                    driver_spawner
                        .spawn_local(async move {
                            let (ping, pinged) = oneshot::channel();
                            let (pong, ponged) = oneshot::channel();
                            pinger_spawner
                                .spawn_local(async move {
                                    pinged.await.unwrap();
                                    pong.send(()).unwrap();
                                })
                                .unwrap();
                            ping.send(()).unwrap();
                            ponged.await.unwrap();
                            remaining.pair_finished();
                        })
                        .unwrap();
                }
            })
            .unwrap();
        finished.await.unwrap();
    });
}
