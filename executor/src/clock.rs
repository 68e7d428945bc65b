//! The loop's clock, deadlines that never overflow, and timeouts a host can
//! sleep on.
//!
//! ## Whose time
//!
//! Every timer of a loop (`sleep`, `call_later`, `timeout`, `interval`)
//! reads the loop's [`Clock`]. By default that is the system's monotonic
//! clock. A *manual* clock stands still until told to move
//! ([`Clock::advance`]): timers then fire exactly when a test or a
//! frame-locked game says, in deadline order, however slow the machine is.
//! With [`Clock::auto_advance`], a loop that would go to sleep with only
//! timers to wait for (nothing ready, no message from another thread, no
//! blocking job running) jumps its clock to the next deadline instead, so a
//! one-hour `sleep` in a test takes no time at all.
//!
//! Budgets a host gives (`run_for`, `turn`'s timeout) are the host's real
//! time, never the loop's clock: a frame lasts as long as it lasts.
//!
//! ## Deadlines that never overflow
//!
//! Every `Duration` the API takes may be `Duration::MAX` ("no limit", as
//! std's `Condvar::wait_timeout` and tokio accept it). `Instant + Duration`
//! panics on overflow, so no deadline is computed that way: they all go
//! through [`deadline_after`], which saturates at a point so far ahead that
//! it never comes (a century), the same meaning as "never".

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The time a loop's timers follow: the system's, or a manual one that
/// moves only when told. Cloning shares the clock (advance one clone,
/// every clone and every loop built with it sees the new time).
///
/// ```
/// # use looplet_executor as looplet;
/// use looplet::Clock;
/// use std::time::Duration;
/// let clock = Clock::manual();
/// let mut event_loop = looplet::EventLoop::builder().clock(clock.clone()).build()?;
/// let timer = event_loop.spawn(looplet::sleep(Duration::from_secs(60)));
/// event_loop.run_until_stalled();
/// assert!(!timer.is_finished(), "a minute has not passed on this clock");
/// clock.advance(Duration::from_secs(60));
/// event_loop.run_until_stalled();
/// assert!(timer.is_finished(), "now it has, at once");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct Clock {
    manual: Option<Arc<ManualTime>>,
}

struct ManualTime {
    /// The real instant the clock was made: its time is `start + elapsed`.
    start: Instant,
    elapsed: Mutex<Duration>,
    auto_advance: AtomicBool,
    /// Called after each `advance`: a loop built with this clock wakes, so
    /// that it fires what is due even if it sleeps (or its host does).
    on_advance: Mutex<Vec<Box<dyn Fn() + Send + Sync>>>,
}

impl Clock {
    /// The system's monotonic clock (`Instant::now()`): the default.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// let clock = looplet::Clock::system();
    /// assert!(!clock.is_manual());
    /// ```
    pub fn system() -> Clock {
        Clock { manual: None }
    }

    /// A clock that starts at the current real time and stands still until
    /// [`advance`](Self::advance) moves it.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// use std::time::Duration;
    /// let clock = looplet::Clock::manual();
    /// let before = clock.now();
    /// std::thread::sleep(Duration::from_millis(2));
    /// assert_eq!(clock.now(), before, "real time passing does not move it");
    /// ```
    pub fn manual() -> Clock {
        Clock {
            manual: Some(Arc::new(ManualTime {
                start: Instant::now(),
                elapsed: Mutex::new(Duration::ZERO),
                auto_advance: AtomicBool::new(false),
                on_advance: Mutex::new(Vec::new()),
            })),
        }
    }

    /// True for a clock made by [`manual`](Self::manual).
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// assert!(looplet::Clock::manual().is_manual());
    /// ```
    pub fn is_manual(&self) -> bool {
        self.manual.is_some()
    }

    /// The clock's time now.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// use std::time::Duration;
    /// let clock = looplet::Clock::manual();
    /// let start = clock.now();
    /// clock.advance(Duration::from_millis(16));
    /// assert_eq!(clock.now() - start, Duration::from_millis(16));
    /// ```
    #[inline]
    pub fn now(&self) -> Instant {
        match &self.manual {
            None => Instant::now(),
            Some(manual) => deadline_after(manual.start, *manual.elapsed()),
        }
    }

    /// Moves a manual clock forward by `duration` (from any thread), and
    /// wakes the loops built with it: timers now due fire at their next
    /// turn, in deadline order. `Duration::MAX` saturates (a century).
    ///
    /// # Panics
    /// On the system clock, which nobody can move.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// use std::cell::RefCell;
    /// use std::rc::Rc;
    /// use std::time::Duration;
    /// let clock = looplet::Clock::manual();
    /// let mut event_loop = looplet::EventLoop::builder().clock(clock.clone()).build()?;
    /// let fired = Rc::new(RefCell::new(Vec::new()));
    /// for ms in [30, 10, 20] {
    ///     let fired = Rc::clone(&fired);
    ///     event_loop.call_later(Duration::from_millis(ms), move || fired.borrow_mut().push(ms));
    /// }
    /// clock.advance(Duration::from_millis(25));
    /// event_loop.run_until_stalled();
    /// assert_eq!(*fired.borrow(), [10, 20]);
    /// clock.advance(Duration::from_millis(5));
    /// event_loop.run_until_stalled();
    /// assert_eq!(*fired.borrow(), [10, 20, 30]);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn advance(&self, duration: Duration) {
        let Some(manual) = &self.manual else {
            panic!("Clock::advance on the system clock: build the loop with Clock::manual() to move time by hand");
        };
        {
            let mut elapsed = manual.elapsed();
            *elapsed = elapsed.saturating_add(duration).min(FAR_FUTURE);
        }
        let callbacks = manual
            .on_advance
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for wake in callbacks.iter() {
            wake();
        }
    }

    /// Turns auto-advance on or off (off by default). With it on, a loop
    /// that would go to sleep with only timers to wait for jumps this clock
    /// to the next timer's deadline instead (trio's autojump): code that
    /// sleeps for an hour runs in no time, in the same order as it would in
    /// real time. The loop never jumps while work is ready, a message from
    /// another thread is pending, or a blocking job is running or queued.
    ///
    /// # Panics
    /// On the system clock.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// use std::time::{Duration, Instant};
    /// let clock = looplet::Clock::manual();
    /// clock.auto_advance(true);
    /// let mut event_loop = looplet::EventLoop::builder().clock(clock.clone()).build()?;
    /// let real_start = Instant::now();
    /// let clock_start = clock.now();
    /// event_loop.block_on(looplet::sleep(Duration::from_secs(3600)));
    /// assert_eq!(clock.now() - clock_start, Duration::from_secs(3600));
    /// assert!(real_start.elapsed() < Duration::from_secs(60), "no real hour passed");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn auto_advance(&self, on: bool) {
        let Some(manual) = &self.manual else {
            panic!("Clock::auto_advance on the system clock: build the loop with Clock::manual()");
        };
        manual.auto_advance.store(on, Ordering::Relaxed);
    }

    /// True if this is a manual clock with auto-advance on.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// let clock = looplet::Clock::manual();
    /// assert!(!clock.is_auto_advancing());
    /// clock.auto_advance(true);
    /// assert!(clock.is_auto_advancing());
    /// ```
    pub fn is_auto_advancing(&self) -> bool {
        self.manual
            .as_ref()
            .is_some_and(|manual| manual.auto_advance.load(Ordering::Relaxed))
    }

    /// Auto-advance: moves a manual clock to `deadline` if that is later
    /// than its time (the loop is the one jumping: no wake needed). Returns
    /// false, and leaves the clock, for a deadline that means "never"
    /// (`sleep(Duration::MAX)`): jumping a century ahead would fire it.
    pub(crate) fn jump_to(&self, deadline: Instant) -> bool {
        let Some(manual) = &self.manual else {
            return false;
        };
        let mut elapsed = manual.elapsed();
        let target = deadline.saturating_duration_since(manual.start);
        if target.saturating_sub(*elapsed) >= FAR_FUTURE / 2 {
            return false;
        }
        if target > *elapsed {
            *elapsed = target;
        }
        true
    }

    /// Registers `wake` to be called after each `advance` (a loop built
    /// with this clock registers its own wake). No effect on the system clock.
    pub(crate) fn on_advance(&self, wake: impl Fn() + Send + Sync + 'static) {
        if let Some(manual) = &self.manual {
            manual
                .on_advance
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(Box::new(wake));
        }
    }
}

impl ManualTime {
    fn elapsed(&self) -> std::sync::MutexGuard<'_, Duration> {
        self.elapsed.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::system()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.manual {
            None => f.write_str("Clock::system"),
            Some(manual) => f
                .debug_struct("Clock::manual")
                .field("elapsed", &*manual.elapsed())
                .field("auto_advance", &self.is_auto_advancing())
                .finish(),
        }
    }
}

/// What a deadline saturates to: far enough that no program waits for it.
const FAR_FUTURE: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

/// `start + duration`, or a century after `start` if that overflows.
pub(crate) fn deadline_after(start: Instant, duration: Duration) -> Instant {
    start
        .checked_add(duration)
        .unwrap_or_else(|| start + FAR_FUTURE)
}

/// How long a host may sleep before it must call the loop again, given the
/// loop's next deadline: `Some(ZERO)` if the deadline has come, `None` if
/// there is none. Rounded **up** to a whole millisecond, because the pollers
/// hosts sleep in (`poll(2)`, `epoll_wait`, GLib, calloop) count whole
/// milliseconds: a host that rounded 0.3 ms down to 0 would wake at once,
/// find nothing due, and spin until the timer is.
pub(crate) fn host_timeout(deadline: Option<Instant>, now: Instant) -> Option<Duration> {
    let left = deadline?.saturating_duration_since(now);
    let whole_ms = left.as_nanos().div_ceil(1_000_000);
    Some(Duration::from_millis(
        u64::try_from(whole_ms).unwrap_or(u64::MAX),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_duration_saturates_instead_of_panicking() {
        let now = Instant::now();
        let far = deadline_after(now, Duration::MAX);
        assert!(far > now + Duration::from_secs(50 * 365 * 24 * 60 * 60));
        let near = deadline_after(now, Duration::from_millis(3));
        assert_eq!(near, now + Duration::from_millis(3), "no overflow: exact");
    }

    #[test]
    fn host_timeouts_round_up_to_whole_milliseconds() {
        let now = Instant::now();
        let after = |us| host_timeout(Some(now + Duration::from_micros(us)), now);
        assert_eq!(after(0), Some(Duration::ZERO));
        assert_eq!(after(300), Some(Duration::from_millis(1)));
        assert_eq!(after(1_000), Some(Duration::from_millis(1)));
        assert_eq!(after(1_001), Some(Duration::from_millis(2)));
        assert_eq!(
            host_timeout(Some(now), now + Duration::from_secs(1)),
            Some(Duration::ZERO),
            "a deadline in the past: call now"
        );
        assert_eq!(host_timeout(None, now), None);
    }
}
