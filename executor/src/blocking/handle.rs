//! `BlockingHandle` and `spawn_blocking`: blocking work, awaited from a task,
//! that can be told to stop.
//!
//! ```text
//!   spawn_blocking(work) ──► pool queue ──► a pool thread runs work(&token)
//!        │                      ▲                 │ returns v / panics p
//!        ▼                      │ unqueue         ▼
//!   BlockingHandle ─ cancel() ──┴─ token.cancel()  ResultCell: Done(Ok(v) / Panicked(p))
//!     .await  ◄──────────── the awaiting task's waker ◄─┘ (woken through the injector)
//! ```
//!
//! What each way of giving up does:
//!
//! | the caller…                                   | the token | a queued job | the handle                      |
//! |-----------------------------------------------|-----------|--------------|---------------------------------|
//! | `handle.cancel()`                             | set       | never runs   | waits for the job's own return  |
//! | soft-cancels the awaiting task (or its group) | set       | never runs   | waits for the job's own return  |
//! | drops the handle (or the task is aborted)     | set       | never runs   | gone: the result is dropped     |
//! | `handle.abandon()`                            | set       | never runs   | `Cancelled` now; result dropped |
//!
//! A job that never runs resolves `Cancelled` at once. A running one cannot
//! be stopped from outside (see `token.rs`): waiting for it after `cancel`
//! is structured (its cleanup is part of the caller's), and `abandon` is the
//! explicit choice not to wait (trio's `abandon_on_cancel`).
//!
//! Completion is structural, as for a `RemoteHandle`: the job carries a
//! [`JobCompleter`], and if the job is dropped without delivering (a pool
//! thread unwound with it), the completer's `Drop` resolves the handle.

use super::pool::{BlockingPool, Job, JobId};
use super::report::JobName;
use super::token::CancelToken;
use crate::context;
use crate::core::Core;
use crate::message::{send_unhandled, Message};
use crate::outcome::JoinError;
use crate::panic::{catch, drop_caught};
use looplet_injector::Injector;
use looplet_waker::TaskId;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// Where a job's result waits for its handle.
struct ResultCell<T> {
    state: Mutex<CellState<T>>,
    /// Where a panic nobody will read goes: the loop's unhandled-panic hook.
    injector: Arc<Injector<Message>>,
    /// Which job, for that report.
    job: JobName,
}

enum CellState<T> {
    /// No result yet; the waker of whoever awaits the handle.
    Waiting(Option<Waker>),
    Done(Result<T, JoinError>),
    /// The handle took the result.
    Taken,
    /// The handle is gone (dropped, or `abandon`): a result that arrives is
    /// dropped where it arrives.
    Detached,
}

impl<T> ResultCell<T> {
    fn lock(&self) -> MutexGuard<'_, CellState<T>> {
        // A poisoned lock is still usable: every writer leaves the enum whole.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Disposes of an outcome nobody will read: the value is dropped (on
    /// this thread), a panic is sent to the loop's hook, `why` saying why
    /// nobody reads it.
    fn discard(&self, why: &str, outcome: Result<T, JoinError>) {
        let panic = match outcome {
            Ok(value) => drop_caught(value).err(),
            Err(JoinError::Panicked(payload)) => Some(payload),
            Err(_) => None,
        };
        if let Some(payload) = panic {
            self.report(why, payload);
        }
    }

    /// Sends a panic of (or around) this job to the loop's hook, named.
    fn report(&self, why: &str, payload: crate::outcome::Payload) {
        let job = match &self.job.name {
            Some(name) => format!("blocking job {name} (spawned at {})", self.job.spawned_at),
            None => format!("blocking job spawned at {}", self.job.spawned_at),
        };
        send_unhandled(&self.injector, format!("{job} ({why})"), payload);
    }
}

/// The job's end of the cell: resolves the handle exactly once, by
/// `complete` or, failing that, by `Drop`.
struct JobCompleter<T> {
    cell: Arc<ResultCell<T>>,
    resolved: bool,
}

impl<T> JobCompleter<T> {
    fn complete(mut self, outcome: Result<T, JoinError>) {
        self.resolve(outcome);
    }

    fn resolve(&mut self, outcome: Result<T, JoinError>) {
        self.resolved = true;
        let mut state = self.cell.lock();
        match &mut *state {
            CellState::Waiting(waker) => {
                let waker = waker.take();
                *state = CellState::Done(outcome);
                drop(state);
                // The awaiting task's waker: from a pool thread it takes the
                // inject path, one coalesced wake like any other. A waker
                // (or a wake hook) that panics must not unwind the pool
                // thread: the outcome is stored already.
                if let Some(waker) = waker {
                    let _ = crate::panic::catch(|| waker.wake());
                }
            }
            CellState::Detached => {
                drop(state);
                self.cell.discard("its handle was dropped", outcome);
            }
            CellState::Done(_) | CellState::Taken => {
                unreachable!("a blocking job resolves its handle once")
            }
        }
    }
}

impl<T> Drop for JobCompleter<T> {
    fn drop(&mut self) {
        if !self.resolved {
            // Neither run nor refused: the job was dropped on a thread that
            // unwound (or with a pool that vanished). Never leave a waiter.
            self.resolve(Err(JoinError::LoopClosed));
        }
    }
}

/// The work and its completer: what the pool queues and runs.
struct BlockingJob<F, T> {
    work: F,
    completer: JobCompleter<T>,
}

impl<F, T> Job for BlockingJob<F, T>
where
    F: FnOnce(&CancelToken) -> T + Send,
    T: Send,
{
    fn run(self: Box<Self>, token: &CancelToken) {
        let BlockingJob { work, completer } = *self;
        let outcome = catch(|| work(token)).map_err(JoinError::Panicked);
        completer.complete(outcome);
    }

    fn refuse(self: Box<Self>, reason: JoinError) {
        let BlockingJob { work, completer } = *self;
        let dropped = drop_caught(work);
        let cell = Arc::clone(&completer.cell);
        completer.complete(Err(reason));
        if let Err(payload) = dropped {
            cell.report("dropped unrun", payload);
        }
    }
}

/// The outcome of a job on the loop's blocking pool, from
/// [`spawn_blocking`]. Awaiting it yields the job's return value, or
/// [`JoinError::Cancelled`] if it was cancelled before it started, or
/// [`JoinError::Panicked`].
///
/// **Dropping the handle cancels the job** (its token is set; a queued job
/// never runs) and drops its result when it arrives. So does aborting the
/// task that awaits it, and so does `let _ = spawn_blocking(..)`. Unlike a
/// task, a job nobody waits for is not kept running: blocking work for
/// nobody is waste. A job that must run to its end with nobody waiting
/// (fire and forget) is [`detach`](Self::detach)ed.
///
/// # Panics
/// Polled again after it returned its outcome (awaiting `&mut handle`
/// twice).
///
/// `BlockingHandle` is `Send` when `T` is, so a task spawned with
/// `Handle::spawn` can await one.
///
/// ```
/// # use looplet_executor as looplet;
/// let mut event_loop = looplet::EventLoop::new()?;
/// let length = event_loop.block_on(async {
///     let read = looplet::spawn_blocking(|_token| {
///         std::fs::read_to_string("Cargo.toml").map(|text| text.len())
///     });
///     read.await // Ok(io::Result<usize>): the job's own error is its value
/// });
/// assert!(length.unwrap().unwrap() > 0);
/// # Ok::<(), std::io::Error>(())
/// ```
#[must_use = "dropping a BlockingHandle cancels the job (a queued one never runs); \
              await it, or call .detach() to let it run with nobody waiting"]
pub struct BlockingHandle<T> {
    cell: Arc<ResultCell<T>>,
    token: CancelToken,
    pool: BlockingPool,
    /// `None` if the pool refused the job (the loop is closed).
    id: Option<JobId>,
    /// The task that awaits this handle (its loop's id and its own: task
    /// ids are per loop) and how many cancel requests it had already (when
    /// the handle was made, or first polled by that task): only a request
    /// made *after* that reaches the job, so a job spawned by a task's
    /// cleanup, after its cancellation, is not cancelled by it.
    awaiter_seen: Option<(u64, TaskId, u32)>,
}

impl<T: Send + 'static> BlockingHandle<T> {
    /// Submits `work` to `core`'s pool.
    fn spawn<F>(core: &Core, work: F, name: JobName) -> Self
    where
        F: FnOnce(&CancelToken) -> T + Send + 'static,
    {
        let cell = Arc::new(ResultCell {
            state: Mutex::new(CellState::Waiting(None)),
            injector: Arc::clone(core.injector()),
            job: name.clone(),
        });
        let job = Box::new(BlockingJob {
            work,
            completer: JobCompleter {
                cell: Arc::clone(&cell),
                resolved: false,
            },
        });
        let token = CancelToken::new();
        let pool = core.blocking_pool().clone();
        let id = match pool.submit(job, token.clone(), name) {
            Ok(id) => Some(id),
            Err(refused) => {
                refused.refuse(JoinError::LoopClosed);
                None
            }
        };
        BlockingHandle {
            cell,
            token,
            pool,
            id,
            awaiter_seen: core
                .polling()
                .map(|task| (core.loop_id(), task, core.cancel_requests(task))),
        }
    }
}

impl<T> BlockingHandle<T> {
    /// Asks the job to stop: sets its token; a job still queued is removed
    /// and never runs (the handle resolves `Cancelled` at once). A running
    /// job is not interrupted: the handle keeps waiting for it to return,
    /// with whatever it returns (a job that checks its token returns early).
    /// Returns false if the job had finished already (nothing to cancel),
    /// like `JoinHandle::cancel`. Idempotent.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// use std::time::Duration;
    /// let mut event_loop = looplet::EventLoop::new()?;
    /// let (started, running) = std::sync::mpsc::channel();
    /// let job = event_loop.spawn_blocking(move |token| {
    ///     started.send(()).unwrap();
    ///     let mut rounds = 0;
    ///     while !token.wait_timeout(Duration::from_millis(10)) {
    ///         rounds += 1; // … one round of polling a device …
    ///     }
    ///     format!("stopped after {rounds} rounds")
    /// });
    /// running.recv_timeout(Duration::from_secs(10)).unwrap();
    /// job.cancel();
    /// let said = event_loop.block_on(job).unwrap(); // the job's own return value
    /// assert!(said.starts_with("stopped after"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn cancel(&self) -> bool {
        if self.is_finished() {
            return false;
        }
        self.cancel_job();
        true
    }

    /// Sets the token; a job still queued is taken out and refused.
    fn cancel_job(&self) {
        self.token.cancel();
        let unqueued = self.id.and_then(|id| self.pool.unqueue(id));
        if let Some(job) = unqueued {
            job.refuse(JoinError::Cancelled);
        }
    }

    /// Lets the job run to its end with nobody waiting for it: fire and
    /// forget. Dropping the handle would cancel the job (and a job still
    /// queued would never run); `detach` does not. Its result is dropped
    /// when it arrives; a panic goes to the unhandled-panic hook, named.
    /// A loop shutdown still cancels it and waits for it, like any job.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// use std::sync::mpsc;
    /// use std::time::Duration;
    /// let event_loop = looplet::EventLoop::new()?;
    /// let (saved, was_saved) = mpsc::channel();
    /// event_loop
    ///     .spawn_blocking(move |_token| saved.send("autosave written").unwrap())
    ///     .detach(); // not `let _ =`: that would cancel it
    /// assert_eq!(was_saved.recv_timeout(Duration::from_secs(10)), Ok("autosave written"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn detach(self) {
        let mut state = self.cell.lock();
        match std::mem::replace(&mut *state, CellState::Detached) {
            CellState::Done(outcome) => {
                drop(state);
                self.cell.discard("detached", outcome);
            }
            CellState::Waiting(waker) => {
                drop(state);
                drop(waker);
            }
            CellState::Taken | CellState::Detached => {
                panic!("BlockingHandle used after it completed (its outcome was taken by an await)")
            }
        }
        // `self` drops here and finds `Detached`: nothing more to do.
    }

    /// True once the job has a result (or never will run).
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// use std::time::{Duration, Instant};
    /// let event_loop = looplet::EventLoop::new()?;
    /// let job = event_loop.spawn_blocking(|_| 7);
    /// let start = Instant::now();
    /// while !job.is_finished() && start.elapsed() < Duration::from_secs(10) {
    ///     std::thread::sleep(Duration::from_millis(1));
    /// }
    /// assert!(job.is_finished());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_finished(&self) -> bool {
        !matches!(*self.cell.lock(), CellState::Waiting(_))
    }

    /// Whether the job was asked to stop (by any of the ways above, or by
    /// a shutdown of the pool).
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// use std::time::Duration;
    /// let event_loop = looplet::EventLoop::new()?;
    /// let job = event_loop.spawn_blocking(|token| token.wait_timeout(Duration::MAX));
    /// assert!(!job.is_cancelled());
    /// job.cancel(); // it cannot have finished: it waits for this
    /// assert!(job.is_cancelled());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Gives up on the job without waiting: cancels it and returns its
    /// outcome if it has one already, else `Err(JoinError::Cancelled)` at
    /// once. A running job's thread runs on until the job returns; its
    /// result is dropped then (trio's `abandon_on_cancel`). Counted in
    /// `Metrics::blocking_jobs_abandoned` when the job was running.
    ///
    /// It returns the outcome itself, not a future: there is nothing to
    /// wait for, and a value cannot be forgotten unawaited.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// use std::time::Duration;
    /// let mut event_loop = looplet::EventLoop::new()?;
    /// let stubborn = event_loop.spawn_blocking(|_token| {
    ///     std::thread::sleep(Duration::from_millis(50)); // ignores its token
    ///     "too late"
    /// });
    /// event_loop.run_until_stalled();
    /// assert!(stubborn.abandon().unwrap_err().is_cancelled(), "returns at once");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn abandon(self) -> Result<T, JoinError> {
        self.cancel_job();
        let mut state = self.cell.lock();
        match std::mem::replace(&mut *state, CellState::Taken) {
            CellState::Done(outcome) => outcome,
            CellState::Waiting(waker) => {
                *state = CellState::Detached;
                drop(state);
                drop(waker);
                if let Some(id) = self.id {
                    self.pool.note_abandoned(id);
                }
                Err(JoinError::Cancelled)
            }
            CellState::Taken | CellState::Detached => {
                panic!("BlockingHandle used after it completed (its outcome was taken by an await)")
            }
        }
    }
}

impl<T> Future for BlockingHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.pass_on_cancellation_of_the_awaiting_task();
        let mut state = self.cell.lock();
        match &mut *state {
            CellState::Waiting(waker) => {
                match waker {
                    Some(current) if current.will_wake(cx.waker()) => {}
                    _ => {
                        let old = waker.replace(cx.waker().clone());
                        drop(state);
                        drop(old); // user code, possibly: outside the lock
                    }
                }
                Poll::Pending
            }
            CellState::Done(_) => {
                let CellState::Done(outcome) = std::mem::replace(&mut *state, CellState::Taken)
                else {
                    unreachable!("matched just above");
                };
                Poll::Ready(outcome)
            }
            CellState::Taken => panic!("BlockingHandle polled after it completed"),
            CellState::Detached => unreachable!("a live handle is not detached"),
        }
    }
}

impl<T> BlockingHandle<T> {
    /// Soft cancellation of the task awaiting this handle reaches the job:
    /// a cancel request wakes that task, so it polls this handle, and here
    /// the new request turns into `cancel()`.
    fn pass_on_cancellation_of_the_awaiting_task(&mut self) {
        if self.token.is_cancelled() {
            return;
        }
        let Some(core) = context::try_current() else {
            return; // awaited outside a looplet task: nothing to pass on
        };
        let Some(task) = core.polling() else {
            return;
        };
        let requests = core.cancel_requests(task);
        let awaiter = (core.loop_id(), task);
        match self.awaiter_seen {
            Some((loop_id, seen_task, seen)) if (loop_id, seen_task) == awaiter => {
                if requests > seen {
                    self.cancel_job();
                }
            }
            // First poll by this task: what it was asked before is not ours.
            _ => self.awaiter_seen = Some((awaiter.0, awaiter.1, requests)),
        }
    }
}

impl<T> Drop for BlockingHandle<T> {
    fn drop(&mut self) {
        let mut state = self.cell.lock();
        match std::mem::replace(&mut *state, CellState::Detached) {
            CellState::Waiting(waker) => {
                // Detached first, so that the result of the job (or the
                // `Cancelled` of a job taken out of the queue just below)
                // is dropped where it arrives.
                drop(state);
                self.cancel_job();
                drop(waker);
            }
            CellState::Done(outcome) => {
                drop(state);
                self.cell.discard("its handle was dropped unread", outcome);
            }
            // Collected by `poll`, or given up by `abandon`: nothing left.
            CellState::Taken | CellState::Detached => {}
        }
    }
}

impl<T> fmt::Debug for BlockingHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingHandle")
            .field("finished", &self.is_finished())
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

// ----- the free functions: spawn on the current loop's pool -----------------

/// Runs `work` on the current loop's blocking pool and returns a handle to
/// await its result. `work` gets a [`CancelToken`]: it should look at it
/// where stopping is safe, and sleep with `token.wait_timeout` rather than
/// `thread::sleep`. See [`BlockingHandle`] for the ways to cancel.
///
/// # Panics
/// Outside a running loop: call it from a task, a callback or the future
/// given to `block_on`. Not in `block_on(looplet::spawn_blocking(..))`:
/// the argument is made before the loop runs; there, use
/// `EventLoop::spawn_blocking`. From another thread (a blocking job
/// included), `Handle::spawn` a task that calls it.
///
/// ```
/// # use looplet_executor as looplet;
/// use std::time::Duration;
/// let mut event_loop = looplet::EventLoop::new()?;
/// let outcome = event_loop.block_on(async {
///     let quick = looplet::spawn_blocking(|_| 2 + 2);
///     let endless = looplet::spawn_blocking(|token| {
///         while !token.wait_timeout(Duration::from_secs(1)) {}
///         "stopped when told"
///     });
///     let four = quick.await.unwrap();
///     endless.cancel();
///     let endless = match endless.await {
///         Ok(said) => said, // it was running: it heard the cancel and returned
///         Err(error) if error.is_cancelled() => "never started", // taken out of the queue
///         Err(error) => panic!("{error}"),
///     };
///     (four, endless)
/// });
/// assert_eq!(outcome.0, 4);
/// assert!(["stopped when told", "never started"].contains(&outcome.1));
/// # Ok::<(), std::io::Error>(())
/// ```
#[track_caller]
pub fn spawn_blocking<F, T>(work: F) -> BlockingHandle<T>
where
    F: FnOnce(&CancelToken) -> T + Send + 'static,
    T: Send + 'static,
{
    let spawned_at = Location::caller();
    let core = context::current(
        "looplet::spawn_blocking called",
        "on the loop's thread, use EventLoop::spawn_blocking; from another thread \
         (a blocking job included), Handle::spawn a task that calls it",
    );
    spawn_on(&core, work, None, spawned_at)
}

/// [`spawn_blocking`] with a name, shown in shutdown reports.
///
/// # Panics
/// Outside a running loop, like [`spawn_blocking`].
///
/// ```
/// # use looplet_executor as looplet;
/// let mut event_loop = looplet::EventLoop::new()?;
/// let size = event_loop.block_on(async {
///     looplet::spawn_blocking_named("thumbnailer", |_| 64 * 64).await.unwrap()
/// });
/// assert_eq!(size, 4096);
/// # Ok::<(), std::io::Error>(())
/// ```
#[track_caller]
pub fn spawn_blocking_named<F, T>(name: &str, work: F) -> BlockingHandle<T>
where
    F: FnOnce(&CancelToken) -> T + Send + 'static,
    T: Send + 'static,
{
    let spawned_at = Location::caller();
    let core = context::current(
        "looplet::spawn_blocking_named called",
        "on the loop's thread, use EventLoop::spawn_blocking_named; from another \
         thread, Handle::spawn a task that calls it",
    );
    spawn_on(&core, work, Some(name), spawned_at)
}

/// What every `spawn_blocking` comes down to.
pub(crate) fn spawn_on<F, T>(
    core: &Core,
    work: F,
    name: Option<&str>,
    spawned_at: &'static Location<'static>,
) -> BlockingHandle<T>
where
    F: FnOnce(&CancelToken) -> T + Send + 'static,
    T: Send + 'static,
{
    let name = JobName {
        name: name.map(str::to_string),
        spawned_at,
    };
    BlockingHandle::spawn(core, work, name)
}
