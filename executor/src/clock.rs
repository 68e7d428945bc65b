//! Deadlines that never overflow, and timeouts a host can sleep on.
//!
//! Every `Duration` the API takes may be `Duration::MAX` ("no limit", as
//! std's `Condvar::wait_timeout` and tokio accept it). `Instant + Duration`
//! panics on overflow, so no deadline is computed that way: they all go
//! through [`deadline_after`], which saturates at a point so far ahead that
//! it never comes (a century), the same meaning as "never".

use std::time::{Duration, Instant};

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
