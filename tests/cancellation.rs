//! Specifies soft cancellation (`JoinHandle::cancel`, `RemoteHandle::cancel`,
//! `looplet::cancelled`, `is_cancelled`, `until_cancelled`) and
//! `cancel_and_wait`: a soft cancel drops nothing and wakes the task, which
//! cleans up and returns; `cancel_and_wait` returns only after the target's
//! destructors ran, aborts a target that ignores the request once the grace
//! is over, and keeps doing so when its own waiter is aborted; and the
//! waiter's cancellation and the target's never mix (CPython #103486).

mod common;

use common::{drop_guard, expect_panic, Trace, BOUND};
use looplet::{
    cancelled, is_cancelled, sleep, timeout, until_cancelled, yield_now, EventLoop, JoinError,
};
use std::future::pending;
use std::thread;
use std::time::{Duration, Instant};

const GRACE: Duration = Duration::from_millis(20);

// ----- soft cancel -------------------------------------------------------------

#[test]
fn a_soft_cancel_wakes_the_task_whose_cancelled_future_resolves_and_drops_nothing() {
    let mut event_loop = EventLoop::new().unwrap();
    let trace = Trace::new();
    let (guard, dropped) = drop_guard();
    let t = trace.clone();
    let task = event_loop.spawn(async move {
        let _guard = guard;
        t.push("waiting");
        cancelled().await;
        t.push(format!("cancelled, is_cancelled = {}", is_cancelled()));
        yield_now().await; // it may still .await: its cleanup is asynchronous
        t.push("cleaned up");
        7
    });
    event_loop.run_until_stalled();
    assert!(task.cancel(), "it was running");
    assert!(!dropped.is_dropped(), "a soft cancel drops nothing");
    assert_eq!(
        event_loop.block_on(task).unwrap(),
        7,
        "the task's own result"
    );
    trace.assert(&["waiting", "cancelled, is_cancelled = true", "cleaned up"]);
    assert!(dropped.is_dropped());
}

#[test]
fn cancelling_twice_is_harmless_and_counted() {
    let mut event_loop = EventLoop::new().unwrap();
    let task = event_loop.spawn(async {
        cancelled().await;
        looplet::cancel_requests()
    });
    assert!(task.cancel());
    assert!(task.cancel());
    assert_eq!(task.cancel_requests(), 2);
    assert_eq!(event_loop.block_on(task).unwrap(), 2);
}

#[test]
fn cancelling_a_finished_task_does_nothing_and_says_so() {
    let mut event_loop = EventLoop::new().unwrap();
    let task = event_loop.spawn(async { 1 });
    event_loop.run_until_stalled();
    assert!(!task.cancel(), "nothing left to cancel");
    assert_eq!(event_loop.block_on(task).unwrap(), 1);
}

#[test]
fn a_task_that_never_looks_keeps_running_after_a_soft_cancel() {
    let mut event_loop = EventLoop::new().unwrap();
    let gate = common::Gate::new();
    let task = event_loop.spawn(gate.wait());
    event_loop.run_until_stalled();
    task.cancel();
    event_loop.run_until_stalled();
    assert!(!task.is_finished(), "soft cancel is a request");
    gate.open();
    event_loop.block_on(task).unwrap();
}

#[test]
fn a_task_cancelled_before_its_first_poll_sees_it_at_once() {
    let mut event_loop = EventLoop::new().unwrap();
    let task = event_loop.spawn(async { is_cancelled() });
    task.cancel();
    assert!(event_loop.block_on(task).unwrap());
}

#[test]
fn only_the_cancelled_task_sees_the_request() {
    let mut event_loop = EventLoop::new().unwrap();
    let other = event_loop.spawn(async {
        yield_now().await;
        is_cancelled()
    });
    let target = event_loop.spawn(async { is_cancelled() });
    target.cancel();
    assert!(event_loop.block_on(target).unwrap());
    assert!(!event_loop.block_on(other).unwrap());
}

#[test]
fn is_cancelled_is_false_outside_a_task() {
    assert!(!is_cancelled(), "outside any loop");
    let mut event_loop = EventLoop::new().unwrap();
    assert!(
        !event_loop.block_on(async { is_cancelled() }),
        "in block_on's future"
    );
    event_loop.call_soon(|| assert!(!is_cancelled(), "in a callback"));
    event_loop.run_until_stalled();
}

#[test]
fn cancelled_polled_outside_a_task_panics_with_advice_instead_of_hanging() {
    let mut event_loop = EventLoop::new().unwrap();
    let message = expect_panic(|| event_loop.block_on(cancelled()));
    assert!(message.contains("looplet::cancelled"), "{message}");
    assert!(message.contains("looplet::spawn"), "{message}");
}

// ----- a task blocked somewhere hears a soft cancel ----------------------------

#[test]
fn a_task_sleeping_under_until_cancelled_stops_at_once() {
    let mut event_loop = EventLoop::new().unwrap();
    let task = event_loop.spawn(until_cancelled(sleep(Duration::from_secs(3600))));
    event_loop.run_until_stalled();
    let start = Instant::now();
    task.cancel();
    assert_eq!(event_loop.block_on(task).unwrap(), None);
    assert!(start.elapsed() < BOUND);
    assert_eq!(
        event_loop.next_deadline(),
        None,
        "the sleep's timer is gone"
    );
}

#[test]
fn a_task_inside_a_timeout_hears_the_cancel_before_the_timeout() {
    let mut event_loop = EventLoop::new().unwrap();
    let task = event_loop.spawn(async {
        until_cancelled(timeout(Duration::from_secs(3600), pending::<()>())).await
    });
    event_loop.run_until_stalled();
    task.cancel();
    assert_eq!(event_loop.block_on(task).unwrap(), None);
}

#[test]
fn a_task_waiting_on_a_channel_hears_the_cancel_and_the_sender_sees_it_gone() {
    let mut event_loop = EventLoop::new().unwrap();
    let (sender, receiver) = futures::channel::oneshot::channel::<u32>();
    let task = event_loop.spawn(async move { until_cancelled(receiver).await });
    event_loop.run_until_stalled();
    task.cancel();
    assert_eq!(event_loop.block_on(task).unwrap(), None);
    assert!(
        sender.is_canceled(),
        "the receiver was dropped with the work"
    );
}

#[test]
fn until_cancelled_returns_the_output_when_the_work_wins() {
    let mut event_loop = EventLoop::new().unwrap();
    let task = event_loop.spawn(until_cancelled(async { 5 }));
    assert_eq!(event_loop.block_on(task).unwrap(), Some(5));
}

// ----- cancel_and_wait ---------------------------------------------------------

#[test]
fn cancel_and_wait_returns_after_the_targets_cleanup_and_destructors_ran() {
    let mut event_loop = EventLoop::new().unwrap();
    let trace = Trace::new();
    let t = trace.clone();
    let target = event_loop.spawn(async move {
        let _dropped = t.on_drop("target's destructors ran");
        cancelled().await;
        t.push("cleanup starts");
        sleep(Duration::from_millis(2)).await;
        t.push("cleanup ends");
        "done"
    });
    event_loop.run_until_stalled();
    let t = trace.clone();
    event_loop.block_on(async move {
        let outcome = target.cancel_and_wait(BOUND).await;
        t.push(format!("waiter got {outcome:?}"));
    });
    trace.assert(&[
        "cleanup starts",
        "cleanup ends",
        "target's destructors ran",
        "waiter got Ok(\"done\")",
    ]);
}

#[test]
fn cancel_and_wait_aborts_a_target_that_ignores_the_request_after_the_grace() {
    let mut event_loop = EventLoop::new().unwrap();
    let trace = Trace::new();
    let t = trace.clone();
    let target = event_loop.spawn(async move {
        let _dropped = t.on_drop("target dropped");
        pending::<()>().await;
    });
    event_loop.run_until_stalled();
    let start = Instant::now();
    let t = trace.clone();
    let outcome = event_loop.block_on(async move {
        let outcome = target.cancel_and_wait(GRACE).await;
        t.push("waiter returned");
        outcome
    });
    let took = start.elapsed();
    assert!(outcome.unwrap_err().is_cancelled());
    assert!(took >= GRACE, "the grace was given: {took:?}");
    assert!(took < GRACE + BOUND, "and bounded: {took:?}");
    trace.assert(&["target dropped", "waiter returned"]);
}

#[test]
fn cancel_and_wait_on_a_target_that_had_finished_returns_its_outcome() {
    let mut event_loop = EventLoop::new().unwrap();
    let target = event_loop.spawn(async { 3 });
    event_loop.run_until_stalled();
    let outcome = event_loop.block_on(target.cancel_and_wait(BOUND));
    assert_eq!(outcome.unwrap(), 3);
}

#[test]
fn cancel_and_wait_reports_a_panic_in_the_targets_cleanup() {
    let mut event_loop = EventLoop::new().unwrap();
    let target = event_loop.spawn(async {
        cancelled().await;
        panic!("cleanup failed");
    });
    event_loop.run_until_stalled();
    let outcome = event_loop.block_on(target.cancel_and_wait(BOUND));
    assert_eq!(outcome.unwrap_err().panic_message(), Some("cleanup failed"));
}

#[test]
fn a_waiter_aborted_mid_wait_leaves_the_target_to_clean_up_to_its_end() {
    let mut event_loop = EventLoop::new().unwrap();
    let trace = Trace::new();
    let t = trace.clone();
    let target = event_loop.spawn(async move {
        cancelled().await;
        t.push("target cleaning up");
        sleep(Duration::from_millis(5)).await;
        t.push("target cleaned up");
    });
    event_loop.run_until_stalled();
    let waiter = event_loop.spawn(target.cancel_and_wait(BOUND));
    event_loop.run_until_stalled(); // the waiter has cancelled and is waiting
    waiter.abort(); // the waiter's own cancellation
    assert!(event_loop.block_on(waiter).unwrap_err().is_cancelled());
    let finished = common::turn_until(&mut event_loop, BOUND, || trace.len() == 2);
    assert!(finished, "{:?}", trace.events());
    trace.assert(&["target cleaning up", "target cleaned up"]);
}

#[test]
fn a_waiter_aborted_mid_wait_still_gets_a_stubborn_target_aborted_after_the_grace() {
    let mut event_loop = EventLoop::new().unwrap();
    let (guard, dropped) = drop_guard();
    let target = event_loop.spawn(async move {
        let _guard = guard;
        pending::<()>().await;
    });
    let waiter = event_loop.spawn(target.cancel_and_wait(GRACE));
    event_loop.run_until_stalled();
    waiter.abort();
    assert!(!dropped.is_dropped(), "the grace is still running");
    assert!(
        common::turn_until(&mut event_loop, BOUND, || dropped.is_dropped()),
        "the target was never aborted"
    );
}

#[test]
fn the_loop_dropped_during_cancel_and_wait_drops_the_target_too() {
    let mut event_loop = EventLoop::new().unwrap();
    let (guard, dropped) = drop_guard();
    let target = event_loop.spawn(async move {
        let _guard = guard;
        pending::<()>().await;
    });
    let waiter = event_loop.spawn(target.cancel_and_wait(Duration::from_secs(3600)));
    event_loop.run_until_stalled();
    drop(event_loop);
    assert!(dropped.is_dropped());
    drop(waiter);
}

// ----- abort and completion race -----------------------------------------------

#[test]
fn abort_racing_completion_from_another_thread_yields_ok_or_cancelled_exactly_once() {
    const TASKS: usize = if cfg!(miri) { 20 } else { 2_000 };
    let mut event_loop = EventLoop::new().unwrap();
    let handle = event_loop.handle();
    let aborter = thread::spawn(move || {
        let mut outcomes = Vec::new();
        for i in 0..TASKS {
            let (guard, dropped) = drop_guard();
            let remote = handle.spawn(async move {
                let _guard = guard;
                yield_now().await;
                i
            });
            if i % 2 == 0 {
                thread::yield_now();
            }
            remote.abort();
            outcomes.push((i, remote.wait_timeout(BOUND), dropped));
        }
        handle.stop();
        outcomes
    });
    event_loop.run();
    let outcomes = aborter.join().unwrap();
    let (mut ok, mut cancelled) = (0, 0);
    for (i, outcome, dropped) in outcomes {
        match outcome.expect("every handle resolved") {
            Ok(value) => {
                assert_eq!(value, i);
                ok += 1;
            }
            Err(JoinError::Cancelled) => cancelled += 1,
            Err(other) => panic!("task {i}: {other:?}"),
        }
        assert!(dropped.is_dropped(), "task {i}'s future was dropped");
    }
    assert_eq!(ok + cancelled, TASKS);
}

// ----- from another thread -----------------------------------------------------

#[test]
fn a_remote_soft_cancel_reaches_the_task_which_cleans_up() {
    let mut event_loop = EventLoop::new().unwrap();
    let remote = event_loop.handle().spawn(async {
        cancelled().await;
        (is_cancelled(), looplet::cancel_requests())
    });
    event_loop.run_until_stalled();
    let canceller = thread::spawn(move || {
        remote.cancel();
        remote
    });
    let remote = canceller.join().unwrap();
    assert_eq!(event_loop.block_on(remote).unwrap(), (true, 1));
}

#[test]
fn a_remote_soft_cancel_before_the_first_poll_is_seen_at_the_first_poll() {
    let mut event_loop = EventLoop::new().unwrap();
    let remote = event_loop.handle().spawn(async { is_cancelled() });
    remote.cancel();
    assert!(event_loop.block_on(remote).unwrap());
}

#[test]
fn remote_cancel_and_wait_against_a_loop_sleeping_in_run() {
    let mut event_loop = EventLoop::new().unwrap();
    let handle = event_loop.handle();
    let controller = thread::spawn(move || {
        let remote = handle.spawn(async {
            cancelled().await;
            sleep(Duration::from_millis(2)).await;
            "cleaned up"
        });
        thread::sleep(Duration::from_millis(5)); // the loop is asleep by now
        let outcome = remote.cancel_and_wait(BOUND);
        handle.stop();
        outcome
    });
    event_loop.run();
    assert_eq!(controller.join().unwrap().unwrap(), "cleaned up");
}

#[test]
fn remote_cancel_and_wait_against_a_busy_loop_aborts_a_stubborn_task_after_the_grace() {
    let mut event_loop = EventLoop::new().unwrap();
    let _busy = event_loop.spawn(async {
        loop {
            yield_now().await;
        }
    });
    let handle = event_loop.handle();
    let controller = thread::spawn(move || {
        let remote = handle.spawn(pending::<()>());
        let start = Instant::now();
        let outcome = remote.cancel_and_wait(GRACE);
        let took = start.elapsed();
        handle.stop();
        (outcome, took)
    });
    event_loop.run();
    let (outcome, took) = controller.join().unwrap();
    assert!(outcome.unwrap_err().is_cancelled());
    assert!(took >= GRACE && took < GRACE + BOUND, "{took:?}");
}

#[test]
fn remote_cancel_and_wait_when_the_loop_is_dropped_resolves() {
    let event_loop = EventLoop::new().unwrap();
    let remote = event_loop.handle().spawn(pending::<()>());
    let controller = thread::spawn(move || remote.cancel_and_wait(GRACE));
    drop(event_loop);
    let outcome = controller.join().unwrap();
    assert!(
        matches!(outcome, Err(JoinError::Cancelled | JoinError::LoopClosed)),
        "{outcome:?}"
    );
}

#[test]
fn remote_cancel_and_wait_on_the_loop_thread_panics_instead_of_hanging() {
    let event_loop = EventLoop::new().unwrap();
    let remote = event_loop.handle().spawn(pending::<()>());
    let message = expect_panic(move || remote.cancel_and_wait(GRACE));
    assert!(
        message.contains("RemoteHandle::cancel_and_wait"),
        "{message}"
    );
}

// ----- the two cancellations never mix (CPython #103486) ----------------------

/// asyncio's example: a controller cancels a dependency and waits for it,
/// and may itself be cancelled meanwhile. After `dep.cancel(); await dep`,
/// asyncio code cannot tell whose `CancelledError` it caught. Here the
/// dependency's end is a value from its handle, and the controller's own
/// cancellation is the controller's: tried in each order.
#[test]
fn a_controller_always_tells_its_own_cancellation_from_its_dependencys() {
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum When {
        BeforeTheWait,
        DuringTheWait,
        Never,
    }
    for when in [When::BeforeTheWait, When::DuringTheWait, When::Never] {
        let mut event_loop = EventLoop::new().unwrap();
        let dependency = event_loop.spawn(async {
            cancelled().await;
            sleep(Duration::from_millis(2)).await; // its cleanup takes a while
            "dependency cleaned up"
        });
        let controller = event_loop.spawn(async move {
            yield_now().await;
            let outcome = dependency.cancel_and_wait(BOUND).await;
            (outcome, is_cancelled())
        });
        if when == When::BeforeTheWait {
            controller.cancel();
        }
        event_loop.turn(Some(Duration::ZERO));
        event_loop.turn(Some(Duration::ZERO)); // the controller now waits on its dependency
        if when == When::DuringTheWait {
            controller.cancel();
        }
        let (dependency_outcome, controller_cancelled) = event_loop.block_on(controller).unwrap();
        assert_eq!(
            dependency_outcome.unwrap(),
            "dependency cleaned up",
            "{when:?}: the dependency's own result"
        );
        assert_eq!(
            controller_cancelled,
            when != When::Never,
            "{when:?}: the controller's own cancellation"
        );
    }
}
