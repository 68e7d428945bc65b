//! Specifies timers: `call_later`/`call_at` fire in deadline order (ties in
//! creation order) and never after cancel; `sleep` never ends early;
//! `timeout` drops its inner future before reporting `Elapsed`; `interval`
//! ticks at once and then once per period; `next_deadline` names the next timer.

mod common;

use common::{drop_guard, turn_until, Trace, Watchdog, BOUND};
use looplet::{interval, sleep, sleep_until, timeout, Elapsed, EventLoop};
use std::cell::Cell;
use std::future::{pending, poll_fn};
use std::rc::Rc;
use std::task::Poll;
use std::time::{Duration, Instant};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn call_later_fires_in_deadline_order_not_creation_order() {
    let mut event_loop = EventLoop::new().unwrap();
    let trace = Trace::new();
    let start = Instant::now();
    event_loop.call_later(ms(30), trace.recorder("30"));
    event_loop.call_later(ms(10), trace.recorder("10"));
    event_loop.call_later(ms(20), trace.recorder("20"));
    assert!(turn_until(&mut event_loop, BOUND, || trace.len() == 3));
    trace.assert(&["10", "20", "30"]);
    assert!(
        start.elapsed() >= ms(30),
        "the last one fired no earlier than 30 ms"
    );
}

#[test]
fn timers_with_equal_deadlines_fire_in_creation_order() {
    let mut event_loop = EventLoop::new().unwrap();
    let trace = Trace::new();
    let deadline = Instant::now() + ms(10);
    for name in ["first", "second", "third", "fourth"] {
        event_loop.call_at(deadline, trace.recorder(name));
    }
    event_loop.call_at(deadline - ms(5), trace.recorder("earlier"));
    assert!(turn_until(&mut event_loop, BOUND, || trace.len() == 5));
    trace.assert(&["earlier", "first", "second", "third", "fourth"]);
}

#[test]
fn expired_timers_fired_together_run_in_deadline_order() {
    let mut event_loop = EventLoop::new().unwrap();
    let trace = Trace::new();
    let base = Instant::now();
    event_loop.call_at(base + ms(3), trace.recorder("3"));
    event_loop.call_at(base + ms(1), trace.recorder("1"));
    event_loop.call_at(base + ms(2), trace.recorder("2"));
    // All three are due by the time the loop looks.
    std::thread::sleep(ms(10));
    event_loop.turn(Some(Duration::ZERO));
    trace.assert(&["1", "2", "3"]);
}

#[test]
fn a_cancelled_call_later_never_fires() {
    let mut event_loop = EventLoop::new().unwrap();
    let trace = Trace::new();
    let cancelled = event_loop.call_later(ms(5), trace.recorder("cancelled"));
    event_loop.call_later(ms(20), trace.recorder("marker"));
    assert!(cancelled.cancel());
    assert!(!cancelled.cancel());
    assert!(turn_until(&mut event_loop, BOUND, || trace.len() == 1));
    // Give the cancelled one every chance to show up.
    event_loop.turn(Some(ms(10)));
    event_loop.run_until_stalled();
    trace.assert(&["marker"]);
}

#[test]
fn a_call_later_cancelled_after_its_deadline_but_before_running_never_fires() {
    let mut event_loop = EventLoop::new().unwrap();
    let trace = Trace::new();
    let handle = event_loop.call_later(ms(1), trace.recorder("late"));
    std::thread::sleep(ms(5));
    assert!(handle.cancel(), "due but not run yet: still cancellable");
    event_loop.run_until_stalled();
    assert!(trace.is_empty());
}

#[test]
fn sleep_completes_no_earlier_than_its_deadline() {
    let mut event_loop = EventLoop::new().unwrap();
    for wait in [ms(1), ms(15), ms(30)] {
        let start = Instant::now();
        event_loop.block_on(sleep(wait));
        let elapsed = start.elapsed();
        assert!(elapsed >= wait, "slept {elapsed:?} < {wait:?}");
        assert!(elapsed < BOUND, "slept {elapsed:?}");
    }
    let deadline = Instant::now() + ms(20);
    event_loop.block_on(sleep_until(deadline));
    assert!(Instant::now() >= deadline);
}

#[test]
fn tasks_sleeping_at_once_wake_in_deadline_order() {
    let mut event_loop = EventLoop::new().unwrap();
    let trace = Trace::new();
    let mut handles = Vec::new();
    for d in [25u64, 5, 15] {
        let t = trace.clone();
        handles.push(event_loop.spawn(async move {
            sleep(ms(d)).await;
            t.push(d.to_string());
        }));
    }
    event_loop.block_on(async {
        for h in handles {
            h.await.unwrap();
        }
    });
    trace.assert(&["5", "15", "25"]);
}

#[test]
fn a_zero_sleep_completes_without_parking() {
    let mut event_loop = EventLoop::new().unwrap();
    event_loop.block_on(sleep(Duration::ZERO));
    assert_eq!(event_loop.metrics().sleeps, 0);
}

#[test]
fn timeout_elapses_and_drops_the_inner_future_before_the_caller_sees_it() {
    let mut event_loop = EventLoop::new().unwrap();
    let (guard, dropped) = drop_guard();
    let start = Instant::now();
    let (result, dropped_when_returned) = event_loop.block_on(async {
        let result = timeout(ms(10), async move {
            let _guard = guard;
            pending::<()>().await;
        })
        .await;
        (result, dropped.is_dropped())
    });
    assert_eq!(result, Err(Elapsed));
    assert!(
        dropped_when_returned,
        "inner future must be dropped before timeout returns"
    );
    assert!(start.elapsed() >= ms(10));
}

#[test]
fn timeout_with_a_fast_inner_future_returns_ok_and_cancels_its_timer() {
    let mut event_loop = EventLoop::new().unwrap();
    let (guard, dropped) = drop_guard();
    let (result, dropped_when_returned) = event_loop.block_on(async {
        let result = timeout(BOUND, async move {
            let _guard = guard;
            sleep(ms(1)).await;
            "fast"
        })
        .await;
        (result, dropped.is_dropped())
    });
    assert_eq!(result, Ok("fast"));
    assert!(dropped_when_returned);
    assert_eq!(
        event_loop.next_deadline(),
        None,
        "the timeout's own timer is gone once it returns"
    );
}

#[test]
fn timeout_with_an_immediately_ready_future_is_ok() {
    let mut event_loop = EventLoop::new().unwrap();
    let result = event_loop.block_on(timeout(Duration::ZERO, async { 3 }));
    assert_eq!(result, Ok(3), "a ready future wins even a zero timeout");
}

#[test]
fn interval_ticks_at_once_then_once_per_period() {
    let mut event_loop = EventLoop::new().unwrap();
    let period = ms(10);
    let (first_ready, scheduled, observed) = event_loop.block_on(async {
        let mut ticker = interval(period);
        assert_eq!(ticker.period(), period);
        // The first tick is ready on its very first poll.
        let first = poll_fn(|cx| Poll::Ready(ticker.poll_tick(cx))).await;
        let Poll::Ready(first) = first else {
            return (false, Vec::new(), Vec::new());
        };
        let mut scheduled = vec![first];
        let mut observed = vec![Instant::now()];
        for _ in 0..4 {
            scheduled.push(ticker.tick().await);
            observed.push(Instant::now());
        }
        (true, scheduled, observed)
    });
    assert!(first_ready, "the first tick completes immediately");
    for pair in scheduled.windows(2) {
        assert!(
            pair[1] - pair[0] >= period,
            "ticks scheduled {:?} apart",
            pair[1] - pair[0]
        );
    }
    for (s, o) in scheduled.iter().zip(&observed) {
        assert!(o >= s, "a tick completed before its scheduled instant");
    }
}

#[test]
fn next_deadline_reports_the_next_timer() {
    let mut event_loop = EventLoop::new().unwrap();
    assert_eq!(event_loop.next_deadline(), None, "no timers, no work");

    let now = Instant::now();
    let later = now + Duration::from_secs(60);
    let sooner = now + Duration::from_secs(30);
    event_loop.call_at(later, || {});
    assert_eq!(event_loop.next_deadline(), Some(later));
    event_loop.call_at(sooner, || {});
    assert_eq!(event_loop.next_deadline(), Some(sooner));

    // A sleeping task's timer counts too.
    let soonest = now + Duration::from_secs(10);
    let task = event_loop.spawn(sleep_until(soonest));
    assert!(
        event_loop.next_deadline().unwrap() <= Instant::now(),
        "a spawned task is ready now"
    );
    event_loop.run_until_stalled();
    assert_eq!(event_loop.next_deadline(), Some(soonest));
    // Aborted from inside the loop (where a `Sleep` can reach its timer).
    event_loop.block_on(async move { task.abort() });
    assert_eq!(
        event_loop.next_deadline(),
        Some(sooner),
        "an aborted sleep's timer is gone"
    );
}

#[test]
fn a_timer_wakes_a_loop_blocked_in_run() {
    let mut event_loop = EventLoop::new().unwrap();
    let fired = Rc::new(Cell::new(false));
    let f = Rc::clone(&fired);
    let handle = event_loop.handle();
    event_loop.call_later(ms(10), move || {
        f.set(true);
        handle.stop();
    });
    // Safety net: if the timer were lost, stop anyway.
    let watchdog = Watchdog::new(event_loop.handle(), BOUND);
    event_loop.run();
    assert!(
        !watchdog.fired(),
        "run() returned only because of the watchdog"
    );
    assert!(fired.get());
}

/// Regression: cancelling a `call_later` must remove its timer too, or
/// `next_deadline` keeps reporting it (a host wakes for nothing) and a
/// program that keeps creating and cancelling long timeouts grows the timer
/// heap without bound.
#[test]
fn a_cancelled_call_later_no_longer_counts_as_the_next_deadline() {
    let event_loop = EventLoop::new().unwrap();
    let handle = event_loop.call_later(Duration::from_secs(3600), || {});
    assert!(handle.cancel());
    assert_eq!(event_loop.next_deadline(), None);

    for _ in 0..10_000 {
        let h = event_loop.call_later(Duration::from_secs(3600), || {});
        assert!(h.cancel());
    }
    let debug = format!("{event_loop:?}");
    assert!(
        debug.contains("timers: 0"),
        "cancelled timers are kept: {debug}"
    );
}

#[test]
fn a_sleeping_task_aborted_by_the_host_between_turns_leaves_no_timer() {
    let mut event_loop = EventLoop::new().unwrap();
    let deadline = Instant::now() + Duration::from_secs(3600);
    let task = event_loop.spawn(sleep_until(deadline));
    event_loop.run_until_stalled();
    assert_eq!(event_loop.next_deadline(), Some(deadline));
    task.abort(); // outside any turn
    assert_eq!(event_loop.next_deadline(), None);
    assert!(event_loop.block_on(task).unwrap_err().is_cancelled());
}

#[test]
fn duration_max_is_accepted_everywhere_a_timer_takes_a_duration() {
    let mut event_loop = EventLoop::new().unwrap();
    let never = event_loop.call_later(Duration::MAX, || panic!("must never run"));
    let t = event_loop.spawn(async {
        let never_free = looplet::call_later(Duration::MAX, || panic!("must never run"));
        let quick = timeout(Duration::MAX, async { 5 }).await;
        let mut ticks = interval(Duration::MAX);
        ticks.tick().await; // the first tick is at once
        let second = timeout(ms(5), ticks.tick()).await;
        let slept = timeout(ms(5), sleep(Duration::MAX)).await;
        (never_free.cancel(), quick, second.is_err(), slept)
    });
    let (cancelled, quick, second_pending, slept) = event_loop.block_on(t).unwrap();
    assert!(cancelled);
    assert_eq!(quick, Ok(5));
    assert!(
        second_pending,
        "the second tick of a Duration::MAX interval never comes"
    );
    assert_eq!(slept, Err(Elapsed));
    let far = event_loop
        .next_deadline()
        .expect("the Duration::MAX callback's timer");
    assert!(far > Instant::now() + Duration::from_secs(3600 * 24 * 365));
    assert!(never.cancel());
    assert_eq!(event_loop.next_deadline(), None);
}
