//! `RemoteHandle`: a task's outcome, delivered to any thread — always.
//!
//! Python's `run_coroutine_threadsafe` completes the caller's future from a
//! callback on the loop; if the coroutine raises `SystemExit`, the callback
//! re-raises before completing it, and `result()` waits forever. Here the
//! completion cannot be forgotten because it is *structural*: the
//! [`Completer`] travels with the task (inside the message, then inside the
//! task's future), and if it is dropped without having completed — the
//! message was never run, the loop was dropped, the thread unwound — its
//! `Drop` resolves the handle `LoopClosed` (or `Cancelled`, if the caller
//! asked for that). Every path ends in a resolution.
//!
//! ```text
//!   Handle::spawn ──► Message::Spawn(task{ future, Completer }) ────────► loop adopts
//!        │                 │ dropped unrun (loop closed)                 │ task runs:
//!        │                 └──► Completer::drop ──► LoopClosed           ├─ Ready(v)  ──► Ok(v)
//!        ▼                                                               ├─ panic(p)  ──► Panicked(p)
//!   RemoteHandle ◄──────────────── Shared { Mutex<State>, Condvar } ◄────├─ abort()   ──► Cancelled
//!    .wait() / .wait_timeout() / .await                                  └─ loop drop ──► LoopClosed
//! ```

use crate::clock::deadline_after;
use crate::message::{send_unhandled, Message};
use crate::outcome::{JoinError, Payload};
use crate::panic::catch;
use crate::run_to_outcome::{run_to_outcome, OutcomeSink};
use crate::sync::{Arc, AtomicBool, AtomicU32, Condvar, Mutex};
use looplet_injector::Injector;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, Waker};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

enum State<T> {
    /// Not finished. `awaiter`: the waker of whoever awaits the handle;
    /// `task`: the remote task's own waker, so `abort()` and `cancel()` can wake it.
    Pending {
        awaiter: Option<Waker>,
        task: Option<Waker>,
    },
    Done(Result<T, JoinError>),
    /// The outcome was handed to the caller.
    Taken,
    /// The handle was dropped before the task finished: nobody will read
    /// the outcome, so the completer hands it back to the loop instead.
    Abandoned,
}

struct Shared<T> {
    state: Mutex<State<T>>,
    finished: Condvar,
    /// `abort()` was called: drop the task at its next poll.
    cancel_requested: AtomicBool,
    /// How many times `cancel()` (soft) was called; the task's sink hands
    /// the new ones over to the loop before each poll.
    soft_cancels: AtomicU32,
    /// Where an unread panic goes when the handle is dropped: back to the
    /// loop, to its unhandled-panic hook.
    injector: std::sync::Arc<Injector<Message>>,
    /// The thread of the loop that runs the task: blocking it would wait
    /// forever, so `wait` there panics instead.
    loop_thread: ThreadId,
}

/// Creates a connected completer/handle pair for a task of the loop fed by `injector`.
pub(crate) fn pair<T>(
    injector: std::sync::Arc<Injector<Message>>,
    loop_thread: ThreadId,
) -> (Completer<T>, RemoteHandle<T>) {
    let shared = Arc::new(Shared {
        injector,
        loop_thread,
        state: Mutex::new(State::Pending {
            awaiter: None,
            task: None,
        }),
        finished: Condvar::new(),
        cancel_requested: AtomicBool::new(false),
        soft_cancels: AtomicU32::new(0),
    });
    (
        Completer {
            shared: Arc::clone(&shared),
        },
        RemoteHandle { shared },
    )
}

/// The loop's end: resolves the handle exactly once, by `complete` or by `Drop`.
pub(crate) struct Completer<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Completer<T> {
    /// Resolves the handle. If the `RemoteHandle` has been dropped, nobody
    /// can ever read the outcome: it is handed back instead, so the loop can
    /// report a panic (and drop an output on its own terms). Whether the
    /// handle is alive is decided under the same lock the handle's `Drop`
    /// takes, so exactly one side ends up with an unread panic.
    pub fn complete(self, outcome: Result<T, JoinError>) -> Option<Result<T, JoinError>> {
        self.resolve(outcome)
    }

    /// True once the caller has called `RemoteHandle::abort`.
    fn is_cancel_requested(&self) -> bool {
        self.shared.cancel_requested.load(Ordering::Acquire)
    }

    fn resolve(&self, outcome: Result<T, JoinError>) -> Option<Result<T, JoinError>> {
        let mut state = self.shared.state.lock();
        let State::Pending { awaiter, task } = &mut *state else {
            // `Abandoned`: the handle is gone, hand the outcome back.
            // (`Done`/`Taken` cannot happen: a completer resolves once.)
            *state = State::Taken;
            return Some(outcome);
        };
        let awaiter = awaiter.take();
        let task = task.take();
        *state = State::Done(outcome);
        drop(state);
        self.shared.finished.notify_all();
        if let Some(awaiter) = awaiter {
            awaiter.wake();
        }
        drop(task);
        None
    }
}

impl<T> Drop for Completer<T> {
    fn drop(&mut self) {
        // Reached without `complete`: the task never ran to its end.
        if matches!(*self.shared.state.lock(), State::Pending { .. }) {
            let reason = if self.is_cancel_requested() {
                JoinError::Cancelled
            } else {
                JoinError::LoopClosed
            };
            let _ = self.resolve(Err(reason));
        }
    }
}

/// The sink of a remote task: its `RemoteHandle`, through the completer;
/// and how `RemoteHandle::abort` and `RemoteHandle::cancel` reach the task.
pub(crate) struct RemoteHandleSink<T> {
    completer: Completer<T>,
    /// The task's waker is registered (once: a task's waker never changes).
    armed: bool,
    /// Soft-cancel requests already handed over to the loop.
    soft_cancels_seen: u32,
}

impl<T> RemoteHandleSink<T> {
    pub fn new(completer: Completer<T>) -> Self {
        RemoteHandleSink {
            completer,
            armed: false,
            soft_cancels_seen: 0,
        }
    }

    fn soft_cancels(&self) -> u32 {
        self.completer.shared.soft_cancels.load(Ordering::Acquire)
    }
}

impl<T> OutcomeSink<T> for RemoteHandleSink<T> {
    /// Soft cancels arrive on the caller's thread; the task sees them
    /// (`looplet::is_cancelled`) once they are counted in the loop's slab,
    /// which only the loop thread may touch: here, just before its poll.
    fn before_poll(&mut self) {
        let requested = self.soft_cancels();
        if requested > self.soft_cancels_seen {
            if let Some(core) = crate::context::try_current() {
                core.note_cancel_requests(requested - self.soft_cancels_seen);
            }
            self.soft_cancels_seen = requested;
        }
    }

    fn cancel_requested(&self) -> bool {
        self.completer.is_cancel_requested()
    }

    /// `abort()` and `cancel()` set their flag or count, *then* take (or
    /// copy) the registered waker under the lock. Here the waker is
    /// registered under that lock, *then* the flag and the count are read.
    /// Whichever takes the lock second sees the other's write: if the caller
    /// came second it finds the waker and wakes the task; if it came first,
    /// its request is visible here and the task wakes itself.
    fn register_cancel_waker(&mut self, cx: &Context<'_>) {
        if !self.armed {
            self.armed = true;
            let shared = &self.completer.shared;
            if let State::Pending { task, .. } = &mut *shared.state.lock() {
                *task = Some(cx.waker().clone());
            }
        }
        if self.cancel_requested() || self.soft_cancels() > self.soft_cancels_seen {
            cx.waker().wake_by_ref();
        }
    }

    /// Resolves the `RemoteHandle`. The loop keeps nothing: the task is
    /// detached, its slab entry is removed as soon as it finishes.
    fn deliver(self, outcome: Result<T, JoinError>) {
        if let Err(JoinError::Panicked(payload)) = &outcome {
            // The loop's panic policy (StopLoop, Propagate) applies to remote
            // tasks as to local ones.
            if let Some(core) = crate::context::try_current() {
                core.note_task_panic("remote task", crate::outcome::panic_message(payload));
            }
        }
        if let Some(Err(JoinError::Panicked(payload))) = self.completer.complete(outcome) {
            // Nobody holds the RemoteHandle: the panic would be lost with it.
            if let Some(core) = crate::context::try_current() {
                core.report_unhandled("remote task (its handle was dropped)", payload);
            }
        }
    }
}

/// A remote task whose future is built on the loop thread
/// (`Handle::spawn_with`): builds it with `make`, then runs it through
/// [`run_to_outcome`]. An `abort()` that comes before the loop got to it means the
/// future is never even built; a panic in `make` is the task's outcome like
/// one in `poll`. (`Handle::spawn` needs none of this: its future exists
/// already, and it boxes `run_to_outcome(future, RemoteHandleSink)` directly.)
pub(crate) async fn run_remote_with<M, F>(make: M, completer: Completer<F::Output>)
where
    M: FnOnce() -> F,
    F: Future,
{
    let sink = RemoteHandleSink::new(completer);
    if sink.cancel_requested() {
        drop(make);
        return sink.deliver(Err(JoinError::Cancelled));
    }
    // Bind the future first, then await: awaiting inside the `match` would
    // keep the match's temporary alive across the await, one more copy of
    // the future in this task's state.
    let future = match catch(make) {
        Ok(future) => future,
        Err(payload) => return sink.deliver(Err(JoinError::Panicked(payload))),
    };
    run_to_outcome(future, sink).await
}

/// The outcome of a task submitted from another thread with
/// [`Handle::spawn`](crate::Handle::spawn). It always resolves: `Ok`,
/// `Panicked`, `Cancelled` or `LoopClosed` — see the module docs.
///
/// Use it from any thread: [`wait`](Self::wait) blocks,
/// [`wait_timeout`](Self::wait_timeout) blocks for a bounded time, and it is
/// a `Future`, so another runtime (or another looplet loop) can await it.
///
/// A loop that is *stopped* but still alive keeps its pending tasks (a host
/// may run it again next frame), so their handles stay pending until the loop
/// runs again or is dropped; callers that must not block use
/// `wait_timeout` or [`is_finished`](Self::is_finished).
///
/// Dropping the handle detaches the task; it keeps running.
///
/// ```
/// # use looplet_executor as looplet;
/// use std::time::Duration;
/// let mut event_loop = looplet::EventLoop::new()?;
/// let handle = event_loop.handle();
/// let worker = std::thread::spawn(move || {
///     let remote = handle.spawn(async { panic!("in the task") });
///     let outcome = remote.wait_timeout(Duration::from_secs(5));
///     handle.stop();
///     outcome
/// });
/// event_loop.run();
/// // The panic came back as a value; the loop and the worker carry on.
/// assert!(worker.join().unwrap().unwrap().unwrap_err().is_panic());
/// # Ok::<(), std::io::Error>(())
/// ```
#[must_use = "dropping a RemoteHandle detaches the task; wait for or await it to get its result"]
pub struct RemoteHandle<T> {
    shared: Arc<Shared<T>>,
}

impl<T> RemoteHandle<T> {
    /// Blocks this thread until the task resolves.
    ///
    /// # Panics
    /// On the thread of the loop that must run the task, if it has not
    /// finished: that thread, blocked here, is the only one that could run
    /// it, so the wait would never end. There, `.await` the handle inside a
    /// task (or pass it to `EventLoop::block_on`) instead.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// let mut event_loop = looplet::EventLoop::new()?;
    /// let handle = event_loop.handle();
    /// let worker = std::thread::spawn(move || {
    ///     let outcome = handle.spawn(async { 2 + 2 }).wait(); // blocks this thread
    ///     handle.stop();
    ///     outcome
    /// });
    /// event_loop.run();
    /// assert_eq!(worker.join().unwrap().unwrap(), 4);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn wait(self) -> Result<T, JoinError> {
        let mut state = self.shared.state.lock();
        if matches!(*state, State::Pending { .. }) {
            drop(state);
            self.refuse_to_block_the_loop_thread("wait");
            state = self.shared.state.lock();
        }
        while matches!(*state, State::Pending { .. }) {
            self.shared.finished.wait(&mut state);
        }
        Self::take(&mut state)
    }

    /// Blocks up to `timeout`. `None`: not finished yet (the handle stays
    /// usable); `Some(outcome)`: finished, and the outcome is handed over.
    /// `Duration::MAX` waits without limit; `Duration::ZERO` only looks.
    ///
    /// # Panics
    /// If the outcome was already taken by an earlier call; and, with a
    /// timeout other than zero, on the thread of the loop that must run the
    /// task if it has not finished (see [`wait`](Self::wait): the loop would
    /// be blocked for the whole timeout and the answer would be `None`).
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// use std::time::Duration;
    /// let mut event_loop = looplet::EventLoop::new()?;
    /// let remote = event_loop.handle().spawn(async { 1 });
    /// assert!(remote.wait_timeout(Duration::ZERO).is_none(), "the loop has not run it yet");
    /// event_loop.run_until_stalled();
    /// assert_eq!(remote.wait_timeout(Duration::ZERO).unwrap().unwrap(), 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn wait_timeout(&self, timeout: Duration) -> Option<Result<T, JoinError>> {
        let deadline = deadline_after(Instant::now(), timeout);
        let mut state = self.shared.state.lock();
        if timeout > Duration::ZERO && matches!(*state, State::Pending { .. }) {
            drop(state);
            self.refuse_to_block_the_loop_thread("wait_timeout");
            state = self.shared.state.lock();
        }
        while matches!(*state, State::Pending { .. }) {
            if self.shared.finished.wait_until(&mut state, deadline) {
                break; // timed out
            }
        }
        match *state {
            State::Pending { .. } => None,
            _ => Some(Self::take(&mut state)),
        }
    }

    /// Panics if called on the loop's own thread (before a blocking wait).
    #[track_caller]
    fn refuse_to_block_the_loop_thread(&self, method: &str) {
        if std::thread::current().id() == self.shared.loop_thread {
            let harm = if method != "wait_timeout" {
                "so the wait would never end"
            } else {
                "so the loop would stand still for the whole timeout and the answer be None"
            };
            panic!(
                "looplet: RemoteHandle::{method} called on the thread of the loop that must \
                 run the task: that loop cannot run while its thread is blocked here, {harm}. \
                 On the loop's thread, .await the handle inside a task, or pass it to \
                 EventLoop::block_on; block in {method} only on other threads"
            );
        }
    }

    /// Hard cancel: asks the loop to drop the task's future, at its next
    /// poll (or before its first; a `spawn_with` future is then never even
    /// built), and the handle resolves `Cancelled`. No effect if it already
    /// finished. The task gets no say: for a chance to clean up, use
    /// [`cancel`](Self::cancel) or [`cancel_and_wait`](Self::cancel_and_wait).
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// let mut event_loop = looplet::EventLoop::new()?;
    /// let remote = event_loop.handle().spawn(std::future::pending::<()>());
    /// remote.abort();
    /// event_loop.run_until_stalled();
    /// assert!(remote.wait().unwrap_err().is_cancelled());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn abort(&self) {
        self.shared.cancel_requested.store(true, Ordering::Release);
        let task = match &mut *self.shared.state.lock() {
            State::Pending { task, .. } => task.take(),
            _ => None,
        };
        // Wake outside the lock: the wake may go through the injector.
        if let Some(task) = task {
            task.wake();
        }
    }

    /// Soft cancel, from any thread: the task is asked to stop and woken;
    /// inside it `looplet::cancelled()` resolves and `looplet::is_cancelled()`
    /// is true, so it can clean up (even asynchronously) and return. Nothing
    /// is dropped. No effect on a finished task; harmless to repeat.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// let mut event_loop = looplet::EventLoop::new()?;
    /// let remote = event_loop.handle().spawn(async {
    ///     looplet::cancelled().await;
    ///     "cleaned up"
    /// });
    /// remote.cancel();
    /// assert_eq!(event_loop.block_on(remote).unwrap(), "cleaned up");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn cancel(&self) {
        self.shared.soft_cancels.fetch_add(1, Ordering::AcqRel);
        let task = match &*self.shared.state.lock() {
            State::Pending { task, .. } => task.clone(),
            _ => None,
        };
        if let Some(task) = task {
            task.wake();
        }
    }

    /// Soft cancel, wait up to `grace` for the task to end, then abort it
    /// and wait for that: blocking, for another thread. It returns only
    /// after the task's destructors ran: its outcome, `Err(Cancelled)` if it
    /// had to be aborted, or the outcome it had already reached.
    ///
    /// The abort takes effect when the loop next runs; if nobody drives the
    /// loop, this waits until someone does or the loop is dropped (then
    /// `Cancelled`).
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// use std::time::Duration;
    /// let mut event_loop = looplet::EventLoop::new()?;
    /// let handle = event_loop.handle();
    /// let remote = handle.spawn(async {
    ///     looplet::cancelled().await;
    ///     looplet::sleep(Duration::from_millis(2)).await; // async cleanup
    ///     "said goodbye"
    /// });
    /// let controller = std::thread::spawn(move || {
    ///     let outcome = remote.cancel_and_wait(Duration::from_secs(5));
    ///     handle.stop();
    ///     outcome
    /// });
    /// event_loop.run();
    /// assert_eq!(controller.join().unwrap().unwrap(), "said goodbye");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Panics
    /// Like [`wait`](Self::wait), on the thread of the loop that must run
    /// the task, if it has not finished.
    #[track_caller]
    pub fn cancel_and_wait(self, grace: Duration) -> Result<T, JoinError> {
        if self.is_finished() {
            return self.wait();
        }
        self.refuse_to_block_the_loop_thread("cancel_and_wait");
        self.cancel();
        if let Some(outcome) = self.wait_timeout(grace) {
            return outcome;
        }
        self.abort();
        self.wait()
    }

    /// True once the task has resolved (whether or not the outcome was taken).
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// let mut event_loop = looplet::EventLoop::new()?;
    /// let remote = event_loop.handle().spawn(async {});
    /// assert!(!remote.is_finished());
    /// event_loop.run_until_stalled();
    /// assert!(remote.is_finished());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_finished(&self) -> bool {
        !matches!(*self.shared.state.lock(), State::Pending { .. })
    }

    fn take(state: &mut State<T>) -> Result<T, JoinError> {
        match std::mem::replace(state, State::Taken) {
            State::Done(outcome) => outcome,
            State::Taken => panic!("RemoteHandle: the outcome was already taken"),
            State::Abandoned => unreachable!("only the handle's Drop abandons"),
            State::Pending { .. } => unreachable!("callers wait for completion first"),
        }
    }
}

impl<T> Future for RemoteHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.shared.state.lock();
        match &mut *state {
            State::Pending { awaiter, .. } => {
                match awaiter {
                    Some(waker) if waker.will_wake(cx.waker()) => {}
                    _ => *awaiter = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
            _ => Poll::Ready(Self::take(&mut state)),
        }
    }
}

impl<T> Drop for RemoteHandle<T> {
    fn drop(&mut self) {
        // A panic nobody read must not vanish with the handle: send it back
        // to the loop's unhandled-panic hook (or, if the loop is gone, print
        // it like the default hook would).
        let unread = match &mut *self.shared.state.lock() {
            state @ State::Pending { .. } => {
                // Not finished yet: the completer will find out, under this
                // lock, that nobody is left to read the outcome.
                *state = State::Abandoned;
                return;
            }
            state @ State::Done(Err(JoinError::Panicked(_))) => {
                std::mem::replace(state, State::Taken)
            }
            _ => return,
        };
        let State::Done(Err(JoinError::Panicked(payload))) = unread else {
            unreachable!("matched just above");
        };
        send_unhandled(
            &self.shared.injector,
            "remote task (its handle was dropped unread)",
            payload,
        );
    }
}

impl<T> fmt::Debug for RemoteHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}

// A payload is `Send`, so a `JoinError` is too: outcomes may cross threads.
const _: fn() = || {
    fn assert_send<T: Send>() {}
    assert_send::<JoinError>();
    assert_send::<Payload>();
    assert_send::<RemoteHandle<u8>>();
};

/// Loom models of the handle's cross-thread protocol. Run with
/// `RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom cargo test -p looplet-executor --release --lib loom`.
///
/// The `Completer` and `RemoteHandle` code is the real one (its mutex,
/// condvar, atomics and `Arc` are loom's under `cfg(loom)`, see `sync.rs`).
/// The injector's channel is crossbeam, which loom cannot see into; where
/// the loop's queue matters ("submit vs loop drop") it is modelled by a loom
/// mutex around an `Option<Vec<_>>` (`None` = the inbox is closed), which
/// has the one property the design relies on: a push either lands before
/// the close (and is drained by it) or is refused.
#[cfg(all(test, loom))]
mod loom_models {
    use super::*;
    use loom::thread;

    fn injector() -> (
        std::sync::Arc<Injector<Message>>,
        looplet_injector::Inbox<Message>,
        mio::Poll,
    ) {
        let poll = mio::Poll::new().unwrap();
        let (injector, inbox) =
            looplet_injector::channel(poll.registry(), mio::Token(0), None).unwrap();
        (injector, inbox, poll)
    }

    /// The loop thread of the modelled pairs: a thread that never waits
    /// (the models' waits run on loom threads, which share the OS thread of
    /// the test; they must not look like the loop's own thread).
    fn no_loop_thread() -> std::thread::ThreadId {
        static ID: std::sync::OnceLock<std::thread::ThreadId> = std::sync::OnceLock::new();
        *ID.get_or_init(|| {
            std::thread::spawn(|| std::thread::current().id())
                .join()
                .unwrap()
        })
    }

    fn model(f: impl Fn() + Sync + Send + 'static) {
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = Some(3);
        builder.check(f);
    }

    #[test]
    fn loom_abort_vs_completion_resolves_exactly_once() {
        model(|| {
            let (injector, _inbox, _poll) = injector();
            let (completer, handle) = pair::<u32>(injector, no_loop_thread());
            let handle = Arc::new(handle);
            let caller = Arc::clone(&handle);
            let cancelling = thread::spawn(move || caller.abort());
            // The loop: checks the flag at its next poll, as `run_to_outcome` does.
            let outcome = if completer.is_cancel_requested() {
                Err(JoinError::Cancelled)
            } else {
                Ok(7)
            };
            assert!(completer.complete(outcome).is_none(), "the handle is alive");
            cancelling.join().unwrap();
            let handle = Arc::try_unwrap(handle).unwrap();
            match handle.wait() {
                Ok(7) | Err(JoinError::Cancelled) => {}
                other => panic!("unexpected outcome {other:?}"),
            }
        });
    }

    /// A task whose poll just returned `Pending` registers its waker while
    /// the caller asks it to stop (`request`: `abort` or `cancel`): the task
    /// must end up woken, or it would sleep forever with the request unseen.
    fn request_vs_registration_always_wakes_the_task(request: fn(&RemoteHandle<u32>)) {
        struct Flag(AtomicBool);
        impl std::task::Wake for Flag {
            fn wake(self: std::sync::Arc<Self>) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        model(move || {
            let (injector, _inbox, _poll) = injector();
            let (completer, handle) = pair::<u32>(injector, no_loop_thread());
            let caller = thread::spawn(move || {
                request(&handle);
                handle
            });
            let woken = std::sync::Arc::new(Flag(AtomicBool::new(false)));
            let waker = Waker::from(std::sync::Arc::clone(&woken));
            let mut sink = RemoteHandleSink::new(completer);
            sink.register_cancel_waker(&Context::from_waker(&waker));
            let handle = caller.join().unwrap();
            assert!(
                woken.0.load(Ordering::SeqCst),
                "the task asked to stop was never woken"
            );
            drop(handle);
        });
    }

    #[test]
    fn loom_abort_vs_registration_always_wakes_the_task() {
        request_vs_registration_always_wakes_the_task(RemoteHandle::abort);
    }

    #[test]
    fn loom_soft_cancel_vs_registration_always_wakes_the_task() {
        request_vs_registration_always_wakes_the_task(RemoteHandle::cancel);
    }

    #[test]
    fn loom_waiter_and_completer_never_miss_each_other() {
        model(|| {
            let (injector, _inbox, _poll) = injector();
            let (completer, handle) = pair::<u32>(injector, no_loop_thread());
            let waiter = thread::spawn(move || handle.wait());
            // Dropped without completing (the loop closed): must still wake the waiter.
            drop(completer);
            assert!(matches!(waiter.join().unwrap(), Err(JoinError::LoopClosed)));
        });
    }

    #[test]
    fn loom_submit_vs_loop_drop_always_resolves() {
        model(|| {
            let (injector, _inbox, _poll) = injector();
            // The loop's queue: `None` once the loop has closed its inbox.
            let queue = Arc::new(Mutex::new(Some(Vec::<Completer<u32>>::new())));
            let (completer, handle) = pair::<u32>(injector, no_loop_thread());
            let producer_queue = Arc::clone(&queue);
            let producer = thread::spawn(move || {
                let refused = match &mut *producer_queue.lock() {
                    Some(queued) => {
                        queued.push(completer);
                        None
                    }
                    None => Some(completer),
                };
                drop(refused); // refused: dropped on the producer's stack
                handle.wait()
            });
            // The loop is dropped: close the door, drop what was queued.
            let drained = queue.lock().take();
            drop(drained);
            assert!(matches!(
                producer.join().unwrap(),
                Err(JoinError::LoopClosed)
            ));
        });
    }

    #[test]
    fn loom_an_unread_panic_is_reported_exactly_once_when_the_handle_is_dropped() {
        model(|| {
            let (injector, inbox, _poll) = injector();
            let (completer, handle) = pair::<u32>(injector, no_loop_thread());
            let caller = thread::spawn(move || drop(handle));
            let panicked = Err(JoinError::Panicked(Box::new("boom")));
            let reported_by_loop = completer.complete(panicked).is_some();
            caller.join().unwrap();
            let sent_back = matches!(inbox.try_recv(), Some(Message::Unhandled(_)));
            assert!(
                reported_by_loop ^ sent_back,
                "reported by the loop: {reported_by_loop}, sent back by the handle: {sent_back}"
            );
        });
    }
}
