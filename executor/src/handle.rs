//! `Handle`: the loop, as seen from other threads.
//!
//! A `Handle` is `Send + Sync + Clone` and holds only the injector (and the
//! loop thread's id, so that a `RemoteHandle` can refuse to block it). Everything
//! it does is "put a message in the injector" — the loop does the rest on its
//! own thread. Compare with the loop-thread methods (`EventLoop::call_soon`,
//! `looplet::spawn`): those push straight onto local queues and never wake
//! anything, because the loop is, by definition, awake when they run.

use crate::context;
use crate::core::Core;
use crate::message::{Message, SendTask, Submission};
use crate::outcome::BoxFuture;
use crate::remote_handle::{pair, run_remote_with, RemoteHandle, RemoteHandleSink};
use crate::run_to_outcome::run_to_outcome;
use looplet_injector::Injector;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::thread::ThreadId;

/// The error of a submission to a loop that no longer exists.
///
/// ```
/// # use looplet_executor as looplet;
/// let event_loop = looplet::EventLoop::new()?;
/// let handle = event_loop.handle();
/// drop(event_loop);
/// assert_eq!(handle.call_soon_threadsafe(|| ()), Err(looplet::Closed));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed;

impl fmt::Display for Closed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the event loop is closed")
    }
}

impl std::error::Error for Closed {}

/// A thread-safe handle to an [`EventLoop`](crate::EventLoop).
///
/// ```
/// # use looplet_executor as looplet;
/// use std::time::Duration;
/// let mut event_loop = looplet::EventLoop::new()?;
/// let handle = event_loop.handle();
/// let worker = std::thread::spawn(move || {
///     let answer = handle.spawn(async { 40 + 2 }).wait_timeout(Duration::from_secs(5));
///     handle.stop();
///     answer
/// });
/// event_loop.run();
/// assert_eq!(worker.join().unwrap().unwrap().unwrap(), 42);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct Handle {
    injector: Arc<Injector<Message>>,
    /// The loop's own thread, handed to each `RemoteHandle` so that a
    /// blocking wait there can be refused (it could never end).
    loop_thread: ThreadId,
}

impl Handle {
    /// The handle of `core`'s loop.
    pub(crate) fn of(core: &Core) -> Self {
        Handle {
            injector: Arc::clone(core.injector()),
            loop_thread: core.loop_thread(),
        }
    }

    /// Pushes `message`; if the loop is gone, the message is dropped here,
    /// and with it any `Completer` inside (its `RemoteHandle` resolves
    /// `LoopClosed`). A panic in the `Drop` of the user's values goes to the
    /// loop running on this thread, if any (std's panic hook printed it).
    fn submit(&self, message: Message) -> Result<(), Closed> {
        let Err(refused) = self.injector.push(message) else {
            return Ok(());
        };
        if let Err(payload) = refused.0.discard() {
            if let Some(core) = context::try_current() {
                core.report_unhandled("a submission dropped unrun", payload);
            }
        }
        Err(Closed)
    }

    /// The handle of the loop running on this thread.
    ///
    /// # Panics
    /// Outside a task or callback of a running loop.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// let mut event_loop = looplet::EventLoop::new()?;
    /// let handle = event_loop.block_on(async { looplet::Handle::current() });
    /// assert!(!handle.is_closed());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn current() -> Handle {
        let core = context::current(
            "looplet::Handle::current called",
            "where you own the EventLoop, take its handle with EventLoop::handle \
             and pass it to the code that needs it",
        );
        Handle::of(&core)
    }

    /// Runs `callback` on the loop thread, soon. From any thread.
    ///
    /// This is `call_soon` *plus a wake*: the callback is queued in the
    /// injector, and the loop is woken — but the wake syscall is made only if
    /// the loop is asleep (or about to be); against a busy loop, a burst of
    /// calls costs next to no syscalls. Callbacks from one thread run in the
    /// order they were submitted.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// use std::sync::mpsc;
    /// use std::time::Duration;
    /// let mut event_loop = looplet::EventLoop::new()?;
    /// let handle = event_loop.handle();
    /// let (done, finished) = mpsc::channel();
    /// std::thread::spawn(move || {
    ///     handle.call_soon_threadsafe(move || done.send("ran on the loop").unwrap()).unwrap();
    /// });
    /// while finished.try_recv().is_err() {
    ///     event_loop.turn(Some(Duration::from_millis(10)));
    /// }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn call_soon_threadsafe<F>(&self, callback: F) -> Result<(), Closed>
    where
        F: FnOnce() + Send + 'static,
    {
        self.submit(Message::Call(Submission::new(Box::new(callback))))
    }

    /// Spawns a `Send` future on the loop from any thread. The returned
    /// [`RemoteHandle`] always resolves; if the loop is already closed it
    /// resolves `LoopClosed` at once and the future is dropped here.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// use std::time::Duration;
    /// let mut event_loop = looplet::EventLoop::new()?;
    /// let remote = event_loop.handle().spawn(async { "done" });
    /// event_loop.run_until_stalled();
    /// assert_eq!(remote.wait_timeout(Duration::ZERO).unwrap().unwrap(), "done");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn spawn<F>(&self, future: F) -> RemoteHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        // The future is `Send`, so the whole task can be boxed here, on the
        // caller's thread: the loop adopts that box as is (one allocation
        // fewer than building it from a closure on the loop).
        let (completer, handle) = pair(Arc::clone(&self.injector), self.loop_thread);
        let task: SendTask = Box::pin(run_to_outcome(future, RemoteHandleSink::new(completer)));
        // Refused (loop gone): the handle resolves `LoopClosed` (see `submit`).
        let _ = self.submit(Message::Spawn(Submission::new(task)));
        handle
    }

    /// Spawns a future built *on the loop thread* by `make`, which is `Send`
    /// even if the future is not (it may hold `Rc`s, `JoinHandle`s,
    /// sockets of `looplet::net`, …).
    /// A panic in `make` resolves the handle `Panicked`, like one in the future.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// use std::rc::Rc;
    /// let mut event_loop = looplet::EventLoop::new()?;
    /// // The closure is Send; the future it builds on the loop thread holds an Rc.
    /// let remote = event_loop.handle().spawn_with(|| {
    ///     let shared = Rc::new(5);
    ///     async move { *shared * 2 }
    /// });
    /// assert_eq!(event_loop.block_on(remote).unwrap(), 10);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn spawn_with<M, F>(&self, make: M) -> RemoteHandle<F::Output>
    where
        M: FnOnce() -> F + Send + 'static,
        F: Future + 'static,
        F::Output: Send + 'static,
    {
        let (completer, handle) = pair(Arc::clone(&self.injector), self.loop_thread);
        // Called by the loop, on its thread: the task it returns need not be `Send`.
        let build = move || -> BoxFuture { Box::pin(run_remote_with(make, completer)) };
        // Refused (loop gone): the handle resolves `LoopClosed` (see `submit`).
        let _ = self.submit(Message::SpawnWith(Submission::new(Box::new(build))));
        handle
    }

    /// Asks the loop to stop, like `EventLoop::stop`: the driving call
    /// running now, or else the next one (`run`, `turn`, `run_for`,
    /// `run_until_stalled`), returns after its current turn and consumes the
    /// request. Pending tasks stay pending (the loop may run again). No
    /// effect once closed.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// let mut event_loop = looplet::EventLoop::new()?;
    /// let handle = event_loop.handle();
    /// std::thread::spawn(move || handle.stop());
    /// event_loop.run(); // returns once the stop arrives
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn stop(&self) {
        let _ = self.injector.push(Message::Stop);
    }

    /// True once the loop has been dropped.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// let event_loop = looplet::EventLoop::new()?;
    /// let handle = event_loop.handle();
    /// assert!(!handle.is_closed());
    /// drop(event_loop);
    /// assert!(handle.is_closed());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_closed(&self) -> bool {
        self.injector.is_closed()
    }

    /// How many times the loop's wake fd has been written so far — the one
    /// counter of [`Metrics`](crate::Metrics) that lives on the cross-thread
    /// side (`Metrics::wake_syscalls`), readable from any thread while the
    /// loop runs: a producer can check that its submissions to a busy loop
    /// cost (almost) no syscall.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// let event_loop = looplet::EventLoop::new()?;
    /// let handle = event_loop.handle();
    /// // A fresh loop has not run yet, so it counts as asleep: the first
    /// // submission must wake it (its host may be waiting on its fd).
    /// handle.call_soon_threadsafe(|| ()).unwrap();
    /// handle.call_soon_threadsafe(|| ()).unwrap(); // already woken: no second write
    /// assert_eq!(handle.wake_syscalls(), 1);
    /// assert_eq!(event_loop.metrics().wake_syscalls, 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn wake_syscalls(&self) -> u64 {
        self.injector.wake_syscalls()
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("closed", &self.is_closed())
            .finish()
    }
}
