//! Time: `sleep`, `sleep_until`, `timeout`, `interval`.
//!
//! A [`Sleep`] registers a timer with the current loop on its first poll and
//! cancels it when dropped; the loop fires expired timers at the start of
//! each turn and sleeps in `epoll_wait` no longer than the next deadline.

use crate::clock::deadline_after;
use crate::context;
use crate::core::Core;
use crate::timers::TimerKey;
use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Now, by the current loop's clock (or the system clock outside a loop).
fn now() -> Instant {
    context::try_current().map_or_else(Instant::now, |core| core.now())
}

/// Completes after `duration`. Must be polled inside a loop.
/// `Duration::MAX` sleeps forever (until dropped). The duration counts from
/// now by the current loop's clock, or, for a sleep made outside any loop
/// (before `block_on`, say), from its first poll by the clock of the loop
/// that polls it: so it means the same on a manual clock.
///
/// ```
/// # use looplet_executor as looplet;
/// use std::time::{Duration, Instant};
/// let mut event_loop = looplet::EventLoop::new()?;
/// let start = Instant::now();
/// event_loop.block_on(looplet::sleep(Duration::from_millis(3)));
/// assert!(start.elapsed() >= Duration::from_millis(3));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    match context::try_current() {
        Some(core) => sleep_until(deadline_after(core.now(), duration)),
        None => Sleep {
            deadline: Instant::now(), // an estimate until the first poll
            starts_at_first_poll: Some(duration),
            timer: None,
        },
    }
}

/// Completes at `deadline`. Must be polled inside a loop.
///
/// ```
/// # use looplet_executor as looplet;
/// use std::time::{Duration, Instant};
/// let mut event_loop = looplet::EventLoop::new()?;
/// let next_frame = Instant::now() + Duration::from_millis(2);
/// event_loop.block_on(looplet::sleep_until(next_frame));
/// assert!(Instant::now() >= next_frame);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        deadline,
        starts_at_first_poll: None,
        timer: None,
    }
}

/// The future of [`sleep`] and [`sleep_until`].
///
/// `Sleep` is `Send`, so it can be used in futures given to
/// [`Handle::spawn`](crate::Handle::spawn): it names its timer by
/// `(loop id, key)` and reaches the loop through the current-loop
/// thread-local, never through a pointer of its own.
///
/// ```
/// # use looplet_executor as looplet;
/// use std::time::Duration;
/// let mut event_loop = looplet::EventLoop::new()?;
/// let handle = event_loop.handle();
/// // Send: a Sleep may be part of a future submitted from another thread.
/// let remote = handle.spawn(async { looplet::sleep(Duration::from_millis(1)).await });
/// event_loop.block_on(remote).unwrap();
/// # Ok::<(), std::io::Error>(())
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Sleep {
    deadline: Instant,
    /// A `sleep(duration)` made outside a loop: the deadline is counted
    /// from the first poll, by the polling loop's clock.
    starts_at_first_poll: Option<Duration>,
    /// The registered timer, once polled: which loop, which timer.
    timer: Option<(u64, TimerKey)>,
}

impl Sleep {
    /// When this sleep completes (for a `sleep` made outside a loop and not
    /// polled yet: counted from now, as if it were polled now).
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// use std::time::{Duration, Instant};
    /// let sleep = looplet::sleep_until(Instant::now() + Duration::from_secs(1));
    /// assert!(sleep.deadline() > Instant::now());
    /// ```
    pub fn deadline(&self) -> Instant {
        match self.starts_at_first_poll {
            Some(duration) => deadline_after(now(), duration),
            None => self.deadline,
        }
    }

    /// Moves the deadline (the timer is re-registered at the next poll).
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// use std::time::{Duration, Instant};
    /// let mut event_loop = looplet::EventLoop::new()?;
    /// let mut sleep = looplet::sleep(Duration::from_secs(3600));
    /// sleep.reset(Instant::now()); // now, not in an hour
    /// event_loop.block_on(sleep);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn reset(&mut self, deadline: Instant) {
        self.cancel_timer();
        self.deadline = deadline;
        self.starts_at_first_poll = None;
    }

    fn cancel_timer(&mut self) {
        let Some((loop_id, key)) = self.timer.take() else {
            return;
        };
        // Only the loop that holds the timer can cancel it. Dropped anywhere
        // else (another thread, or while the loop is shutting down), the
        // timer simply fires later and wakes nobody that still cares.
        if let Some(core) = context::try_current().filter(|c| c.loop_id() == loop_id) {
            core.cancel_timer(key);
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let core: Rc<Core> = context::current(
            "a looplet::sleep or timeout polled",
            "a Sleep (and a timeout) must be awaited by a task of a running loop: \
             inside EventLoop::block_on, EventLoop::spawn or looplet::spawn",
        );
        if let Some(duration) = self.starts_at_first_poll.take() {
            self.deadline = deadline_after(core.now(), duration);
        }
        if core.now() >= self.deadline {
            self.cancel_timer();
            return Poll::Ready(());
        }
        let registered = match self.timer {
            Some((loop_id, key)) => {
                loop_id == core.loop_id() && core.update_wake_timer(key, cx.waker())
            }
            None => false,
        };
        if !registered {
            let key = core.add_wake_timer(self.deadline, cx.waker().clone());
            self.timer = Some((core.loop_id(), key));
        }
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.cancel_timer();
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline())
            .field("registered", &self.timer.is_some())
            .finish()
    }
}

/// The error of [`timeout`]: the deadline passed first.
///
/// ```
/// # use looplet_executor as looplet;
/// use std::time::Duration;
/// let mut event_loop = looplet::EventLoop::new()?;
/// let late = event_loop.block_on(looplet::timeout(Duration::from_millis(1), std::future::pending::<()>()));
/// assert_eq!(late, Err(looplet::Elapsed));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed;

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

/// `Elapsed` as an `io::Error` of kind `TimedOut`, so that
/// `timeout(d, socket_op).await??` works in a function returning
/// `io::Result`.
///
/// ```
/// # use looplet_executor as looplet;
/// let error: std::io::Error = looplet::Elapsed.into();
/// assert_eq!(error.kind(), std::io::ErrorKind::TimedOut);
/// ```
impl From<Elapsed> for std::io::Error {
    fn from(elapsed: Elapsed) -> Self {
        std::io::Error::new(std::io::ErrorKind::TimedOut, elapsed)
    }
}

/// Runs `future` for at most `duration` (counted from this call). On
/// `Err(Elapsed)` the inner future has already been dropped (its
/// destructors ran). `Duration::MAX` means no limit.
///
/// Unlike asyncio's `wait_for` and `asyncio.timeout`, which cancel the inner
/// coroutine by throwing `CancelledError` into it and then have to guess,
/// from that same exception type, whether the deadline or an outside
/// `cancel()` caused it (and have shipped bugs where one was taken for the
/// other), the two cannot be confused here: the deadline is `Err(Elapsed)`,
/// a value returned to the caller; a cancellation of the task running the
/// timeout is that task's own (`looplet::is_cancelled`, or its future being
/// dropped). The inner future is simply dropped, never told a lie.
///
/// ```
/// # use looplet_executor as looplet;
/// use std::time::Duration;
/// let mut event_loop = looplet::EventLoop::new()?;
/// let quick = event_loop.block_on(looplet::timeout(Duration::from_secs(5), async { "in time" }));
/// assert_eq!(quick, Ok("in time"));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn timeout<F: Future>(
    duration: Duration,
    future: F,
) -> impl Future<Output = Result<F::Output, Elapsed>> {
    let deadline = sleep(duration);
    async move {
        // Both pinned in this future's own state: a safe pin projection.
        let mut future = pin!(future);
        let mut deadline = pin!(deadline);
        poll_fn(|cx| {
            if let Poll::Ready(output) = future.as_mut().poll(cx) {
                return Poll::Ready(Ok(output));
            }
            match deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(Elapsed)),
                Poll::Pending => Poll::Pending,
            }
        })
        .await
        // `future` is dropped here, before the caller sees the result.
    }
}

/// A periodic timer: `tick().await` completes once per `period`, on the
/// current loop's clock. The first tick completes at once (at the first
/// poll, for an interval made outside a loop). Ticks keep to their grid
/// (`first + n × period`) when they are late by less than a period; a tick
/// late by a whole period or more does not cause a burst of catch-up ticks:
/// the grid restarts from that tick.
///
/// ```
/// # use looplet_executor as looplet;
/// use std::time::Duration;
/// let mut event_loop = looplet::EventLoop::new()?;
/// event_loop.block_on(async {
///     let mut every = looplet::interval(Duration::from_millis(1));
///     for _ in 0..3 {
///         every.tick().await; // the first tick is at once
///     }
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn interval(period: Duration) -> Interval {
    assert!(
        period > Duration::ZERO,
        "looplet::interval: period must be > 0"
    );
    Interval {
        period,
        sleep: sleep(Duration::ZERO), // lazy outside a loop, like `sleep`
    }
}

/// The timer of [`interval`].
///
/// ```
/// # use looplet_executor as looplet;
/// use std::time::Duration;
/// let mut event_loop = looplet::EventLoop::new()?;
/// let ticker = event_loop.spawn(async {
///     let mut frame = looplet::interval(Duration::from_millis(1));
///     for _ in 0..5 {
///         frame.tick().await;
///         // … update the game state …
///     }
/// });
/// event_loop.block_on(ticker).unwrap();
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Interval {
    period: Duration,
    sleep: Sleep,
}

impl Interval {
    /// Waits for the next tick; returns the instant it was scheduled for.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// use std::time::{Duration, Instant};
    /// let mut event_loop = looplet::EventLoop::new()?;
    /// event_loop.block_on(async {
    ///     let mut every = looplet::interval(Duration::from_millis(2));
    ///     let first = every.tick().await;
    ///     let second = every.tick().await;
    ///     assert_eq!(second - first, Duration::from_millis(2), "scheduled, not measured");
    ///     assert!(Instant::now() >= second);
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn tick(&mut self) -> Instant {
        poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick (for hand-written futures).
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// use std::future::poll_fn;
    /// use std::time::Duration;
    /// let mut event_loop = looplet::EventLoop::new()?;
    /// event_loop.block_on(async {
    ///     let mut every = looplet::interval(Duration::from_millis(1));
    ///     // In a hand-written future's poll: `every.poll_tick(cx)`.
    ///     poll_fn(|cx| every.poll_tick(cx)).await;
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        let scheduled = self.sleep.deadline();
        if Pin::new(&mut self.sleep).poll(cx).is_pending() {
            return Poll::Pending;
        }
        let next = deadline_after(scheduled, self.period);
        let now = now();
        self.sleep.reset(if next > now {
            next
        } else {
            deadline_after(now, self.period)
        });
        Poll::Ready(scheduled)
    }

    /// The period.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// use std::time::Duration;
    /// let mut event_loop = looplet::EventLoop::new()?;
    /// let every = event_loop.block_on(async { looplet::interval(Duration::from_millis(16)) });
    /// assert_eq!(every.period(), Duration::from_millis(16));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn period(&self) -> Duration {
        self.period
    }
}
