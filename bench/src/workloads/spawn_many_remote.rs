//! `spawn_many_remote_idle` and `spawn_many_remote_busy`: a foreign thread
//! spawns 1,000 empty tasks onto a loop running on its own thread, then
//! waits for every one of them. One operation = one task, end to end
//! (submit, wake the loop if needed, spawn, run, report back, join).
//!
//! This is the cross-thread seam: the injector queue, the wake of a loop
//! asleep in `epoll_wait`, and the handle that carries the result back.
//! Shape and size are tokio's `benches/rt_current_thread.rs`
//! (`spawn_many_remote_idle` / `_busy`, `NUM_SPAWN = 1_000`): submit all
//! through the runtime's handle, then await all the handles. There the
//! "remote" spawns come from the runtime's own thread while it is not
//! running; here they come from a real foreign thread while the loop runs
//! on its own, which is what `Handle::spawn` exists for.
//!
//! - **idle**: the loop has nothing else to do, so it is asleep in
//!   `epoll_wait` when the burst starts and must be woken.
//! - **busy**: the loop runs tokio's "busy" task — a task that spawns its
//!   successor and ends, forever — so it never sleeps: looplet's coalesced
//!   wake should make (almost) no syscall; tokio writes its eventfd on every
//!   remote spawn (`1.0` per submission). The spinner starts before the
//!   timed part of each `run` and stops after it, so that an idle runner
//!   never burns a core while the other runtimes are sampled.
//!
//! The foreign thread waits with each runtime's own means: looplet's
//! `RemoteHandle::wait_timeout`; for tokio's `JoinHandle`, a thread-parking
//! `block_on` ([`Parker`]). Only looplet, tokio_ct and tokio_local_runtime
//! can take spawns from a foreign thread (see [`crate::missing_reason`]):
//! tokio's `LocalRuntime` has a `Handle` like any tokio runtime, whose
//! `spawn` takes `Send` futures from any thread, so its foreign thread does
//! what tokio_ct's does; only its busy task, spawned on the runtime's own
//! thread, uses `spawn_local`.

use crate::common::{Parker, TIMEOUT};
use crate::loop_threads::{LoopletThread, TokioThread};
use crate::runtimes;
use crate::workloads::Workload;
use crate::{looplet, Case, Runner, WakeCounts};
use crossbeam_channel::{Receiver, Sender};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Tasks per iteration.
pub const NUM_SPAWN: usize = 1_000;

/// The idle variant.
pub const IDLE: Workload = Workload {
    name: "spawn_many_remote_idle",
    unit: "task",
    cases: idle_cases,
};

/// The busy variant.
pub const BUSY: Workload = Workload {
    name: "spawn_many_remote_busy",
    unit: "task",
    cases: busy_cases,
};

fn idle_cases() -> Vec<Case> {
    vec![
        Case {
            workload: IDLE.name,
            runtime: runtimes::LOOPLET,
            elements_per_iter: NUM_SPAWN as u64,
            build: || Box::new(LoopletRemote::new(false)),
        },
        Case {
            workload: IDLE.name,
            runtime: runtimes::TOKIO_CT,
            elements_per_iter: NUM_SPAWN as u64,
            build: || Box::new(TokioRemote::new(TokioThread::start(), None)),
        },
        Case {
            workload: IDLE.name,
            runtime: runtimes::TOKIO_LOCAL_RUNTIME,
            elements_per_iter: NUM_SPAWN as u64,
            build: || Box::new(TokioRemote::new(TokioThread::start_local(), None)),
        },
    ]
}

fn busy_cases() -> Vec<Case> {
    vec![
        Case {
            workload: BUSY.name,
            runtime: runtimes::LOOPLET,
            elements_per_iter: NUM_SPAWN as u64,
            build: || Box::new(LoopletRemote::new(true)),
        },
        Case {
            workload: BUSY.name,
            runtime: runtimes::TOKIO_CT,
            elements_per_iter: NUM_SPAWN as u64,
            build: || Box::new(TokioRemote::new(TokioThread::start(), Some(tokio_spin))),
        },
        Case {
            workload: BUSY.name,
            runtime: runtimes::TOKIO_LOCAL_RUNTIME,
            elements_per_iter: NUM_SPAWN as u64,
            build: || {
                Box::new(TokioRemote::new(
                    TokioThread::start_local(),
                    Some(tokio_local_spin),
                ))
            },
        },
    ]
}

/// The busy task's on/off switch, and its "I have stopped" signal.
struct Spinner {
    on: Arc<AtomicBool>,
    stopped: Receiver<()>,
    stopped_tx: Sender<()>,
}

impl Spinner {
    fn new() -> Self {
        let (stopped_tx, stopped) = crossbeam_channel::bounded(1);
        Spinner {
            on: Arc::new(AtomicBool::new(false)),
            stopped,
            stopped_tx,
        }
    }

    /// Switches on; returns what the first spinning task needs.
    fn switch_on(&self) -> (Arc<AtomicBool>, Sender<()>) {
        self.on.store(true, Relaxed);
        (self.on.clone(), self.stopped_tx.clone())
    }

    /// Switches off and waits for the chain of spinning tasks to end.
    fn switch_off(&self) {
        self.on.store(false, Relaxed);
        self.stopped
            .recv_timeout(TIMEOUT)
            .expect("bench: the busy task did not stop");
    }
}

/// tokio's busy task on looplet: spawn the next one, end.
fn looplet_spin(on: Arc<AtomicBool>, stopped: Sender<()>) {
    if on.load(Relaxed) {
        drop(looplet::spawn(async move { looplet_spin(on, stopped) }));
    } else {
        stopped.send(()).unwrap();
    }
}

/// tokio's busy task (`fn iter() { tokio::spawn(async { iter() }); }`).
fn tokio_spin(on: Arc<AtomicBool>, stopped: Sender<()>) {
    if on.load(Relaxed) {
        drop(tokio::spawn(async move { tokio_spin(on, stopped) }));
    } else {
        stopped.send(()).unwrap();
    }
}

/// The same busy task on tokio's `LocalRuntime`: `spawn_local` where
/// tokio_ct's has `tokio::spawn`, as `LocalRuntime`'s users write it.
fn tokio_local_spin(on: Arc<AtomicBool>, stopped: Sender<()>) {
    if on.load(Relaxed) {
        drop(tokio::task::spawn_local(async move {
            tokio_local_spin(on, stopped)
        }));
    } else {
        stopped.send(()).unwrap();
    }
}

/// A busy task: `tokio_spin` or `tokio_local_spin`.
type Spin = fn(Arc<AtomicBool>, Sender<()>);

struct LoopletRemote {
    event_loop: LoopletThread,
    spinner: Option<Spinner>,
}

impl LoopletRemote {
    fn new(busy: bool) -> Self {
        LoopletRemote {
            event_loop: LoopletThread::start(),
            spinner: busy.then(Spinner::new),
        }
    }
}

impl Runner for LoopletRemote {
    fn run(&mut self, iters: u64) -> Duration {
        let handle = self.event_loop.handle();
        if let Some(spinner) = &self.spinner {
            let (on, stopped) = spinner.switch_on();
            handle
                .call_soon_threadsafe(move || looplet_spin(on, stopped))
                .unwrap();
        }
        let start = Instant::now();
        for _ in 0..iters {
            let handles: Vec<_> = (0..NUM_SPAWN).map(|_| handle.spawn(async {})).collect();
            for remote in handles {
                remote
                    .wait_timeout(TIMEOUT)
                    .expect("bench: remote task not done in time")
                    .unwrap();
            }
        }
        let elapsed = start.elapsed();
        if let Some(spinner) = &self.spinner {
            spinner.switch_off();
        }
        elapsed
    }

    fn wake_counts(&mut self) -> Option<WakeCounts> {
        Some(self.event_loop.wake_counts())
    }
}

/// tokio_ct or tokio_local_runtime on its thread; for the busy variant,
/// the spinner and the busy task it starts.
struct TokioRemote {
    runtime: TokioThread,
    spinner: Option<(Spinner, Spin)>,
}

impl TokioRemote {
    /// Idle if `busy` is `None`; else `busy` is the runtime's busy task.
    fn new(runtime: TokioThread, busy: Option<Spin>) -> Self {
        TokioRemote {
            runtime,
            spinner: busy.map(|spin| (Spinner::new(), spin)),
        }
    }
}

impl Runner for TokioRemote {
    fn run(&mut self, iters: u64) -> Duration {
        let handle = self.runtime.handle();
        let parker = Parker::new();
        if let Some((spinner, spin)) = &self.spinner {
            let (on, stopped) = spinner.switch_on();
            let spin = *spin;
            // The first busy task comes from this (foreign) thread, so
            // through the handle; it spawns its successors on the runtime.
            drop(handle.spawn(async move { spin(on, stopped) }));
        }
        let start = Instant::now();
        for _ in 0..iters {
            let handles: Vec<_> = (0..NUM_SPAWN).map(|_| handle.spawn(async {})).collect();
            for join in handles {
                parker.block_on(join).unwrap();
            }
        }
        let elapsed = start.elapsed();
        if let Some((spinner, _)) = &self.spinner {
            spinner.switch_off();
        }
        elapsed
    }
}
