//! Shared helpers of `remote_submit`, `remote_stress` and `panic_matrix`:
//! a loop running on its own thread, drop probes, a gate future, panicking
//! destructors, and a panic hook that keeps deliberate panics quiet.
//!
//! Every wait in here is bounded: a bug fails a test, it never hangs it.
#![allow(dead_code)]

use looplet::{Builder, EventLoop, Handle, JoinError, RemoteHandle};
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, Once};
use std::task::{Context, Poll, Waker};
use std::thread::{self, ThreadId};
use std::time::Duration;

/// The bound on every cross-thread wait (Miri runs ~100× slower).
pub const WAIT: Duration = Duration::from_secs(if cfg!(miri) { 300 } else { 10 });

/// Scales a workload size down under Miri.
pub const fn scaled(normal: u64, under_miri: u64) -> u64 {
    if cfg!(miri) {
        under_miri
    } else {
        normal
    }
}

/// Every deliberate panic message starts with this (the quiet hook keys on it).
pub const MARK: &str = "deliberate";

// ----- outcomes ---------------------------------------------------------------

/// Waits (bounded) for a handle's outcome.
#[track_caller]
pub fn wait<T>(handle: &RemoteHandle<T>) -> Result<T, JoinError> {
    handle.wait_timeout(WAIT).expect("handle never resolved")
}

/// The outcome's variant, for assertions and counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Ok,
    Panicked,
    Cancelled,
    LoopClosed,
}

pub fn kind<T>(outcome: &Result<T, JoinError>) -> Kind {
    match outcome {
        Ok(_) => Kind::Ok,
        Err(JoinError::Panicked(_)) => Kind::Panicked,
        Err(JoinError::Cancelled) => Kind::Cancelled,
        Err(JoinError::LoopClosed) => Kind::LoopClosed,
    }
}

/// The message of a payload (`&str` or `String`), for assertions.
pub fn payload_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else if payload.is::<MyPayload>() {
        format!("{MARK}: MyPayload")
    } else {
        "<other payload>".to_string()
    }
}

/// A custom (non-string) panic payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MyPayload {
    pub code: u32,
}

// ----- a quiet panic hook -------------------------------------------------------

/// True if `payload` is one of ours (a deliberate panic of a test).
pub fn is_deliberate(payload: &(dyn std::any::Any + Send)) -> bool {
    payload.is::<MyPayload>() || payload_text(payload).contains(MARK)
}

/// Installs, once per test binary, a panic hook that stays silent for
/// deliberate panics and delegates every other panic (a failing assertion)
/// to the previous hook, so real failures stay readable.
pub fn quiet_deliberate_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !is_deliberate(info.payload()) {
                previous(info);
            }
        }));
    });
}

/// For the duration of its life, deliberate panics are silent; the previous
/// hook is restored on drop (also when the test fails).
pub struct QuietPanics {
    /// Puts the previous hook back. (A closure, so that the hook's argument
    /// type, renamed in Rust 1.81, is never spelled out.)
    restore: Option<Box<dyn FnOnce() + Send>>,
}

impl QuietPanics {
    pub fn install() -> Self {
        let previous = Arc::new(std::panic::take_hook());
        let delegate = Arc::clone(&previous);
        std::panic::set_hook(Box::new(move |info| {
            if !is_deliberate(info.payload()) {
                delegate(info);
            }
        }));
        let restore = move || {
            let _ours = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| previous(info)));
        };
        QuietPanics {
            restore: Some(Box::new(restore)),
        }
    }
}

impl Drop for QuietPanics {
    fn drop(&mut self) {
        // Restoring from a panicking thread is refused by std; the quiet hook
        // delegates everything else, so leaving it in place is harmless.
        if thread::panicking() {
            return;
        }
        if let Some(restore) = self.restore.take() {
            restore();
        }
    }
}

// ----- a loop on its own thread -----------------------------------------------

/// How the loop thread ended: `Ok` if `run` returned, `Err(message)` if it
/// unwound (the loop was then dropped by the unwinding).
pub type LoopExit = Result<(), String>;

/// An `EventLoop` running `run()` on its own thread. The loop lives inside a
/// `catch_unwind` closure: if `run` unwinds, the unwinding drops the loop.
/// After `run` returns, the loop is dropped on its thread.
pub struct LoopThread {
    pub handle: Handle,
    pub thread_id: ThreadId,
    exit: Receiver<LoopExit>,
    thread: Option<thread::JoinHandle<()>>,
    exited: Option<LoopExit>,
}

impl LoopThread {
    /// A default loop.
    pub fn start() -> Self {
        Self::with(EventLoop::builder)
    }

    /// A loop built on its thread from the builder `make` returns.
    pub fn with(make: impl FnOnce() -> Builder + Send + 'static) -> Self {
        let (handle_tx, handle_rx) = mpsc::channel();
        let (exit_tx, exit) = mpsc::channel();
        let thread = thread::Builder::new()
            .name("looplet-loop".into())
            .spawn(move || {
                let result = catch_unwind(AssertUnwindSafe(move || {
                    let mut event_loop = make().build().expect("build loop");
                    handle_tx
                        .send((event_loop.handle(), thread::current().id()))
                        .unwrap();
                    event_loop.run();
                    drop(event_loop);
                }));
                let _ = exit_tx.send(result.map_err(|p| payload_text(&*p)));
            })
            .expect("spawn loop thread");
        let (handle, thread_id) = handle_rx.recv_timeout(WAIT).expect("loop never started");
        LoopThread {
            handle,
            thread_id,
            exit,
            thread: Some(thread),
            exited: None,
        }
    }

    /// Waits (bounded) for the loop thread to end on its own; `None` if it
    /// is still running after `timeout`.
    pub fn exit_within(&mut self, timeout: Duration) -> Option<LoopExit> {
        if self.exited.is_none() {
            match self.exit.recv_timeout(timeout) {
                Ok(exit) => {
                    self.exited = Some(exit);
                    if let Some(thread) = self.thread.take() {
                        thread.join().expect("loop thread");
                    }
                }
                Err(RecvTimeoutError::Timeout) => return None,
                Err(RecvTimeoutError::Disconnected) => panic!("loop thread vanished"),
            }
        }
        self.exited.clone()
    }

    /// `Handle::stop`, then waits (bounded) until `run` returned and the loop
    /// was dropped.
    #[track_caller]
    pub fn stop_and_join(mut self) -> LoopExit {
        self.handle.stop();
        self.exit_within(WAIT).expect("loop thread did not stop")
    }
}

impl Drop for LoopThread {
    fn drop(&mut self) {
        // A failing test must not leave a loop thread behind (nor hang).
        if self.exited.is_none() {
            self.handle.stop();
            let _ = self.exit.recv_timeout(WAIT);
        }
    }
}

// ----- probes -------------------------------------------------------------------

/// Records how many times, and on which thread, something was dropped.
#[derive(Clone, Default)]
pub struct DropProbe {
    inner: Arc<ProbeInner>,
}

#[derive(Default)]
struct ProbeInner {
    drops: AtomicUsize,
    polls: AtomicUsize,
    thread: Mutex<Option<ThreadId>>,
    first_poll: Mutex<Option<mpsc::Sender<()>>>,
}

impl DropProbe {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn drops(&self) -> usize {
        self.inner.drops.load(SeqCst)
    }

    pub fn polls(&self) -> usize {
        self.inner.polls.load(SeqCst)
    }

    pub fn dropped_on(&self) -> Option<ThreadId> {
        *self.inner.thread.lock().unwrap()
    }

    /// A receiver that gets one message on the first poll.
    pub fn on_first_poll(&self) -> Receiver<()> {
        let (tx, rx) = mpsc::channel();
        *self.inner.first_poll.lock().unwrap() = Some(tx);
        rx
    }

    fn record_poll(&self) {
        self.inner.polls.fetch_add(1, SeqCst);
        if let Some(tx) = self.inner.first_poll.lock().unwrap().take() {
            let _ = tx.send(());
        }
    }

    fn record_drop(&self) {
        *self.inner.thread.lock().unwrap() = Some(thread::current().id());
        self.inner.drops.fetch_add(1, SeqCst);
    }
}

/// A future that completes when its gate opens (never, without a gate),
/// counting its polls and recording its drop; optionally panicking in its
/// `Drop`.
pub struct Probed<T> {
    probe: DropProbe,
    gate: Option<Gate>,
    value: Option<T>,
    panic_on_drop: bool,
}

impl<T> Probed<T> {
    /// Never completes.
    pub fn pending(probe: &DropProbe) -> Self {
        Probed {
            probe: probe.clone(),
            gate: None,
            value: None,
            panic_on_drop: false,
        }
    }

    /// Completes with `value` once `gate` is open (at once if it is).
    pub fn gated(probe: &DropProbe, gate: &Gate, value: T) -> Self {
        Probed {
            probe: probe.clone(),
            gate: Some(gate.clone()),
            value: Some(value),
            panic_on_drop: false,
        }
    }

    /// Completes with `value` at its first poll.
    pub fn ready(probe: &DropProbe, value: T) -> Self {
        Self::gated(probe, &Gate::opened(), value)
    }

    /// Its `Drop` panics (after recording the drop).
    pub fn panicking_on_drop(mut self) -> Self {
        self.panic_on_drop = true;
        self
    }
}

impl<T> Future for Probed<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let this = self.get_mut();
        this.probe.record_poll();
        match &this.gate {
            Some(gate) if gate.poll_open(cx) => {
                Poll::Ready(this.value.take().expect("polled after completion"))
            }
            _ => Poll::Pending,
        }
    }
}

// The value is only ever moved out of its `Option`, never pinned.
impl<T> Unpin for Probed<T> {}

impl<T> Drop for Probed<T> {
    fn drop(&mut self) {
        self.probe.record_drop();
        if self.panic_on_drop && !thread::panicking() {
            panic!("{MARK}: panic in a future's Drop");
        }
    }
}

// ----- a gate: a future that opens from any thread ------------------------------

/// A one-way latch: futures wait for it, any thread opens it.
#[derive(Clone, Default)]
pub struct Gate {
    state: Arc<Mutex<(bool, Vec<Waker>)>>,
}

impl Gate {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn opened() -> Self {
        let gate = Self::new();
        gate.open();
        gate
    }

    pub fn open(&self) {
        let wakers = {
            let mut state = self.state.lock().unwrap();
            state.0 = true;
            std::mem::take(&mut state.1)
        };
        for waker in wakers {
            waker.wake();
        }
    }

    pub fn is_open(&self) -> bool {
        self.state.lock().unwrap().0
    }

    /// True if open; otherwise registers `cx`'s waker.
    pub fn poll_open(&self, cx: &Context<'_>) -> bool {
        let mut state = self.state.lock().unwrap();
        if state.0 {
            return true;
        }
        if !state.1.iter().any(|w| w.will_wake(cx.waker())) {
            state.1.push(cx.waker().clone());
        }
        false
    }

    /// A future that completes once the gate is open.
    pub fn wait(&self) -> GateWait {
        GateWait { gate: self.clone() }
    }
}

/// The future of [`Gate::wait`].
pub struct GateWait {
    gate: Gate,
}

impl Future for GateWait {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.gate.poll_open(cx) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

/// A value whose `Drop` panics (after counting the drop).
pub struct PanicOnDrop {
    pub drops: Arc<AtomicUsize>,
}

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        self.drops.fetch_add(1, SeqCst);
        if !thread::panicking() {
            panic!("{MARK}: panic in a value's Drop");
        }
    }
}

/// Waits (bounded) for a message on `rx`.
#[track_caller]
pub fn recv<T>(rx: &Receiver<T>, what: &str) -> T {
    rx.recv_timeout(WAIT)
        .unwrap_or_else(|e| panic!("timed out waiting for {what}: {e}"))
}
