//! Helpers shared by the integration tests: an order recorder, drop guards,
//! a counting waker, a poll-counting future, a gate whose waker can be taken
//! out and woken from anywhere, and bounded ways to drive a loop.
#![allow(dead_code)]

use looplet::EventLoop;
use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

/// Generous bound for anything that should happen "soon": a bug fails the
/// test after this long instead of hanging it.
pub const BOUND: Duration = Duration::from_secs(10);

// ----- Trace ---------------------------------------------------------------

/// See [`Trace::on_drop`].
pub struct RecordOnDrop(Option<Box<dyn FnOnce() + Send>>);

impl Drop for RecordOnDrop {
    fn drop(&mut self) {
        if let Some(record) = self.0.take() {
            record();
        }
    }
}

/// Records events in the order they happen: the test's own (`push`,
/// `recorder`), and the loop's own — a task's polls (`traced`), a wake-hook
/// call (`wake_hook`, on whichever thread wakes the loop), and, for a turn
/// driven through [`Trace::turn`], whether the loop slept in it. So a test
/// can assert the exact sequence, loop and user events interleaved.
///
/// The loop's events are recorded as `"turn"`, `"slept"`, `"wake hook"`,
/// `"poll <label>"` and `"<label> done"`.
#[derive(Clone, Default)]
pub struct Trace(Arc<Mutex<Vec<String>>>);

impl Trace {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&self, event: impl Into<String>) {
        self.0.lock().unwrap().push(event.into());
    }

    /// A callback that records `event` when called.
    pub fn recorder(&self, event: impl Into<String>) -> impl FnOnce() + Send + 'static {
        let trace = self.clone();
        let event = event.into();
        move || trace.push(event)
    }

    /// A loop whose wake hook records `"wake hook"` in this trace.
    pub fn event_loop(&self) -> EventLoop {
        EventLoop::builder()
            .wake_hook(self.wake_hook())
            .build()
            .unwrap()
    }

    /// A wake hook (`Builder::wake_hook`) that records `"wake hook"`.
    pub fn wake_hook(&self) -> impl Fn() + Send + Sync + 'static {
        let trace = self.clone();
        move || trace.push("wake hook")
    }

    /// `future`, recording `"poll <label>"` at each of its polls and
    /// `"<label> done"` when it completes.
    pub fn traced<F: Future>(&self, label: &str, future: F) -> impl Future<Output = F::Output> {
        let trace = self.clone();
        let label = label.to_string();
        let mut future = Box::pin(future);
        std::future::poll_fn(move |cx| {
            trace.push(format!("poll {label}"));
            let polled = future.as_mut().poll(cx);
            if polled.is_ready() {
                trace.push(format!("{label} done"));
            }
            polled
        })
    }

    /// A value that records `event` when it is dropped: put it in a future
    /// to see when the future's destructors run.
    pub fn on_drop(&self, event: impl Into<String>) -> RecordOnDrop {
        RecordOnDrop(Some(Box::new(self.recorder(event))))
    }

    /// `event_loop.turn(timeout)`, recorded as `"turn"`, followed by
    /// `"slept"` if the loop slept in it. A turn sleeps at most once, and
    /// before it runs anything, so `"slept"` goes right after `"turn"`,
    /// before the polls the turn made.
    pub fn turn(&self, event_loop: &mut EventLoop, timeout: Option<Duration>) -> looplet::Tick {
        let at = {
            let mut events = self.0.lock().unwrap();
            events.push("turn".into());
            events.len()
        };
        let sleeps = event_loop.metrics().sleeps;
        let tick = event_loop.turn(timeout);
        if event_loop.metrics().sleeps > sleeps {
            self.0.lock().unwrap().insert(at, "slept".into());
        }
        tick
    }

    pub fn events(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    pub fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.lock().unwrap().is_empty()
    }

    /// Asserts the exact sequence recorded so far.
    #[track_caller]
    pub fn assert(&self, expected: &[&str]) {
        assert_eq!(self.events(), expected, "unexpected event order");
    }
}

// ----- drop guards ---------------------------------------------------------

/// Sets its flag when dropped. `Send`, so it can ride in remote futures.
#[derive(Debug)]
pub struct DropGuard(Arc<AtomicBool>);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Observes whether the matching [`DropGuard`] has been dropped.
#[derive(Debug, Clone)]
pub struct DropFlag(Arc<AtomicBool>);

impl DropFlag {
    pub fn is_dropped(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

pub fn drop_guard() -> (DropGuard, DropFlag) {
    let flag = Arc::new(AtomicBool::new(false));
    (DropGuard(Arc::clone(&flag)), DropFlag(flag))
}

// ----- wakers --------------------------------------------------------------

/// A waker that counts its wakes.
#[derive(Debug, Default)]
pub struct CountingWaker {
    wakes: AtomicUsize,
}

impl CountingWaker {
    pub fn wakes(&self) -> usize {
        self.wakes.load(Ordering::SeqCst)
    }
}

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
    }
}

pub fn counting_waker() -> (Waker, Arc<CountingWaker>) {
    let counter = Arc::new(CountingWaker::default());
    (Waker::from(Arc::clone(&counter)), counter)
}

/// Polls `future` once with a no-op waker.
pub fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    let (waker, _) = counting_waker();
    Pin::new(future).poll(&mut Context::from_waker(&waker))
}

// ----- futures -------------------------------------------------------------

/// Wraps a future and counts how often it is polled.
pub struct Counted<F> {
    inner: Pin<Box<F>>,
    polls: Arc<AtomicUsize>,
}

/// Returns the wrapped future and a handle to its poll count.
pub fn counted<F: Future>(future: F) -> (Counted<F>, PollCount) {
    let polls = Arc::new(AtomicUsize::new(0));
    (
        Counted {
            inner: Box::pin(future),
            polls: Arc::clone(&polls),
        },
        PollCount(polls),
    )
}

#[derive(Debug, Clone)]
pub struct PollCount(Arc<AtomicUsize>);

impl PollCount {
    pub fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl<F: Future> Future for Counted<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        self.inner.as_mut().poll(cx)
    }
}

/// A one-shot gate: [`wait`](Gate::wait) is pending until [`open`](Gate::open)
/// is called (from any thread). It keeps the waker of its latest poll, which
/// tests can take out and wake by hand.
#[derive(Clone, Default)]
pub struct Gate(Arc<GateInner>);

#[derive(Default)]
struct GateInner {
    open: AtomicBool,
    waker: Mutex<Option<Waker>>,
    polled: AtomicUsize,
}

impl Gate {
    pub fn new() -> Self {
        Self::default()
    }

    /// Opens the gate and wakes whoever waits on it.
    pub fn open(&self) {
        self.0.open.store(true, Ordering::SeqCst);
        let waker = self.0.waker.lock().unwrap().take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Opens the gate *without* waking anyone.
    pub fn open_silently(&self) {
        self.0.open.store(true, Ordering::SeqCst);
    }

    /// The waker of the latest poll, if any.
    pub fn waker(&self) -> Option<Waker> {
        self.0.waker.lock().unwrap().clone()
    }

    /// How many times a `wait` future of this gate was polled.
    pub fn polls(&self) -> usize {
        self.0.polled.load(Ordering::SeqCst)
    }

    /// Pending until the gate is open.
    pub fn wait(&self) -> impl Future<Output = ()> + Send + 'static {
        let inner = Arc::clone(&self.0);
        std::future::poll_fn(move |cx| {
            inner.polled.fetch_add(1, Ordering::SeqCst);
            // Store the waker *before* looking at the flag: an `open` racing
            // this poll then either is seen here or finds the waker.
            *inner.waker.lock().unwrap() = Some(cx.waker().clone());
            if inner.open.load(Ordering::SeqCst) {
                return Poll::Ready(());
            }
            Poll::Pending
        })
    }
}

// ----- driving a loop ------------------------------------------------------

/// Waits (sleeping briefly between checks) until `cond()` or `limit` passes.
/// Returns whether `cond()` became true.
pub fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// `event_loop.block_on(future)`, failing the test instead of hanging it
/// when `future` is not done within [`BOUND`].
#[track_caller]
pub fn block_on_bounded<F: Future>(event_loop: &mut EventLoop, future: F) -> F::Output {
    event_loop
        .block_on(looplet::timeout(BOUND, future))
        .expect("did not finish within the test's bound")
}

/// Takes turns (each waiting at most a few ms) until `done()` or `limit`
/// passes. Returns whether `done()` became true.
pub fn turn_until(
    event_loop: &mut EventLoop,
    limit: Duration,
    mut done: impl FnMut() -> bool,
) -> bool {
    let end = Instant::now() + limit;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        event_loop.turn(Some(Duration::from_millis(5)));
    }
}

/// The text of a panic payload (`&str` or `String`), or a placeholder.
pub fn panic_text(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string payload>".to_string()
    }
}

/// Runs `f` expecting it to panic; returns the panic's text.
#[track_caller]
pub fn expect_panic<R>(f: impl FnOnce() -> R) -> String {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(_) => panic!("expected a panic, but the call returned normally"),
        Err(payload) => panic_text(&*payload),
    }
}

// ----- watchdog ------------------------------------------------------------

/// Stops a loop (through its `Handle`) if it is still running after
/// `limit`, so a `run()` that should have returned fails the test instead
/// of hanging it. Dropping the watchdog disarms it.
pub struct Watchdog {
    disarm: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<bool>>,
}

impl Watchdog {
    pub fn new(handle: looplet::Handle, limit: Duration) -> Self {
        let (disarm, disarmed) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || match disarmed.recv_timeout(limit) {
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                handle.stop();
                true
            }
            _ => false,
        });
        Watchdog {
            disarm: Some(disarm),
            thread: Some(thread),
        }
    }

    /// Disarms the watchdog; returns whether it had fired.
    pub fn fired(mut self) -> bool {
        self.disarm.take();
        self.thread.take().unwrap().join().unwrap()
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.disarm.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

// ----- is a thread blocked? (Linux /proc) -----------------------------------

/// The calling thread's kernel thread id, from `/proc/thread-self`.
pub fn current_tid() -> Option<u32> {
    let link = std::fs::read_link("/proc/thread-self").ok()?;
    link.file_name()?.to_str()?.parse().ok()
}

/// True if thread `tid` of this process is blocked in the kernel
/// (state `S`: interruptible sleep, e.g. in `epoll_wait`).
pub fn thread_is_blocked(tid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")) else {
        return false;
    };
    // "tid (comm) S ...": the state follows the last ')'.
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next())
        == Some("S")
}
