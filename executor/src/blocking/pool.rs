//! The blocking pool: threads for work that would block the loop.
//!
//! A file read, a compression, a call into a C library that sleeps: run on
//! the loop thread, any of them freezes every task. The pool runs them on
//! threads of its own, started on demand up to a cap and ended after an
//! idle keep-alive; what does not fit waits in a FIFO queue.
//!
//! ```text
//!   submit ──► queue (FIFO, by sequence number) ──► a worker takes the oldest
//!                 │                                      │ runs it (its token in hand)
//!      unqueue ◄──┘ cancel before start:                 ▼
//!      never runs, resolves Cancelled              running (name, start time)
//!                                                        │ returns or panics
//!                                                        ▼
//!                                              the job delivers its own result
//! ```
//!
//! The pool knows jobs only as [`Job`]s: something to `run` with a token,
//! or to `refuse` with a reason. The typed side (the result, the handle
//! that awaits it) is `blocking/handle.rs`; the pool only moves jobs and
//! keeps the books that shutdown and metrics read.
//!
//! ## Waking workers: idle, notified, started
//!
//! A submission must reach a thread, and must not start one when an idle
//! thread could take it. `idle` counts workers asleep waiting for work;
//! `notified` counts wake-ups sent and not yet taken. A submission wakes an
//! idle worker if there are more idle workers than wake-ups in flight, else
//! starts a thread if the cap allows, else waits in the queue for the next
//! worker that finishes a job. A worker that wakes for any reason takes one
//! pending wake-up (if any) and looks at the queue; it exits only when its
//! keep-alive ran out *and* the queue is empty, so a queued job always has a
//! worker coming for it.

use super::report::{BlockingReport, JobName, StillRunning};
use super::token::CancelToken;
use crate::clock::deadline_after;
use crate::outcome::JoinError;
use crate::panic::catch;
use crate::sync::{Arc, Condvar, Mutex};
use slab::Slab;
use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

/// A job as the pool sees it. Exactly one of the two methods is called,
/// once; a job dropped without either (its thread unwound) resolves its
/// handle by itself.
pub(crate) trait Job: Send {
    /// Runs the work on a pool thread and delivers its result. Never
    /// unwinds: the work's panic is part of the result.
    fn run(self: Box<Self>, token: &CancelToken);
    /// The job will never run: drops the work and resolves its handle with
    /// `reason`. Never unwinds.
    fn refuse(self: Box<Self>, reason: JoinError);
}

/// Names a job inside the pool: its place in the FIFO.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct JobId(u64);

/// The pool's settings, from the `Builder`.
#[derive(Debug, Clone)]
pub(crate) struct PoolConfig {
    pub max_threads: usize,
    pub keep_alive: Duration,
    /// Threads are named `{thread_name}-{n}`.
    pub thread_name: String,
}

/// A handle to the pool; clones share it. The loop's `Core` holds one, and
/// so does every `BlockingHandle` (to take its job out of the queue).
#[derive(Clone)]
pub(crate) struct BlockingPool {
    shared: Arc<Shared>,
}

struct Shared {
    config: PoolConfig,
    state: Mutex<State>,
    /// Idle workers sleep here until a job (or the close) arrives.
    work_available: Condvar,
    /// A shutdown sleeps here until running jobs end.
    job_ended: Condvar,
}

struct Queued {
    job: Box<dyn Job>,
    token: CancelToken,
    name: JobName,
}

struct Running {
    id: JobId,
    token: CancelToken,
    name: JobName,
    started: Instant,
    /// An earlier shutdown waited for this job in vain and reported it: a
    /// later one (the loop's drop after `shutdown_blocking`) reports it
    /// again but does not wait for it a second time.
    given_up: bool,
}

#[derive(Default)]
struct State {
    /// Waiting jobs, oldest first. Ids only grow, so the queue is sorted
    /// by id: a cancel finds its job by binary search.
    queue: VecDeque<(JobId, Queued)>,
    /// Running jobs; each worker remembers the key of its own.
    running: Slab<Running>,
    next_id: u64,
    threads: usize,
    idle: usize,
    notified: usize,
    threads_started: u64,
    jobs_submitted: u64,
    jobs_abandoned: u64,
    /// The loop is gone: no new jobs; workers exit once the queue is empty.
    closed: bool,
}

/// What the cancelling half of a shutdown leaves for the waiting half.
pub(crate) struct ShutdownBegun {
    began: Instant,
    running_at_start: Vec<JobId>,
    cancelled_before_start: usize,
}

/// The pool's counters, for `Metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct PoolStats {
    pub threads_alive: u64,
    pub threads_busy: u64,
    pub jobs_queued: u64,
    pub jobs_submitted: u64,
    pub jobs_abandoned: u64,
}

impl BlockingPool {
    pub fn new(config: PoolConfig) -> Self {
        assert!(config.max_threads > 0, "a blocking pool needs a thread");
        BlockingPool {
            shared: Arc::new(Shared {
                config,
                state: Mutex::new(State::default()),
                work_available: Condvar::new(),
                job_ended: Condvar::new(),
            }),
        }
    }

    /// Queues `job`, waking or starting a worker for it. A closed pool
    /// hands the job back (the caller refuses it: `LoopClosed`).
    pub fn submit(
        &self,
        job: Box<dyn Job>,
        token: CancelToken,
        name: JobName,
    ) -> Result<JobId, Box<dyn Job>> {
        let mut state = self.shared.state.lock();
        if state.closed {
            return Err(job);
        }
        let id = JobId(state.next_id);
        state.next_id += 1;
        state.jobs_submitted += 1;
        state.queue.push_back((id, Queued { job, token, name }));
        if state.idle > state.notified {
            state.notified += 1;
            // Notified after the unlock, so that the woken worker does not
            // wake into a lock we still hold. The idle worker counted itself
            // as a sleeper before it released the lock we took: the skip in
            // `Condvar::notify_one` cannot miss it.
            drop(state);
            self.shared.work_available.notify_one();
            return Ok(id);
        }
        if state.threads >= self.shared.config.max_threads {
            return Ok(id); // the next worker to finish a job takes it
        }
        state.threads += 1;
        state.threads_started += 1;
        let number = state.threads_started;
        drop(state);
        self.start_worker(number, id)
    }

    /// Starts worker number `number` for the job `id` just queued.
    fn start_worker(&self, number: u64, id: JobId) -> Result<JobId, Box<dyn Job>> {
        let shared = Arc::clone(&self.shared);
        let started = std::thread::Builder::new()
            .name(format!("{}-{number}", self.shared.config.thread_name))
            .spawn(move || worker(&shared));
        let Err(error) = started else {
            return Ok(id);
        };
        // The OS refused a thread (out of memory or of threads). With other
        // workers alive the job just waits for one; with none, nothing would
        // ever run it: hand it back as a failure instead of hanging.
        let mut state = self.shared.state.lock();
        state.threads -= 1;
        if state.threads > 0 {
            return Ok(id);
        }
        let stranded = take_queued(&mut state.queue, id);
        drop(state);
        if let Some(queued) = stranded {
            let message = format!("looplet: could not start a blocking pool thread: {error}");
            queued.job.refuse(JoinError::Panicked(Box::new(message)));
        }
        Ok(id)
    }

    /// Takes job `id` out of the queue if it has not started, for the
    /// caller to refuse (it will never run); `None` if it has started, or
    /// ended, or was taken already.
    pub fn unqueue(&self, id: JobId) -> Option<Box<dyn Job>> {
        take_queued(&mut self.shared.state.lock().queue, id).map(|queued| queued.job)
    }

    /// Counts job `id` as abandoned (`BlockingHandle::abandon`) if it is
    /// running: a job refused meanwhile by a shutdown never ran.
    pub fn note_abandoned(&self, id: JobId) {
        let mut state = self.shared.state.lock();
        if state.running.iter().any(|(_, job)| job.id == id) {
            state.jobs_abandoned += 1;
        }
    }

    pub fn stats(&self) -> PoolStats {
        let state = self.shared.state.lock();
        PoolStats {
            threads_alive: state.threads as u64,
            threads_busy: state.running.len() as u64,
            jobs_queued: state.queue.len() as u64,
            jobs_submitted: state.jobs_submitted,
            jobs_abandoned: state.jobs_abandoned,
        }
    }

    /// Cancels every job and waits up to `timeout` for the running ones:
    /// [`begin_shutdown`](Self::begin_shutdown), then
    /// [`finish_shutdown`](Self::finish_shutdown).
    pub fn shutdown(
        &self,
        timeout: Duration,
        close: bool,
        unstarted: fn() -> JoinError,
    ) -> BlockingReport {
        let begun = self.begin_shutdown(close, unstarted);
        self.finish_shutdown(begun, timeout)
    }

    /// The cancelling half of a shutdown: the queued jobs are refused with
    /// `unstarted` (they never run), the running ones have their tokens
    /// set. With `close`, the pool also takes no new jobs and its threads
    /// exit once idle (the loop is being dropped: it does this first, so
    /// that no job starts while its tasks are dropped).
    pub fn begin_shutdown(&self, close: bool, unstarted: fn() -> JoinError) -> ShutdownBegun {
        let began = Instant::now();
        let mut state = self.shared.state.lock();
        if close {
            state.closed = true;
        }
        let queued = std::mem::take(&mut state.queue);
        let running_at_start: Vec<JobId> = state.running.iter().map(|(_, job)| job.id).collect();
        for (_, running) in &state.running {
            running.token.cancel();
        }
        drop(state);
        if close {
            self.shared.work_available.notify_all(); // idle workers: exit
        }
        let cancelled_before_start = queued.len();
        for (_, queued) in queued {
            queued.token.cancel();
            queued.job.refuse(unstarted());
        }
        ShutdownBegun {
            began,
            running_at_start,
            cancelled_before_start,
        }
    }

    /// The waiting half: waits up to `timeout` for the jobs that were
    /// running (but not for those an earlier shutdown already gave up on),
    /// and reports.
    pub fn finish_shutdown(&self, begun: ShutdownBegun, timeout: Duration) -> BlockingReport {
        let deadline = deadline_after(Instant::now(), timeout);
        let mut state = self.shared.state.lock();
        let waiting_for = |state: &State| state.running.iter().any(|(_, job)| !job.given_up);
        while waiting_for(&state) && Instant::now() < deadline {
            self.shared.job_ended.wait_until(&mut state, deadline);
        }
        for (_, job) in &mut state.running {
            job.given_up = true;
        }
        let now = Instant::now();
        let still_running: Vec<StillRunning> = state
            .running
            .iter()
            .map(|(_, running)| StillRunning {
                job: running.name.clone(),
                running_for: now.saturating_duration_since(running.started),
            })
            .collect();
        let finished = begun
            .running_at_start
            .iter()
            .filter(|id| !state.running.iter().any(|(_, job)| job.id == **id))
            .count();
        BlockingReport {
            finished,
            cancelled_before_start: begun.cancelled_before_start,
            still_running,
            waited: now.saturating_duration_since(begun.began),
        }
    }
}

/// Takes job `id` out of the queue, wherever it is.
fn take_queued(queue: &mut VecDeque<(JobId, Queued)>, id: JobId) -> Option<Queued> {
    let at = queue
        .binary_search_by_key(&id, |(queued, _)| *queued)
        .ok()?;
    queue.remove(at).map(|(_, queued)| queued)
}

/// A worker thread: takes the oldest job, runs it, repeats; exits when idle
/// for the keep-alive with nothing queued, or when the pool is closed and
/// nothing is queued.
fn worker(shared: &Shared) {
    let mut state = shared.state.lock();
    loop {
        if let Some((id, queued)) = state.queue.pop_front() {
            let Queued { job, token, name } = queued;
            let running = Running {
                id,
                token: token.clone(),
                name,
                started: Instant::now(),
                given_up: false,
            };
            let key = state.running.insert(running);
            drop(state);
            // `Job::run` catches the work's panic; this catch is for what
            // runs around it (a waker, a wake hook): whatever happens, the
            // books below are kept, or the pool would count a ghost job.
            let _ = catch(|| job.run(&token));
            state = shared.state.lock();
            state.running.remove(key);
            shared.job_ended.notify_all();
            continue;
        }
        if state.closed {
            break;
        }
        state.idle += 1;
        let keep_alive = deadline_after(Instant::now(), shared.config.keep_alive);
        let timed_out = shared.work_available.wait_until(&mut state, keep_alive);
        state.idle -= 1;
        if state.notified > 0 {
            state.notified -= 1; // taken: a job was queued for an idle worker
        } else if timed_out && state.queue.is_empty() {
            break;
        }
    }
    state.threads -= 1;
}

impl fmt::Debug for BlockingPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingPool")
            .field("config", &self.shared.config)
            .field("stats", &self.stats())
            .finish()
    }
}
