//! Specifies misuse: nesting a loop inside a task panics with a message
//! about nesting, the free functions outside a loop panic with advice, and
//! submissions to a dropped loop fail cleanly (`Closed`, `LoopClosed`) and
//! drop what they carried.

mod common;

use common::{drop_guard, expect_panic, poll_once, Gate, BOUND};
use looplet::{EventLoop, Handle, JoinError};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

#[test]
fn nested_block_on_inside_a_task_panics_about_nesting() {
    let mut event_loop = EventLoop::new().unwrap();
    let task = event_loop.spawn(async {
        let mut inner = EventLoop::new().unwrap();
        inner.block_on(async { 1 })
    });
    let err = event_loop.block_on(task).unwrap_err();
    let message = err.panic_message().expect("a string message").to_string();
    assert!(message.contains("nested"), "{message}");
    // The outer loop is unharmed.
    assert_eq!(event_loop.block_on(async { 2 }), 2);
}

#[test]
fn nested_run_or_turn_inside_a_callback_panics_about_nesting() {
    let reports: Rc<RefCell<Vec<String>>> = Rc::default();
    let r = Rc::clone(&reports);
    let mut event_loop = EventLoop::builder()
        .on_unhandled_panic(move |p| r.borrow_mut().push(p.message.to_string()))
        .build()
        .unwrap();
    event_loop.call_soon(|| {
        let mut inner = EventLoop::new().unwrap();
        inner.turn(Some(Duration::ZERO));
    });
    event_loop.call_soon(|| {
        let mut inner = EventLoop::new().unwrap();
        inner.run_until_stalled();
    });
    event_loop.run_until_stalled();
    let reports = reports.borrow();
    assert_eq!(reports.len(), 2, "{reports:?}");
    for message in reports.iter() {
        assert!(message.contains("nested"), "{message}");
    }
}

#[test]
fn nested_block_on_of_a_second_loop_from_the_outer_root_future_panics() {
    let mut outer = EventLoop::new().unwrap();
    let mut inner = EventLoop::new().unwrap();
    let message = expect_panic(|| outer.block_on(async { inner.block_on(async { 0 }) }));
    assert!(message.contains("nested"), "{message}");
    // Both loops remain usable afterwards.
    assert_eq!(outer.block_on(async { 1 }), 1);
    assert_eq!(inner.block_on(async { 2 }), 2);
}

#[test]
fn spawn_outside_a_loop_panics_with_advice() {
    let message = expect_panic(|| looplet::spawn(async {}));
    assert!(message.contains("outside"), "{message}");
    assert!(
        message.contains("EventLoop") || message.contains("Handle"),
        "the message should say what to use instead: {message}"
    );
}

#[test]
fn every_free_function_outside_a_loop_panics_with_advice() {
    let messages = [
        expect_panic(|| looplet::spawn_named("x", async {})),
        expect_panic(|| looplet::call_soon(|| {})),
        expect_panic(|| looplet::call_later(Duration::from_millis(1), || {})),
        expect_panic(|| looplet::call_at(std::time::Instant::now(), || {})),
        expect_panic(Handle::current),
        expect_panic(|| {
            let mut sleep = Box::pin(looplet::sleep(Duration::from_millis(1)));
            poll_once(&mut sleep)
        }),
    ];
    for message in messages {
        assert!(message.contains("outside"), "{message}");
    }
}

#[test]
fn free_functions_after_the_loop_returned_panic_too() {
    let mut event_loop = EventLoop::new().unwrap();
    event_loop.block_on(async {});
    let message = expect_panic(|| looplet::spawn(async {}));
    assert!(message.contains("outside"), "{message}");
}

#[test]
fn call_soon_threadsafe_after_the_loop_is_dropped_returns_closed() {
    let event_loop = EventLoop::new().unwrap();
    let handle = event_loop.handle();
    assert!(!handle.is_closed());
    drop(event_loop);
    assert!(handle.is_closed());

    let (guard, dropped) = drop_guard();
    let ran = Arc::new(AtomicBool::new(false));
    let r = Arc::clone(&ran);
    let result = handle.call_soon_threadsafe(move || {
        let _guard = guard;
        r.store(true, Ordering::SeqCst);
    });
    assert_eq!(result, Err(looplet::Closed));
    assert!(
        dropped.is_dropped(),
        "the refused callback is dropped, not leaked"
    );
    assert!(!ran.load(Ordering::SeqCst));

    // Same from another thread.
    let result = std::thread::spawn(move || handle.call_soon_threadsafe(|| {}))
        .join()
        .unwrap();
    assert_eq!(result, Err(looplet::Closed));
}

#[test]
fn handle_spawn_after_the_loop_is_dropped_resolves_loop_closed_at_once_and_drops_the_future() {
    let event_loop = EventLoop::new().unwrap();
    let handle = event_loop.handle();
    drop(event_loop);

    let (guard, dropped) = drop_guard();
    let remote = handle.spawn(async move {
        let _guard = guard;
        1
    });
    assert!(dropped.is_dropped(), "future dropped right away");
    assert!(remote.is_finished(), "resolved right away");
    let outcome = remote
        .wait_timeout(Duration::ZERO)
        .expect("no waiting needed");
    assert!(matches!(outcome, Err(JoinError::LoopClosed)), "{outcome:?}");
}

#[test]
fn handle_spawn_with_after_the_loop_is_dropped_never_calls_make() {
    let event_loop = EventLoop::new().unwrap();
    let handle = event_loop.handle();
    drop(event_loop);
    let called = Arc::new(AtomicBool::new(false));
    let c = Arc::clone(&called);
    let remote = handle.spawn_with(move || {
        c.store(true, Ordering::SeqCst);
        async { 1 }
    });
    let outcome = remote.wait_timeout(Duration::ZERO).expect("resolved");
    assert!(outcome.unwrap_err().is_loop_closed());
    assert!(!called.load(Ordering::SeqCst));
}

#[test]
fn submissions_pending_when_the_loop_is_dropped_resolve_loop_closed() {
    let event_loop = EventLoop::new().unwrap();
    let handle = event_loop.handle();
    let (guard, dropped) = drop_guard();
    // Queued but never run.
    let queued = handle.spawn(async move {
        let _guard = guard;
    });
    drop(event_loop);
    assert!(dropped.is_dropped());
    let outcome = queued.wait_timeout(BOUND).expect("resolved");
    assert!(outcome.unwrap_err().is_loop_closed());
}

#[test]
fn a_remote_task_still_running_when_the_loop_is_dropped_resolves_loop_closed() {
    let mut event_loop = EventLoop::new().unwrap();
    let handle = event_loop.handle();
    let gate = Gate::new();
    let (guard, dropped) = drop_guard();
    let wait = gate.wait();
    let running = handle.spawn(async move {
        let _guard = guard;
        wait.await;
    });
    event_loop.run_until_stalled();
    assert!(!running.is_finished());
    drop(event_loop);
    assert!(dropped.is_dropped());
    let outcome = running.wait_timeout(BOUND).expect("resolved");
    assert!(outcome.unwrap_err().is_loop_closed());
}

#[test]
fn a_join_handle_outliving_its_loop_resolves_loop_closed() {
    let mut event_loop = EventLoop::new().unwrap();
    let (guard, dropped) = drop_guard();
    let mut task = event_loop.spawn(async move {
        let _guard = guard;
        std::future::pending::<()>().await;
    });
    event_loop.run_until_stalled();
    drop(event_loop);
    assert!(dropped.is_dropped(), "the loop drops its tasks' futures");
    assert!(task.is_finished());
    assert!(matches!(
        poll_once(&mut task),
        Poll::Ready(Err(JoinError::LoopClosed))
    ));
}

#[test]
fn handle_stop_after_the_loop_is_dropped_is_harmless() {
    let event_loop = EventLoop::new().unwrap();
    let handle = event_loop.handle();
    drop(event_loop);
    handle.stop();
    assert!(handle.is_closed());
}

// ----- a blocking wait on the loop's own thread ------------------------------

#[test]
fn remote_handle_wait_on_the_idle_loop_thread_panics_with_advice_instead_of_hanging() {
    let mut event_loop = EventLoop::new().unwrap();
    let remote = event_loop.handle().spawn(async { 7 });
    let message = expect_panic(move || remote.wait());
    assert!(message.contains("never end"), "{message}");
    assert!(message.contains(".await"), "{message}");
    assert!(message.contains("EventLoop::block_on"), "{message}");
    // The loop is fine and the handle usable the advised way.
    let remote = event_loop.handle().spawn(async { 8 });
    assert_eq!(event_loop.block_on(remote).unwrap(), 8);
}

#[test]
fn remote_handle_wait_inside_a_task_of_its_loop_panics_with_advice() {
    let mut event_loop = EventLoop::new().unwrap();
    let task = event_loop.spawn(async {
        let remote = Handle::current().spawn(async { 1 });
        remote.wait()
    });
    let err = event_loop.block_on(task).unwrap_err();
    let message = err.panic_message().unwrap();
    assert!(message.contains("RemoteHandle::wait"), "{message}");
    assert!(message.contains(".await"), "{message}");
}

#[test]
fn remote_handle_wait_timeout_on_the_loop_thread_panics_instead_of_blocking_the_loop() {
    let mut event_loop = EventLoop::new().unwrap();
    let remote = event_loop.handle().spawn(async { 3 });
    let message = expect_panic(|| remote.wait_timeout(Duration::from_secs(30)));
    assert!(message.contains("RemoteHandle::wait_timeout"), "{message}");
    assert!(message.contains("stand still"), "{message}");
    assert!(
        remote.wait_timeout(Duration::ZERO).is_none(),
        "a zero timeout only looks"
    );
    event_loop.run_until_stalled();
    // Finished: the loop thread may collect it, even with a long timeout.
    assert_eq!(remote.wait_timeout(Duration::MAX).unwrap().unwrap(), 3);
}

#[test]
fn remote_handle_wait_on_the_loop_thread_after_the_task_finished_returns_its_outcome() {
    let mut event_loop = EventLoop::new().unwrap();
    let remote = event_loop.handle().spawn(async { 5 });
    event_loop.run_until_stalled();
    assert_eq!(remote.wait().unwrap(), 5);
}

#[test]
fn remote_handle_wait_on_another_thread_still_blocks_until_the_loop_runs_it() {
    let mut event_loop = EventLoop::new().unwrap();
    let handle = event_loop.handle();
    let (tx, rx) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let remote = handle.spawn(async { 9 });
        let outcome = remote.wait_timeout(BOUND);
        handle.stop();
        tx.send(()).unwrap();
        outcome
    });
    event_loop.run();
    rx.recv_timeout(BOUND).unwrap();
    assert_eq!(waiter.join().unwrap().unwrap().unwrap(), 9);
}

// ----- advice that exists ---------------------------------------------------

#[test]
fn every_outside_a_loop_panic_names_an_api_that_exists() {
    let cases: [(&str, String, &[&str]); 7] = [
        (
            "spawn",
            expect_panic(|| looplet::spawn(async {})),
            &["EventLoop::spawn", "Handle::spawn"],
        ),
        (
            "spawn_named",
            expect_panic(|| looplet::spawn_named("x", async {})),
            &["EventLoop::spawn_named"],
        ),
        (
            "call_soon",
            expect_panic(|| looplet::call_soon(|| {})),
            &["EventLoop::call_soon", "Handle::call_soon_threadsafe"],
        ),
        (
            "call_later",
            expect_panic(|| looplet::call_later(Duration::from_millis(1), || {})),
            &["EventLoop::call_later"],
        ),
        (
            "call_at",
            expect_panic(|| looplet::call_at(std::time::Instant::now(), || {})),
            &["EventLoop::call_at"],
        ),
        (
            "Handle::current",
            expect_panic(Handle::current),
            &["EventLoop::handle"],
        ),
        (
            "sleep",
            expect_panic(|| {
                let mut sleep = Box::pin(looplet::sleep(Duration::from_millis(1)));
                poll_once(&mut sleep)
            }),
            &["EventLoop::block_on", "EventLoop::spawn", "looplet::spawn"],
        ),
    ];
    for (what, message, advice) in cases {
        assert!(
            message.contains("outside a running loop"),
            "{what}: {message}"
        );
        for api in advice {
            assert!(
                message.contains(api),
                "{what}: should advise {api}: {message}"
            );
        }
        // Advice in the old style named methods that do not exist.
        assert!(!message.contains("loop."), "{what}: {message}");
    }
}

// ----- the loop dropped by the destructor of a task being aborted -------------

/// Lifecycle edges (task.rs): E6, E11.
#[test]
fn aborting_a_task_whose_future_drops_the_event_loop_does_not_panic() {
    /// Drops the loop it shares when dropped itself.
    struct DropsTheLoop(Rc<RefCell<Option<EventLoop>>>);
    impl Drop for DropsTheLoop {
        fn drop(&mut self) {
            let event_loop = self.0.borrow_mut().take();
            drop(event_loop);
        }
    }
    let shared = Rc::new(RefCell::new(Some(EventLoop::new().unwrap())));
    let killer = DropsTheLoop(Rc::clone(&shared));
    let task = shared.borrow().as_ref().unwrap().spawn(async move {
        let _killer = killer;
        std::future::pending::<()>().await
    });
    let (guard, flag) = drop_guard();
    let other = shared.borrow().as_ref().unwrap().spawn(async move {
        let _guard = guard;
        std::future::pending::<()>().await
    });
    task.abort(); // drops the future, which drops the loop
    assert!(shared.borrow().is_none(), "the loop is gone");
    assert!(
        flag.is_dropped(),
        "the loop's other tasks were dropped with it"
    );
    assert!(task.is_finished());
    assert!(other.is_finished());
}

// ----- the panic points at the caller ----------------------------------------

std::thread_local! {
    static PANIC_FILE: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f`, which must panic, and returns the file its panic was reported
/// at (the location a user sees in "panicked at <file>:<line>").
fn panic_file(f: impl FnOnce()) -> String {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let file = info.location().map(|l| l.file().to_string());
            PANIC_FILE.with(|slot| *slot.borrow_mut() = file);
            previous(info);
        }));
    });
    expect_panic(f);
    PANIC_FILE
        .with(|slot| slot.borrow_mut().take())
        .expect("the hook saw the panic")
}

#[test]
fn misuse_panics_are_reported_at_the_callers_line_not_inside_looplet() {
    let here = file!();
    assert_eq!(panic_file(|| drop(Handle::current())), here);
    assert_eq!(panic_file(|| drop(looplet::spawn(async {}))), here);
    let event_loop = EventLoop::new().unwrap();
    let remote = event_loop.handle().spawn(async { 1 });
    assert_eq!(
        panic_file(|| drop(remote.wait_timeout(Duration::from_secs(1)))),
        here
    );
    let remote = event_loop.handle().spawn(async { 2 });
    assert_eq!(panic_file(move || drop(remote.wait())), here);
    // Nesting: the inner driving call is the one reported.
    let mut outer = EventLoop::new().unwrap();
    let inner_file = outer.block_on(async { panic_file(|| looplet::run(async {})) });
    assert_eq!(inner_file, here);
}
