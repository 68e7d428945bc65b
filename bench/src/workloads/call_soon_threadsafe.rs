//! `call_soon_threadsafe_1p` and `_2p`: one or two producer threads each
//! submit callbacks to a loop running on its own thread. One operation = one
//! submitted callback; the time is the **producers'**: the time spent in
//! their send loops (the longest, when two run at once) over the callbacks
//! sent. The loop's draining is not timed; a fence callback at the end of
//! each iteration makes sure everything ran before the next one.
//!
//! This is the price a worker thread pays to hand work to the loop —
//! asyncio's `call_soon_threadsafe`. looplet's answer is one queue push plus a
//! wake syscall only when the loop sleeps (pitfall P2); its target is
//! at most 2.5 × the raw price of the queue: the workload's `raw` case
//! (`controls::crossbeam_producers`), the same producers sending the same
//! boxed closure over a crossbeam unbounded channel to a consumer thread,
//! sampled interleaved with the runtimes.
//!
//! The peers have no `call_soon_threadsafe`; they get the usual idiom: the
//! producers send boxed closures over an unbounded channel to one task on
//! the loop that runs them (tokio's `mpsc::unbounded_channel` for tokio,
//! `futures::channel::mpsc::unbounded` for the others). Each callback adds
//! its captured `u64` to a thread-local sum ([`consume`]).

use crate::common::{consume, Job, TIMEOUT};
use crate::loop_threads::{join_bounded, HelperThread, LoopletThread};
use crate::runtimes::{self, AsyncExecutorLocal, BlockOn, FuturesLocalPool, TokioLocalSet};
use crate::workloads::{controls, per_runtime, Workload};
use crate::{looplet, Case, Runner, WakeCounts};
use crossbeam_channel::{Receiver, Sender};
use futures::task::LocalSpawnExt;
use futures::StreamExt;
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// Callbacks per iteration, over all producers.
pub const CALLBACKS: u64 = 10_000;

/// One producer thread.
pub const ONE_PRODUCER: Workload = Workload {
    name: "call_soon_threadsafe_1p",
    unit: "call",
    cases: one_producer,
};

/// Two producer threads at once.
pub const TWO_PRODUCERS: Workload = Workload {
    name: "call_soon_threadsafe_2p",
    unit: "call",
    cases: two_producers,
};

fn one_producer() -> Vec<Case> {
    let mut cases = per_runtime(
        ONE_PRODUCER.name,
        CALLBACKS,
        [
            || looplet(1),
            || tokio_ct(1),
            || tokio_localset(1),
            || tokio_local_runtime(1),
            || async_executor_local(1),
            || futures_localpool(1),
        ],
    );
    cases.push(Case {
        workload: ONE_PRODUCER.name,
        runtime: runtimes::RAW,
        elements_per_iter: CALLBACKS,
        build: || controls::crossbeam_producers(1),
    });
    cases
}

fn two_producers() -> Vec<Case> {
    let mut cases = per_runtime(
        TWO_PRODUCERS.name,
        CALLBACKS,
        [
            || looplet(2),
            || tokio_ct(2),
            || tokio_localset(2),
            || tokio_local_runtime(2),
            || async_executor_local(2),
            || futures_localpool(2),
        ],
    );
    cases.push(Case {
        workload: TWO_PRODUCERS.name,
        runtime: runtimes::RAW,
        elements_per_iter: CALLBACKS,
        build: || controls::crossbeam_producers(2),
    });
    cases
}

/// How a producer hands a callback to the loop.
pub(crate) trait Submit: Clone + Send + 'static {
    /// Submits the measured callback, `consume(x)`.
    fn submit(&self, x: u64);
    /// Submits any job (the end-of-iteration fence).
    fn submit_job(&self, job: Job);
}

impl Submit for looplet::Handle {
    fn submit(&self, x: u64) {
        self.call_soon_threadsafe(move || consume(x)).unwrap();
    }
    fn submit_job(&self, job: Job) {
        self.call_soon_threadsafe(job).unwrap();
    }
}

impl Submit for tokio::sync::mpsc::UnboundedSender<Job> {
    fn submit(&self, x: u64) {
        self.send(Box::new(move || consume(x))).ok().unwrap();
    }
    fn submit_job(&self, job: Job) {
        self.send(job).ok().unwrap();
    }
}

impl Submit for futures::channel::mpsc::UnboundedSender<Job> {
    fn submit(&self, x: u64) {
        self.unbounded_send(Box::new(move || consume(x)))
            .ok()
            .unwrap();
    }
    fn submit_job(&self, job: Job) {
        self.unbounded_send(job).ok().unwrap();
    }
}

impl Submit for crossbeam_channel::Sender<Job> {
    fn submit(&self, x: u64) {
        self.send(Box::new(move || consume(x))).ok().unwrap();
    }
    fn submit_job(&self, job: Job) {
        self.send(job).ok().unwrap();
    }
}

/// Producer threads, started once: each waits for "send `n` callbacks",
/// sends them, and reports the time its send loop took.
struct Producers {
    go: Vec<Sender<u64>>,
    took: Receiver<Duration>,
    exited: Receiver<()>,
    threads: Vec<JoinHandle<()>>,
}

impl Producers {
    fn start<S: Submit>(count: usize, submit: &S) -> Self {
        let (took_tx, took) = crossbeam_channel::unbounded();
        let (exited_tx, exited) = crossbeam_channel::bounded::<()>(0);
        let mut go = Vec::with_capacity(count);
        let mut threads = Vec::with_capacity(count);
        for _ in 0..count {
            let (go_tx, go_rx) = crossbeam_channel::bounded::<u64>(1);
            let (submit, took_tx, exited_tx) = (submit.clone(), took_tx.clone(), exited_tx.clone());
            let thread = thread::Builder::new()
                .name("producer".into())
                .spawn(move || {
                    let _exited = exited_tx;
                    // Ends when the runner drops its `go` sender.
                    for n in go_rx {
                        let start = std::time::Instant::now();
                        for x in 0..n {
                            submit.submit(x);
                        }
                        took_tx.send(start.elapsed()).unwrap();
                    }
                })
                .expect("spawn a producer thread");
            go.push(go_tx);
            threads.push(thread);
        }
        Producers {
            go,
            took,
            exited,
            threads,
        }
    }

    /// Every producer sends its share of `total` callbacks at once; returns
    /// the longest send loop.
    fn round(&self, total: u64) -> Duration {
        let share = total / self.go.len() as u64;
        for go in &self.go {
            go.send(share).unwrap();
        }
        (0..self.go.len())
            .map(|_| {
                self.took
                    .recv_timeout(TIMEOUT)
                    .expect("bench: a producer did not finish")
            })
            .max()
            .unwrap_or_default()
    }
}

impl Drop for Producers {
    fn drop(&mut self) {
        self.go.clear(); // each producer's `for n in go_rx` ends
        let threads: Vec<_> = self.threads.drain(..).collect();
        join_bounded("producer", &self.exited, None);
        for thread in threads {
            let _ = thread.join();
        }
    }
}

/// The runner: producers, the submitter for the fence, and whatever owns
/// the loop (declared last: dropped after the producers and the fence
/// submitter have let go of the channel).
pub(crate) struct Submissions<S: Submit, L> {
    producers: Producers,
    fence: S,
    owner: L,
    wake_counts: fn(&L) -> Option<WakeCounts>,
}

impl<S: Submit, L: 'static> Submissions<S, L> {
    pub(crate) fn boxed(
        producers: usize,
        submit: S,
        owner: L,
        wake_counts: fn(&L) -> Option<WakeCounts>,
    ) -> Box<dyn Runner> {
        Box::new(Submissions {
            producers: Producers::start(producers, &submit),
            fence: submit,
            owner,
            wake_counts,
        })
    }

    /// Waits until the loop has run everything submitted so far.
    fn fence(&self) {
        let (ran, ran_rx) = crossbeam_channel::bounded(1);
        self.fence
            .submit_job(Box::new(move || ran.send(()).unwrap()));
        ran_rx
            .recv_timeout(TIMEOUT)
            .expect("bench: the loop did not drain its callbacks");
    }
}

impl<S: Submit, L: 'static> Runner for Submissions<S, L> {
    fn run(&mut self, iters: u64) -> Duration {
        let mut producing = Duration::ZERO;
        for _ in 0..iters {
            producing += self.producers.round(CALLBACKS);
            self.fence();
        }
        producing
    }

    fn wake_counts(&mut self) -> Option<WakeCounts> {
        (self.wake_counts)(&self.owner)
    }
}

fn no_counts<L>(_: &L) -> Option<WakeCounts> {
    None
}

fn looplet(producers: usize) -> Box<dyn Runner> {
    let event_loop = LoopletThread::start();
    let handle = event_loop.handle().clone();
    Submissions::boxed(producers, handle, event_loop, |l| Some(l.wake_counts()))
}

fn tokio_ct(producers: usize) -> Box<dyn Runner> {
    let (submit, mut jobs) = tokio::sync::mpsc::unbounded_channel::<Job>();
    let owner = HelperThread::start("tokio-ct", move || {
        let runtime = runtimes::tokio_ct();
        runtime.block_on(async {
            let consumer = tokio::spawn(async move {
                while let Some(job) = jobs.recv().await {
                    job();
                }
            });
            consumer.await.unwrap();
        });
    });
    Submissions::boxed(producers, submit, owner, no_counts)
}

fn tokio_localset(producers: usize) -> Box<dyn Runner> {
    let (submit, mut jobs) = tokio::sync::mpsc::unbounded_channel::<Job>();
    let owner = HelperThread::start("tokio-localset", move || {
        let mut runtime = TokioLocalSet::new();
        runtime.block_on(async {
            let consumer = tokio::task::spawn_local(async move {
                while let Some(job) = jobs.recv().await {
                    job();
                }
            });
            consumer.await.unwrap();
        });
    });
    Submissions::boxed(producers, submit, owner, no_counts)
}

/// The consumer is spawned with `spawn_local` where tokio_ct has
/// `tokio::spawn`: what `LocalRuntime`'s users write. The runtime is built
/// on its thread: it is `!Send`.
fn tokio_local_runtime(producers: usize) -> Box<dyn Runner> {
    let (submit, mut jobs) = tokio::sync::mpsc::unbounded_channel::<Job>();
    let owner = HelperThread::start("tokio-local-rt", move || {
        let runtime = runtimes::tokio_local_runtime();
        runtime.block_on(async {
            let consumer = tokio::task::spawn_local(async move {
                while let Some(job) = jobs.recv().await {
                    job();
                }
            });
            consumer.await.unwrap();
        });
    });
    Submissions::boxed(producers, submit, owner, no_counts)
}

fn async_executor_local(producers: usize) -> Box<dyn Runner> {
    let (submit, mut jobs) = futures::channel::mpsc::unbounded::<Job>();
    let owner = HelperThread::start("async-executor", move || {
        let mut runtime = AsyncExecutorLocal::new();
        let consumer = runtime.ex.spawn(async move {
            while let Some(job) = jobs.next().await {
                job();
            }
        });
        runtime.block_on(consumer);
    });
    Submissions::boxed(producers, submit, owner, no_counts)
}

fn futures_localpool(producers: usize) -> Box<dyn Runner> {
    let (submit, mut jobs) = futures::channel::mpsc::unbounded::<Job>();
    let owner = HelperThread::start("localpool", move || {
        let mut runtime = FuturesLocalPool::new();
        let consumer = runtime
            .spawner
            .spawn_local_with_handle(async move {
                while let Some(job) = jobs.next().await {
                    job();
                }
            })
            .unwrap();
        runtime.block_on(consumer);
    });
    Submissions::boxed(producers, submit, owner, no_counts)
}
