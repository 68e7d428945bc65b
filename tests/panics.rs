//! Specifies panics as values: a panicking task or callback never takes the
//! loop down, its `JoinHandle` resolves `Panicked` with the payload, nobody's
//! panic goes to the `on_unhandled_panic` hook, and the `PanicPolicy`
//! decides whether the loop keeps going, stops, or re-raises.

mod common;

use common::{expect_panic, Trace, Watchdog, BOUND};
use looplet::{panic_message, yield_now, EventLoop, JoinError, PanicPolicy};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

#[derive(Debug, PartialEq)]
struct CustomPayload {
    code: u32,
}

type Reports = Rc<RefCell<Vec<(String, String)>>>;

/// A loop whose unhandled-panic hook records `(task, message)`.
fn loop_with_hook(policy: PanicPolicy) -> (EventLoop, Reports) {
    let reports: Reports = Rc::default();
    let r = Rc::clone(&reports);
    let event_loop = EventLoop::builder()
        .panic_policy(policy)
        .on_unhandled_panic(move |p| {
            r.borrow_mut()
                .push((p.task.to_string(), p.message.to_string()))
        })
        .build()
        .unwrap();
    (event_loop, reports)
}

/// Lifecycle edges (task.rs): E5.
#[test]
fn a_panicking_task_does_not_stop_the_loop_and_others_complete() {
    let mut event_loop = EventLoop::new().unwrap();
    let before = event_loop.spawn(async { 1 });
    let bad = event_loop.spawn(async {
        yield_now().await;
        panic!("boom in a task");
    });
    let after = event_loop.spawn(async {
        yield_now().await;
        yield_now().await;
        2
    });
    let (a, bad, b) = event_loop.block_on(async { (before.await, bad.await, after.await) });
    assert_eq!(a.unwrap(), 1);
    assert_eq!(b.unwrap(), 2);
    let err: JoinError = bad.unwrap_err();
    assert!(err.is_panic());
    assert_eq!(err.panic_message(), Some("boom in a task"));
    let shown = err.to_string();
    assert!(shown.contains("boom in a task"), "{shown}");
    assert_eq!(event_loop.metrics().panics, 1);

    // And the loop is still perfectly usable.
    assert_eq!(event_loop.block_on(async { 3 }), 3);
}

#[test]
fn a_formatted_panic_message_is_available() {
    let mut event_loop = EventLoop::new().unwrap();
    let n = 42;
    let handle = event_loop.spawn(async move {
        if n == 42 {
            panic!("value was {n}");
        }
    });
    let err = event_loop.block_on(handle).unwrap_err();
    assert_eq!(err.panic_message(), Some("value was 42"));
    assert!(format!("{err:?}").contains("value was 42"));
    let payload = err.into_panic();
    assert_eq!(panic_message(&payload), "value was 42");
}

#[test]
fn a_custom_panic_payload_is_downcastable() {
    let mut event_loop = EventLoop::new().unwrap();
    let handle = event_loop.spawn(async {
        std::panic::panic_any(CustomPayload { code: 7 });
    });
    let err = event_loop.block_on(handle).unwrap_err();
    assert!(err.is_panic());
    let payload = err.into_panic();
    let custom = payload
        .downcast::<CustomPayload>()
        .expect("payload keeps its type");
    assert_eq!(*custom, CustomPayload { code: 7 });
}

#[test]
fn try_into_panic_returns_other_errors_unchanged() {
    let mut event_loop = EventLoop::new().unwrap();
    let handle = event_loop.spawn(std::future::pending::<()>());
    handle.abort();
    let err = event_loop.block_on(handle).unwrap_err();
    assert_eq!(err.panic_message(), None);
    let err = err.try_into_panic().unwrap_err();
    assert!(err.is_cancelled());
}

/// Lifecycle edges (task.rs): E10.
#[test]
fn a_detached_panicking_task_goes_to_the_hook_with_its_name_and_message() {
    let (mut event_loop, reports) = loop_with_hook(PanicPolicy::Continue);
    drop(event_loop.spawn_named("worker", async {
        panic!("nobody is listening");
    }));
    let survivor = event_loop.spawn(async {
        yield_now().await;
        "alive"
    });
    assert_eq!(event_loop.block_on(survivor).unwrap(), "alive");
    assert_eq!(
        *reports.borrow(),
        vec![("worker".to_string(), "nobody is listening".to_string())]
    );
}

#[test]
fn a_task_named_with_the_free_function_is_reported_by_name() {
    let (mut event_loop, reports) = loop_with_hook(PanicPolicy::Continue);
    event_loop.block_on(async {
        drop(looplet::spawn_named("inner-worker", async {
            yield_now().await;
            panic!("inner failure");
        }));
        for _ in 0..3 {
            yield_now().await;
        }
    });
    assert_eq!(
        *reports.borrow(),
        vec![("inner-worker".to_string(), "inner failure".to_string())]
    );
}

#[test]
fn a_panic_collected_through_the_handle_does_not_go_to_the_hook() {
    let (mut event_loop, reports) = loop_with_hook(PanicPolicy::Continue);
    let handle = event_loop.spawn_named("watched", async { panic!("seen") });
    assert!(event_loop.block_on(handle).is_err());
    assert!(reports.borrow().is_empty(), "{:?}", reports.borrow());
}

#[test]
fn a_finished_panic_whose_handle_is_dropped_uncollected_goes_to_the_hook() {
    let (mut event_loop, reports) = loop_with_hook(PanicPolicy::Continue);
    let handle = event_loop.spawn_named("late-drop", async { panic!("never awaited") });
    event_loop.run_until_stalled();
    assert!(handle.is_finished());
    assert!(
        reports.borrow().is_empty(),
        "not yet: the handle may still collect it"
    );
    drop(handle);
    assert_eq!(
        *reports.borrow(),
        vec![("late-drop".to_string(), "never awaited".to_string())]
    );
}

#[test]
fn a_panicking_callback_does_not_stop_the_loop() {
    let (mut event_loop, reports) = loop_with_hook(PanicPolicy::Continue);
    let trace = Trace::new();
    event_loop.call_soon(trace.recorder("before"));
    event_loop.call_soon(|| panic!("callback exploded"));
    event_loop.call_soon(trace.recorder("after"));
    event_loop.call_later(Duration::from_millis(1), || {
        panic!("timer callback exploded")
    });
    event_loop.call_later(Duration::from_millis(2), trace.recorder("later"));
    assert!(common::turn_until(&mut event_loop, BOUND, || trace.len() == 3));
    trace.assert(&["before", "after", "later"]);
    let reports = reports.borrow();
    assert_eq!(reports.len(), 2, "{reports:?}");
    assert_eq!(reports[0], ("callback".into(), "callback exploded".into()));
    assert_eq!(reports[1].1, "timer callback exploded");
    assert_eq!(event_loop.metrics().panics, 2);
}

#[test]
fn a_panicking_hook_does_not_stop_the_loop_either() {
    let mut event_loop = EventLoop::builder()
        .on_unhandled_panic(|_| panic!("the hook itself panics"))
        .build()
        .unwrap();
    drop(event_loop.spawn(async { panic!("detached") }));
    event_loop.call_soon(|| panic!("callback"));
    event_loop.run_until_stalled();
    assert_eq!(event_loop.block_on(async { 5 }), 5);
}

#[test]
fn stop_loop_policy_makes_run_return_after_a_task_panics() {
    let (mut event_loop, _reports) = loop_with_hook(PanicPolicy::StopLoop);
    let progress = Rc::new(Cell::new(0u32));
    let p = Rc::clone(&progress);
    let steady = event_loop.spawn(async move {
        loop {
            yield_now().await;
            p.set(p.get() + 1);
        }
    });
    let bad = event_loop.spawn(async {
        for _ in 0..3 {
            yield_now().await;
        }
        panic!("stop everything");
    });
    let watchdog = Watchdog::new(event_loop.handle(), BOUND);
    event_loop.run();
    assert!(!watchdog.fired(), "run() did not return on the panic");
    assert!(bad.is_finished());
    let err = event_loop.block_on(bad).unwrap_err();
    assert_eq!(err.panic_message(), Some("stop everything"));

    // Stopping is not closing: the other task is alive and runs again
    // (a few turns: it yields forever, so it never stalls).
    let seen = progress.get();
    for _ in 0..3 {
        event_loop.turn(Some(Duration::ZERO));
    }
    assert_eq!(progress.get(), seen + 3);
    steady.abort();
}

#[test]
fn stop_loop_policy_applies_to_detached_tasks_too() {
    let (mut event_loop, reports) = loop_with_hook(PanicPolicy::StopLoop);
    drop(event_loop.spawn_named("detached", async {
        yield_now().await;
        panic!("detached panic");
    }));
    let watchdog = Watchdog::new(event_loop.handle(), BOUND);
    event_loop.run();
    assert!(!watchdog.fired(), "run() did not return on the panic");
    assert_eq!(reports.borrow().len(), 1);
}

#[test]
fn propagate_policy_reraises_out_of_block_on_after_the_handle_got_panicked() {
    let mut event_loop = EventLoop::builder()
        .panic_policy(PanicPolicy::Propagate)
        .build()
        .unwrap();
    let bad = event_loop.spawn(async {
        yield_now().await;
        panic!("kaboom");
    });
    let message = expect_panic(|| {
        event_loop.block_on(looplet::sleep(BOUND));
    });
    assert!(message.contains("kaboom"), "{message}");
    assert!(
        bad.is_finished(),
        "the handle was resolved before the re-raise"
    );
    let err = event_loop.block_on(bad).unwrap_err();
    assert_eq!(err.panic_message(), Some("kaboom"));
    // The loop survives the re-raise and can run again.
    assert_eq!(event_loop.block_on(async { 9 }), 9);
}

#[test]
fn propagate_policy_reraises_out_of_run() {
    let mut event_loop = EventLoop::builder()
        .panic_policy(PanicPolicy::Propagate)
        .build()
        .unwrap();
    let trace = Trace::new();
    let t = trace.clone();
    let bad = event_loop.spawn(async move {
        looplet::sleep(Duration::from_millis(5)).await;
        t.push("panicking");
        panic!("kaboom in run");
    });
    let watchdog = Watchdog::new(event_loop.handle(), BOUND);
    let message = expect_panic(|| event_loop.run());
    assert!(!watchdog.fired());
    assert!(message.contains("kaboom in run"), "{message}");
    trace.assert(&["panicking"]);
    let err = event_loop.block_on(bad).unwrap_err();
    assert_eq!(err.panic_message(), Some("kaboom in run"));
}

#[test]
fn a_panic_in_the_block_on_root_future_propagates_to_the_caller() {
    let mut event_loop = EventLoop::new().unwrap();
    let message = expect_panic(|| {
        event_loop.block_on(async {
            yield_now().await;
            panic!("root failure");
        })
    });
    assert_eq!(message, "root failure");
    // The loop left its thread cleanly: it can be entered again.
    assert_eq!(event_loop.block_on(async { 1 }), 1);
}

#[test]
fn a_panicking_remote_task_resolves_its_remote_handle_panicked_and_the_loop_continues() {
    let mut event_loop = EventLoop::new().unwrap();
    let handle = event_loop.handle();
    let remote = std::thread::spawn(move || handle.spawn(async { panic!("remote boom") }))
        .join()
        .unwrap();
    let local = event_loop.spawn(async { "local ok" });
    assert_eq!(event_loop.block_on(local).unwrap(), "local ok");
    event_loop.run_until_stalled();
    let err = remote
        .wait_timeout(BOUND)
        .expect("remote handle resolved")
        .unwrap_err();
    assert_eq!(err.panic_message(), Some("remote boom"));
}

#[test]
fn stop_loop_policy_applies_to_remote_tasks_too() {
    let (mut event_loop, _reports) = loop_with_hook(PanicPolicy::StopLoop);
    let handle = event_loop.handle();
    let remote = std::thread::spawn(move || {
        handle.spawn(async {
            yield_now().await;
            panic!("remote stop");
        })
    })
    .join()
    .unwrap();
    let watchdog = Watchdog::new(event_loop.handle(), BOUND);
    event_loop.run();
    assert!(
        !watchdog.fired(),
        "run() did not return on the remote panic"
    );
    let err = remote.wait_timeout(BOUND).expect("resolved").unwrap_err();
    assert_eq!(err.panic_message(), Some("remote stop"));
}

#[test]
fn propagate_policy_reports_a_named_task_by_its_name() {
    let mut event_loop = EventLoop::builder()
        .panic_policy(PanicPolicy::Propagate)
        .build()
        .unwrap();
    let _ui = event_loop.spawn_named("ui", async { panic!("x") });
    let message = expect_panic(|| event_loop.run_until_stalled());
    assert_eq!(message, "ui panicked: x");
    let _free = event_loop.spawn(async {
        let _named = looplet::spawn_named("worker", async { panic!("y") });
    });
    let message = expect_panic(|| event_loop.run_until_stalled());
    assert_eq!(message, "worker panicked: y");
}

#[test]
fn propagate_policy_hands_back_to_the_host_once_per_call() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let hook_calls = Arc::new(AtomicUsize::new(0));
    let h = Arc::clone(&hook_calls);
    let mut event_loop = EventLoop::builder()
        .panic_policy(PanicPolicy::Propagate)
        .on_unhandled_panic(|_| {})
        .wake_hook(move || {
            h.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .unwrap();
    // Work still pending at the hand-back: the loop claims one wake for it.
    let _busy = event_loop.spawn(async {
        loop {
            yield_now().await;
        }
    });
    for call in 0..3 {
        let _bad = event_loop.spawn(async { panic!("boom") });
        let before = (
            hook_calls.load(Ordering::SeqCst),
            event_loop.metrics().wake_syscalls,
        );
        let message = match call {
            0 => expect_panic(|| event_loop.turn(Some(Duration::ZERO))),
            1 => expect_panic(|| event_loop.run_until_stalled()),
            _ => expect_panic(|| event_loop.run_for(Duration::from_millis(1))),
        };
        assert!(message.contains("boom"), "{message}");
        let after = (
            hook_calls.load(Ordering::SeqCst),
            event_loop.metrics().wake_syscalls,
        );
        assert_eq!(
            after.0 - before.0,
            1,
            "call {call}: wake hook calls for one hand-back"
        );
        assert_eq!(
            after.1 - before.1,
            1,
            "call {call}: wake syscalls for one hand-back"
        );
    }
}

#[test]
fn stop_loop_policy_ends_one_host_call_only() {
    let (mut event_loop, _reports) = loop_with_hook(PanicPolicy::StopLoop);
    let _bad = event_loop.spawn(async { panic!("stop me") });
    let tick = event_loop.turn(Some(Duration::ZERO));
    assert!(tick.stopped, "{tick:?}");
    let sleeps = event_loop.metrics().sleeps;
    for _ in 0..3 {
        let tick = event_loop.turn(Some(Duration::from_millis(1)));
        assert!(!tick.stopped, "{tick:?}");
    }
    assert_eq!(
        event_loop.metrics().sleeps,
        sleeps + 3,
        "later turns sleep again"
    );
}

/// A value whose `Drop` panics: the closure of a cancelled callback.
struct PanicsOnDrop(&'static str);

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        panic!("{}", self.0);
    }
}

#[test]
fn cancelling_a_callback_contains_a_panic_in_its_drop_and_reports_it_like_abort() {
    let (event_loop, reports) = loop_with_hook(PanicPolicy::Continue);
    let guard = PanicsOnDrop("callback drop boom");
    let callback = event_loop.call_soon(move || drop(guard));
    assert!(callback.cancel(), "it had not run yet");
    let guard = PanicsOnDrop("timer callback drop boom");
    let later = event_loop.call_later(Duration::from_secs(60), move || drop(guard));
    assert!(later.cancel());
    // The same panic in an aborted task's future, for comparison.
    let guard = PanicsOnDrop("future drop boom");
    let task = event_loop.spawn(async move {
        let _guard = guard;
        std::future::pending::<()>().await
    });
    task.abort();
    let reports = reports.borrow();
    let messages: Vec<&str> = reports.iter().map(|(_, m)| m.as_str()).collect();
    assert_eq!(
        messages,
        [
            "callback drop boom",
            "timer callback drop boom",
            "future drop boom"
        ]
    );
}
