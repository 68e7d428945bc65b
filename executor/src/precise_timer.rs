//! A wake-up at a precise instant, for a loop that sleeps in `epoll_wait`.
//!
//! `epoll_wait` takes its timeout in whole milliseconds (mio rounds a
//! `Duration` *up*, so that it never wakes early): a 100 µs `sleep` would
//! take more than a millisecond, and a host's `turn(Some(left))` would
//! overshoot its frame by up to a millisecond. So on Linux the loop keeps
//! one more source in its `Poll`: a `timerfd`, which the kernel makes
//! readable at a deadline given in nanoseconds. Before the loop sleeps
//! until a timer, it arms the timerfd for that instant and gives
//! `epoll_wait` a generous timeout as a backstop; the timerfd wakes it on
//! time. Elsewhere (and under Miri, which cannot make a timerfd) this type
//! does nothing and the millisecond timeout remains.
//!
//! The same timerfd makes the loop's own fd (`AsRawFd`) readable at its
//! next timer deadline while a host drives it (`EventLoop::return_to_host`
//! arms it), so a host that waits only on that fd wakes for timers too.
//!
//! Arming costs one `timerfd_settime` call; it is skipped when the timer is
//! armed for that very instant already. An armed timer that is not needed
//! any more (the loop woke early, the timer was cancelled) fires anyway and
//! wakes the loop once, for nothing: the loop looks, finds nothing due, and
//! sleeps again.

use std::io;
use std::time::Instant;

/// The timerfd and the instant it is armed for.
pub(crate) struct PreciseTimer {
    #[cfg(all(target_os = "linux", not(miri)))]
    fd: std::os::fd::OwnedFd,
    armed_for: Option<Instant>,
}

impl PreciseTimer {
    /// Creates the timerfd and registers it with `registry` under `token`.
    #[cfg(all(target_os = "linux", not(miri)))]
    pub fn new(registry: &mio::Registry, token: mio::Token) -> io::Result<Self> {
        use rustix::time::{timerfd_create, TimerfdClockId, TimerfdFlags};
        use std::os::fd::AsRawFd;
        let fd = timerfd_create(
            TimerfdClockId::Monotonic,
            TimerfdFlags::NONBLOCK | TimerfdFlags::CLOEXEC,
        )?;
        registry.register(
            &mut mio::unix::SourceFd(&fd.as_raw_fd()),
            token,
            mio::Interest::READABLE,
        )?;
        Ok(PreciseTimer {
            fd,
            armed_for: None,
        })
    }

    /// No precise timer on this system: every method is a no-op.
    #[cfg(not(all(target_os = "linux", not(miri))))]
    pub fn new(_registry: &mio::Registry, _token: mio::Token) -> io::Result<Self> {
        Ok(PreciseTimer { armed_for: None })
    }

    /// Makes the timerfd readable at `deadline` (at once if it has passed).
    /// Returns whether the wake-up is armed: if not, the caller relies on
    /// `epoll_wait`'s own millisecond timeout.
    pub fn arm(&mut self, deadline: Instant) -> bool {
        if self.armed_for == Some(deadline) {
            return true;
        }
        let armed = self.set(deadline);
        self.armed_for = armed.then_some(deadline);
        armed
    }

    /// The instant the timer is armed for, if it has not been seen to fire.
    pub fn armed_for(&self) -> Option<Instant> {
        self.armed_for
    }

    /// The loop has polled its events after `armed_for` passed: the
    /// timer's readiness was taken with them.
    pub fn fired(&mut self) {
        self.armed_for = None;
    }

    #[cfg(all(target_os = "linux", not(miri)))]
    fn set(&self, deadline: Instant) -> bool {
        use rustix::time::{timerfd_settime, Itimerspec, TimerfdTimerFlags, Timespec};
        // Relative to now: `Instant` is CLOCK_MONOTONIC, but it does not
        // show its seconds. A zero value would disarm the timer: at least 1 ns.
        let left = deadline.saturating_duration_since(Instant::now());
        let value = Timespec {
            tv_sec: i64::try_from(left.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: i64::from(left.subsec_nanos().max(u32::from(left.as_secs() == 0))),
        };
        let spec = Itimerspec {
            it_interval: Timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: value,
        };
        timerfd_settime(&self.fd, TimerfdTimerFlags::empty(), &spec).is_ok()
    }

    #[cfg(not(all(target_os = "linux", not(miri))))]
    fn set(&self, _deadline: Instant) -> bool {
        false
    }
}

#[cfg(all(test, target_os = "linux", not(miri)))]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_timer_wakes_a_poll_at_its_deadline_not_at_the_next_millisecond() {
        let mut poll = mio::Poll::new().unwrap();
        let mut events = mio::Events::with_capacity(4);
        let token = mio::Token(7);
        let mut timer = PreciseTimer::new(poll.registry(), token).unwrap();
        let deadline = Instant::now() + Duration::from_micros(200);
        assert!(timer.arm(deadline));
        assert_eq!(timer.armed_for(), Some(deadline));
        // The backstop alone would wait 10 s: only the timerfd can end this.
        poll.poll(&mut events, Some(Duration::from_secs(10)))
            .unwrap();
        assert!(Instant::now() >= deadline, "never early");
        assert_eq!(events.iter().next().map(|e| e.token()), Some(token));
    }

    #[test]
    fn arming_for_the_same_instant_twice_is_one_arming() {
        let poll = mio::Poll::new().unwrap();
        let mut timer = PreciseTimer::new(poll.registry(), mio::Token(1)).unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        assert!(timer.arm(deadline));
        assert!(timer.arm(deadline));
        timer.fired();
        assert_eq!(timer.armed_for(), None);
    }
}
