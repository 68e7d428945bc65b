//! Counters that make the loop's behaviour visible.
//!
//! They exist to *show* things a reader would otherwise have to take on
//! trust: that `call_soon` never makes a syscall, that a burst of
//! `call_soon_threadsafe` against a busy loop makes almost none, that a stale
//! waker causes no extra poll. Most are loop-thread `Cell`s in `Counters`
//! below; the others live elsewhere and are read when a snapshot is taken:
//! `local_wakes` in the ready queue (the waker crate counts them),
//! `wake_syscalls` in the injector (producers on any thread bump it),
//! `tasks_alive`, which is the size of the task slab, and the `blocking_`
//! counters, which the blocking pool keeps under its lock.

use std::cell::Cell;

/// A snapshot of the loop's counters, from [`EventLoop::metrics`](crate::EventLoop::metrics).
///
/// ```
/// # use looplet_executor as looplet;
/// use std::time::Duration;
/// let mut event_loop = looplet::EventLoop::new()?;
/// let handle = event_loop.handle();
/// handle.call_soon_threadsafe(|| ()).unwrap(); // the loop is not running: one wake
/// handle.call_soon_threadsafe(|| ()).unwrap(); // woken already: no second syscall
/// event_loop.turn(Some(Duration::ZERO));
/// let m = event_loop.metrics();
/// assert_eq!((m.call_soon_threadsafe, m.wake_syscalls), (2, 1));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metrics {
    /// Tasks spawned: local ones when spawned, remote ones when the loop
    /// takes their submission from the injector.
    pub tasks_spawned: u64,
    /// Tasks in the loop's slab: spawned and not yet finished, plus
    /// finished ones whose outcome a live `JoinHandle` has not collected yet.
    pub tasks_alive: u64,
    /// Task polls (a remote task's poll that only finds it cancelled counts
    /// too).
    pub polls: u64,
    /// Wakes that took the same-thread path (no lock, no syscall).
    pub local_wakes: u64,
    /// Wakes that came through the injector (another thread, or between driving calls).
    pub remote_wakes: u64,
    /// `call_soon` calls (loop thread).
    pub call_soon: u64,
    /// `call_soon_threadsafe` calls that reached the loop.
    pub call_soon_threadsafe: u64,
    /// Tasks submitted with `Handle::spawn`/`spawn_with` that reached the loop.
    pub remote_spawns: u64,
    /// Times the wake fd was written (`mio::Waker::wake`), by anyone.
    pub wake_syscalls: u64,
    /// Times the loop slept in `Poll::poll`.
    pub sleeps: u64,
    /// Loop iterations.
    pub turns: u64,
    /// Panics caught in tasks and callbacks.
    pub panics: u64,
    /// Callbacks run (`call_soon`, `call_later`, `call_soon_threadsafe`).
    pub callbacks_run: u64,
    /// Timers fired.
    pub timers_fired: u64,
    /// Task polls longer than `Builder::slow_poll_threshold` (0 when unset).
    pub slow_polls: u64,
    /// Jobs submitted to the blocking pool (`spawn_blocking`).
    pub blocking_jobs: u64,
    /// Blocking pool threads alive now (busy or idle).
    pub blocking_threads_alive: u64,
    /// Blocking pool threads running a job now.
    pub blocking_threads_busy: u64,
    /// Blocking jobs waiting for a thread now.
    pub blocking_jobs_queued: u64,
    /// Blocking jobs given up on while they ran (`BlockingHandle::abandon`).
    pub blocking_jobs_abandoned: u64,
}

/// The live counters behind [`Metrics`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub tasks_spawned: Cell<u64>,
    pub polls: Cell<u64>,
    pub remote_wakes: Cell<u64>,
    pub call_soon: Cell<u64>,
    pub call_soon_threadsafe: Cell<u64>,
    pub remote_spawns: Cell<u64>,
    pub sleeps: Cell<u64>,
    pub turns: Cell<u64>,
    pub panics: Cell<u64>,
    pub callbacks_run: Cell<u64>,
    pub timers_fired: Cell<u64>,
    pub slow_polls: Cell<u64>,
}

/// `counter += 1` for a `Cell<u64>`.
pub(crate) fn bump(counter: &Cell<u64>) {
    counter.set(counter.get() + 1);
}
