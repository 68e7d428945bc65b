//! `BlockingReport`: what a shutdown of the blocking pool leaves behind.
//!
//! A pool shutdown cannot end a thread, so it cannot promise that every job
//! is gone; what it can promise is to wait a bounded time and then *say*
//! what it did: which jobs ended, which never started, and which are still
//! running (and for how long). Nothing is leaked silently.

use std::fmt;
use std::panic::Location;
use std::time::Duration;

/// Names a blocking job in reports: its name, if it was spawned with
/// `spawn_blocking_named`, and where it was spawned.
///
/// ```
/// # use looplet_executor as looplet;
/// use std::panic::Location;
/// let named = looplet::JobName { name: Some("indexer".into()), spawned_at: Location::caller() };
/// assert!(named.to_string().starts_with("indexer (spawned at "));
/// let unnamed = looplet::JobName { name: None, ..named };
/// assert!(unnamed.to_string().starts_with("blocking job spawned at "));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobName {
    /// The name given to `spawn_blocking_named`, if any.
    pub name: Option<String>,
    /// Where `spawn_blocking` was called.
    pub spawned_at: &'static Location<'static>,
}

impl fmt::Display for JobName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{name} (spawned at {})", self.spawned_at),
            None => write!(f, "blocking job spawned at {}", self.spawned_at),
        }
    }
}

/// A job that was still running when a shutdown stopped waiting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StillRunning {
    /// Which job.
    pub job: JobName,
    /// How long it had been running when the shutdown gave up on it.
    pub running_for: Duration,
}

/// What [`EventLoop::shutdown_blocking`](crate::EventLoop::shutdown_blocking)
/// (or dropping the loop) did: every job was cancelled; the ones that
/// listened ended in time, the queued ones never started, the rest are
/// listed.
///
/// ```
/// # use looplet_executor as looplet;
/// use std::time::Duration;
/// let mut event_loop = looplet::EventLoop::new()?;
/// let report = event_loop.shutdown_blocking(Duration::from_millis(100));
/// assert!(report.is_clean(), "no jobs: nothing to report");
/// assert_eq!(report.to_string(), "blocking pool: 0 finished, 0 cancelled before they started, 0 still running");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BlockingReport {
    /// Jobs that were running when the shutdown began and returned before
    /// its timeout (their tokens were set: most returned because of it).
    pub finished: usize,
    /// Jobs still queued when the shutdown began: removed, never run; their
    /// handles resolve `Cancelled` (`LoopClosed` when the loop is dropped).
    pub cancelled_before_start: usize,
    /// Jobs still running when the shutdown stopped waiting: their threads
    /// run on (nothing can stop a thread), their results will be dropped.
    pub still_running: Vec<StillRunning>,
    /// How long the shutdown waited.
    pub waited: Duration,
}

impl BlockingReport {
    /// True if no job was left running.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// assert!(looplet::BlockingReport::default().is_clean());
    /// ```
    pub fn is_clean(&self) -> bool {
        self.still_running.is_empty()
    }
}

impl fmt::Display for BlockingReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "blocking pool: {} finished, {} cancelled before they started, {} still running",
            self.finished,
            self.cancelled_before_start,
            self.still_running.len()
        )?;
        for job in &self.still_running {
            write!(
                f,
                "\n  still running ({:.1?} since it started): {}",
                job.running_for, job.job
            )?;
        }
        Ok(())
    }
}

/// The hook type of
/// [`Builder::on_blocking_report`](crate::Builder::on_blocking_report).
pub type BlockingReportHook = Box<dyn Fn(&BlockingReport)>;

/// The default hook, when a loop is dropped: one stderr line per job still
/// running (nothing when every job ended).
pub(crate) fn print_still_running(report: &BlockingReport) {
    for job in &report.still_running {
        eprintln!(
            "looplet: {} was still running ({:.1?} since it started) when the loop was \
             dropped, although it was cancelled; its thread runs on and its result \
             will be dropped",
            job.job, job.running_for
        );
    }
}
