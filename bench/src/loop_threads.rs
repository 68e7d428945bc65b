//! A runtime on a thread of its own, for the workloads whose work comes from
//! *another* thread: the loop thread runs the runtime until told to stop,
//! the measuring thread is the foreign one.
//!
//! Both kinds shut down cleanly on drop, and the drop waits for the thread
//! to end at most [`TIMEOUT`].
//!
//! ## Pinning the latency cases
//!
//! The round-trip workloads measure how fast one sleeping thread wakes
//! another. On this 2-vCPU VM that depends on where the scheduler puts the
//! two threads, and the placement sticks for a thread's life: on the same
//! CPU a round trip is ~8 µs (two context switches); across CPUs, when the
//! other vCPU is halted, it is ~100 µs (the hypervisor's wakeup), and one
//! runner could land in one mode while the next lands in the other — a
//! ratio of 12 between identical mechanisms. So the latency cases run their
//! timed loop on a [`CallerThread`] of their own and pin it *and* its
//! partner (the loop thread) to one CPU, [`latency_cpu`]: every case then
//! measures the same thing — the software path plus the OS's wakeup and
//! context switch — and the controls measure the OS part alone.

use crate::common::TIMEOUT;
use crate::{looplet, runtimes, WakeCounts};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// The CPU the latency cases are pinned to: the last one.
pub fn latency_cpu() -> usize {
    thread::available_parallelism().map_or(0, |n| n.get() - 1)
}

/// Pins the calling thread to `cpu`. If the OS refuses (a restricted
/// container), says so once and runs unpinned.
pub fn pin_current_thread(cpu: usize) {
    static WARNED: AtomicBool = AtomicBool::new(false);
    if !core_affinity::set_for_current(core_affinity::CoreId { id: cpu })
        && !WARNED.swap(true, Relaxed)
    {
        eprintln!("looplet-bench: could not pin threads to CPU {cpu}; latencies may be bimodal");
    }
}

/// Waits (bounded) for a helper thread to end: its `exited` sender is
/// dropped when its closure returns. Then joins it.
pub(crate) fn join_bounded(name: &str, exited: &Receiver<()>, thread: Option<JoinHandle<()>>) {
    match exited.recv_timeout(TIMEOUT) {
        Err(RecvTimeoutError::Disconnected) => {}
        Ok(()) | Err(RecvTimeoutError::Timeout) => {
            if !thread::panicking() {
                panic!("bench: the {name} thread did not end within {TIMEOUT:?}");
            }
            return; // leak it rather than hang
        }
    }
    if let Some(thread) = thread {
        if thread.join().is_err() && !thread::panicking() {
            panic!("bench: the {name} thread panicked");
        }
    }
}

enum Command {
    /// Reply with the loop's wake counters.
    Report(Sender<WakeCounts>),
    /// Leave the thread (dropping the loop).
    Quit,
}

/// A looplet [`EventLoop`](looplet::EventLoop) running (`run()`) on its own
/// thread. Other threads reach it through [`handle`](Self::handle).
///
/// Reading its metrics needs the `EventLoop`, which is `!Send` and busy in
/// `run()`: [`wake_counts`](Self::wake_counts) asks the thread to stop the
/// loop, read them, and run it again.
pub struct LoopletThread {
    handle: looplet::Handle,
    commands: Sender<Command>,
    exited: Receiver<()>,
    thread: Option<JoinHandle<()>>,
}

impl LoopletThread {
    /// Starts the thread and its loop; returns once the loop exists.
    pub fn start() -> Self {
        Self::start_on(None)
    }

    /// [`start`](Self::start), the loop thread pinned to `cpu` if given.
    pub fn start_on(cpu: Option<usize>) -> Self {
        let (handle_tx, handle_rx) = crossbeam_channel::bounded(1);
        let (commands, command_rx) = crossbeam_channel::unbounded::<Command>();
        let (exited_tx, exited) = crossbeam_channel::bounded::<()>(0);
        let thread = thread::Builder::new()
            .name("looplet-loop".into())
            .spawn(move || {
                let _exited = exited_tx;
                if let Some(cpu) = cpu {
                    pin_current_thread(cpu);
                }
                let mut event_loop = runtimes::looplet();
                handle_tx.send(event_loop.handle()).unwrap();
                loop {
                    event_loop.run();
                    match command_rx.try_recv() {
                        Ok(Command::Report(reply)) => {
                            let _ = reply.send(WakeCounts::of(&event_loop));
                        }
                        Ok(Command::Quit) | Err(TryRecvError::Disconnected) => break,
                        Err(TryRecvError::Empty) => {}
                    }
                }
            })
            .expect("spawn the loop thread");
        let handle = handle_rx
            .recv_timeout(TIMEOUT)
            .expect("bench: the looplet loop did not start");
        LoopletThread {
            handle,
            commands,
            exited,
            thread: Some(thread),
        }
    }

    /// The loop's handle (Send + Sync + Clone).
    pub fn handle(&self) -> &looplet::Handle {
        &self.handle
    }

    /// The loop's wake syscalls and remote submissions so far.
    pub fn wake_counts(&self) -> WakeCounts {
        let (reply, counts) = crossbeam_channel::bounded(1);
        self.commands.send(Command::Report(reply)).unwrap();
        self.handle.stop();
        counts
            .recv_timeout(TIMEOUT)
            .expect("bench: the looplet loop did not report its metrics")
    }
}

impl Drop for LoopletThread {
    fn drop(&mut self) {
        let _ = self.commands.send(Command::Quit);
        self.handle.stop();
        join_bounded("looplet loop", &self.exited, self.thread.take());
    }
}

impl fmt::Debug for LoopletThread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoopletThread")
            .field("handle", &self.handle)
            .finish_non_exhaustive()
    }
}

/// A tokio runtime driven on its own thread by `block_on(stop)`: the
/// current-thread runtime ([`runtimes::tokio_ct`]) or the `LocalRuntime`
/// ([`runtimes::tokio_local_runtime`]). Other threads spawn onto it through
/// [`handle`](Self::handle) — for both, `Handle::spawn` of a `Send` future,
/// the one way in from a foreign thread (`spawn_local` works only on the
/// runtime's own thread).
pub struct TokioThread {
    handle: tokio::runtime::Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    exited: Receiver<()>,
    thread: Option<JoinHandle<()>>,
}

impl TokioThread {
    /// Starts the thread; the runtime is built here and moved there.
    pub fn start() -> Self {
        Self::start_on(None)
    }

    /// [`start`](Self::start), the runtime's thread pinned to `cpu` if given.
    pub fn start_on(cpu: Option<usize>) -> Self {
        let runtime = runtimes::tokio_ct();
        Self::spawn("tokio-ct", cpu, move |stopped, handle_tx| {
            let runtime = runtime; // dropped before the thread's `_exited`
            handle_tx.send(runtime.handle().clone()).unwrap();
            runtime.block_on(async {
                let _ = stopped.await;
            });
        })
    }

    /// Starts the thread with tokio's `LocalRuntime` instead.
    pub fn start_local() -> Self {
        Self::start_local_on(None)
    }

    /// [`start_local`](Self::start_local), the runtime's thread pinned to
    /// `cpu` if given. A `LocalRuntime` is `!Send`, so it is built on the
    /// thread that drives it, which sends its handle back.
    pub fn start_local_on(cpu: Option<usize>) -> Self {
        Self::spawn("tokio-local-rt", cpu, |stopped, handle_tx| {
            let runtime = runtimes::tokio_local_runtime();
            handle_tx.send(runtime.handle().clone()).unwrap();
            runtime.block_on(async {
                let _ = stopped.await;
            });
        })
    }

    /// Starts a thread named `name` (pinned to `cpu` if given) running
    /// `drive(stopped, handle_tx)`: send the runtime's handle, then block on
    /// it until `stopped` fires. Returns once the handle has arrived.
    fn spawn(
        name: &str,
        cpu: Option<usize>,
        drive: impl FnOnce(tokio::sync::oneshot::Receiver<()>, Sender<tokio::runtime::Handle>)
            + Send
            + 'static,
    ) -> Self {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (handle_tx, handle_rx) = crossbeam_channel::bounded(1);
        let (exited_tx, exited) = crossbeam_channel::bounded::<()>(0);
        let thread = thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                let _exited = exited_tx;
                if let Some(cpu) = cpu {
                    pin_current_thread(cpu);
                }
                drive(stopped, handle_tx);
            })
            .expect("spawn the tokio thread");
        let handle = handle_rx
            .recv_timeout(TIMEOUT)
            .expect("bench: the tokio runtime did not start");
        TokioThread {
            handle,
            stop: Some(stop),
            exited,
            thread: Some(thread),
        }
    }

    /// The runtime's handle (Send + Sync + Clone).
    pub fn handle(&self) -> &tokio::runtime::Handle {
        &self.handle
    }
}

impl Drop for TokioThread {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        join_bounded("tokio", &self.exited, self.thread.take());
    }
}

impl fmt::Debug for TokioThread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokioThread").finish_non_exhaustive()
    }
}

/// A helper thread running `body` (typically: build a runtime, run a
/// consumer until its channel closes). Its owner makes `body` return (by
/// closing the channel) before dropping it; the drop then waits for the
/// thread at most [`TIMEOUT`].
pub struct HelperThread {
    name: &'static str,
    exited: Receiver<()>,
    thread: Option<JoinHandle<()>>,
}

impl HelperThread {
    /// Starts a thread named `name` running `body`.
    pub fn start(name: &'static str, body: impl FnOnce() + Send + 'static) -> Self {
        let (exited_tx, exited) = crossbeam_channel::bounded::<()>(0);
        let thread = thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                let _exited = exited_tx;
                body();
            })
            .expect("spawn a helper thread");
        HelperThread {
            name,
            exited,
            thread: Some(thread),
        }
    }
}

impl Drop for HelperThread {
    fn drop(&mut self) {
        join_bounded(self.name, &self.exited, self.thread.take());
    }
}

impl fmt::Debug for HelperThread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HelperThread")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// A thread that runs a case's timed loop, for cases whose caller side must
/// be a thread of their own (pinned, see the module docs). `make` builds the
/// caller's state *on* that thread; each `run(iters)` has the thread call
/// `iteration` `iters` times and report how long that took.
pub struct CallerThread {
    go: Option<Sender<u64>>,
    took: Receiver<Duration>,
    thread: HelperThread,
}

impl CallerThread {
    /// Starts the thread, pinned to `cpu`, and builds its state there.
    pub fn start<S: 'static>(
        cpu: usize,
        make: impl FnOnce() -> S + Send + 'static,
        iteration: fn(&mut S),
    ) -> Self {
        let (go, go_rx) = crossbeam_channel::bounded::<u64>(1);
        let (took_tx, took) = crossbeam_channel::bounded(1);
        let thread = HelperThread::start("caller", move || {
            pin_current_thread(cpu);
            let mut state = make();
            // Ends when the runner drops `go`; then `state` is dropped here.
            for iters in go_rx {
                let start = Instant::now();
                for _ in 0..iters {
                    iteration(&mut state);
                }
                took_tx.send(start.elapsed()).unwrap();
            }
        });
        CallerThread {
            go: Some(go),
            took,
            thread,
        }
    }

    /// Runs `iters` iterations on the caller thread; returns their time.
    pub fn run(&self, iters: u64) -> Duration {
        self.go.as_ref().unwrap().send(iters).unwrap();
        self.took
            .recv_timeout(TIMEOUT)
            .expect("bench: the caller thread did not finish its iterations")
    }
}

impl crate::Runner for CallerThread {
    fn run(&mut self, iters: u64) -> Duration {
        CallerThread::run(self, iters)
    }
}

impl Drop for CallerThread {
    fn drop(&mut self) {
        drop(self.go.take()); // the thread's loop ends; `self.thread` joins it
    }
}

impl fmt::Debug for CallerThread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallerThread")
            .field("thread", &self.thread)
            .finish_non_exhaustive()
    }
}
