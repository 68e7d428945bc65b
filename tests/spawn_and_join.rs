//! Specifies spawning and joining: a `JoinHandle` yields the task's output
//! (of any type), can be awaited from another task, detaches on drop, and
//! `abort()` cancels the task and drops its future.

mod common;

use common::{drop_guard, poll_once, Trace, BOUND};
use looplet::{yield_now, EventLoop, JoinError, JoinHandle};
use std::cell::{Cell, RefCell};
use std::future::pending;
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

/// Lifecycle edges (task.rs): E1, E2, E5, E8.
#[test]
fn join_handle_yields_outputs_of_various_types() {
    let mut event_loop = EventLoop::new().unwrap();
    let string = event_loop.spawn(async { String::from("hello") });
    let unit = event_loop.spawn(async {});
    let vec = event_loop.spawn(async { vec![1u8, 2, 3] });
    let tuple = event_loop.spawn(async { (7u64, 'x') });

    assert_eq!(event_loop.block_on(string).unwrap(), "hello");
    event_loop.block_on(unit).unwrap();
    assert_eq!(event_loop.block_on(vec).unwrap(), vec![1, 2, 3]);
    assert_eq!(event_loop.block_on(tuple).unwrap(), (7, 'x'));
}

#[test]
fn join_handle_can_be_awaited_from_another_task() {
    let mut event_loop = EventLoop::new().unwrap();
    let producer = event_loop.spawn(async {
        looplet::sleep(Duration::from_millis(5)).await;
        7
    });
    let consumer = event_loop.spawn(async move { producer.await.unwrap() * 6 });
    assert_eq!(event_loop.block_on(consumer).unwrap(), 42);
}

/// Lifecycle edges (task.rs): E3, E4, E5, E8.
#[test]
fn join_handle_awaited_from_another_task_waits_for_a_slow_task() {
    let mut event_loop = EventLoop::new().unwrap();
    let trace = Trace::new();
    let t = trace.clone();
    let slow = event_loop.spawn(async move {
        for _ in 0..3 {
            yield_now().await;
        }
        t.push("slow done");
        "slow"
    });
    let t = trace.clone();
    let waiter = event_loop.spawn(async move {
        t.push("waiter starts");
        let out = slow.await.unwrap();
        t.push(format!("waiter got {out}"));
    });
    event_loop.block_on(waiter).unwrap();
    trace.assert(&["waiter starts", "slow done", "waiter got slow"]);
}

#[test]
fn block_on_returns_the_root_futures_output_and_may_borrow_locals() {
    let mut event_loop = EventLoop::new().unwrap();
    let local = String::from("borrowed, not moved");
    let len = event_loop.block_on(async { local.len() });
    assert_eq!(len, local.len());
    let out = event_loop.block_on(async {
        let child = looplet::spawn(async { 40 });
        child.await.unwrap() + 2
    });
    assert_eq!(out, 42);
}

/// Lifecycle edges (task.rs): E9b, E10.
#[test]
fn dropping_a_join_handle_detaches_the_task_which_still_runs_to_completion() {
    let mut event_loop = EventLoop::new().unwrap();
    let steps = Rc::new(Cell::new(0));
    let s = Rc::clone(&steps);
    let handle = event_loop.spawn(async move {
        for _ in 0..3 {
            yield_now().await;
            s.set(s.get() + 1);
        }
        looplet::sleep(Duration::from_millis(5)).await;
        s.set(s.get() + 1);
    });
    drop(handle);
    assert!(common::turn_until(&mut event_loop, BOUND, || steps.get() == 4));
    assert_eq!(
        event_loop.metrics().tasks_alive,
        0,
        "a detached task is removed once it finishes"
    );
}

/// Lifecycle edges (task.rs): E9a.
#[test]
fn dropping_the_handle_of_a_finished_task_removes_it() {
    let mut event_loop = EventLoop::new().unwrap();
    let handle = event_loop.spawn(async { 1 });
    event_loop.run_until_stalled();
    assert!(handle.is_finished());
    assert_eq!(
        event_loop.metrics().tasks_alive,
        1,
        "outcome waits for the handle"
    );
    drop(handle);
    assert_eq!(event_loop.metrics().tasks_alive, 0);
}

/// Lifecycle edges (task.rs): E6.
#[test]
fn abort_resolves_cancelled_and_drops_the_future_at_once() {
    let mut event_loop = EventLoop::new().unwrap();
    let (guard, dropped) = drop_guard();
    let ran_past_pending = Rc::new(Cell::new(false));
    let r = Rc::clone(&ran_past_pending);
    let handle = event_loop.spawn(async move {
        let _guard = guard;
        pending::<()>().await;
        r.set(true);
    });
    event_loop.run_until_stalled();
    assert!(!handle.is_finished());
    assert!(!dropped.is_dropped());

    handle.abort();
    assert!(
        dropped.is_dropped(),
        "abort drops a waiting task's future now"
    );
    assert!(handle.is_finished());
    let outcome = event_loop.block_on(handle);
    assert!(matches!(outcome, Err(JoinError::Cancelled)), "{outcome:?}");
    assert!(!ran_past_pending.get());
}

/// Lifecycle edges (task.rs): E6.
#[test]
fn abort_before_the_first_poll_means_the_task_never_runs() {
    let mut event_loop = EventLoop::new().unwrap();
    let (guard, dropped) = drop_guard();
    let ran = Rc::new(Cell::new(false));
    let r = Rc::clone(&ran);
    let handle = event_loop.spawn(async move {
        let _guard = guard;
        r.set(true);
    });
    handle.abort();
    assert!(dropped.is_dropped());
    event_loop.run_until_stalled();
    assert!(!ran.get(), "an aborted queued task must not be polled");
    assert!(event_loop.block_on(handle).unwrap_err().is_cancelled());
}

#[test]
fn abort_of_a_finished_task_keeps_its_output() {
    let mut event_loop = EventLoop::new().unwrap();
    let handle = event_loop.spawn(async { 5 });
    event_loop.run_until_stalled();
    handle.abort();
    assert_eq!(event_loop.block_on(handle).unwrap(), 5);
}

/// Lifecycle edges (task.rs): E7.
#[test]
fn a_task_that_aborts_itself_during_its_poll_is_cancelled_after_that_poll() {
    let mut event_loop = EventLoop::new().unwrap();
    let trace = Trace::new();
    let (guard, dropped) = drop_guard();
    let own_handle: Rc<RefCell<Option<JoinHandle<()>>>> = Rc::new(RefCell::new(None));

    let t = trace.clone();
    let slot = Rc::clone(&own_handle);
    let handle = event_loop.spawn(async move {
        let _guard = guard;
        t.push("before abort");
        slot.borrow().as_ref().expect("handle stored").abort();
        t.push("after abort, same poll");
        yield_now().await;
        t.push("resumed after abort");
    });
    *own_handle.borrow_mut() = Some(handle);

    event_loop.run_until_stalled();
    trace.assert(&["before abort", "after abort, same poll"]);
    assert!(
        dropped.is_dropped(),
        "future dropped right after the aborting poll"
    );

    let handle = own_handle.borrow_mut().take().unwrap();
    assert!(handle.is_finished());
    let outcome = event_loop.block_on(handle);
    assert!(matches!(outcome, Err(JoinError::Cancelled)), "{outcome:?}");
    // Further turns never resume it.
    event_loop.run_until_stalled();
    trace.assert(&["before abort", "after abort, same poll"]);
}

#[test]
fn is_finished_turns_true_once_the_task_has_an_outcome() {
    let mut event_loop = EventLoop::new().unwrap();
    let handle = event_loop.spawn(async move {
        yield_now().await;
        "done"
    });
    assert!(!handle.is_finished(), "not yet polled");
    event_loop.turn(Some(Duration::ZERO));
    assert!(!handle.is_finished(), "yielded once");
    event_loop.turn(Some(Duration::ZERO));
    assert!(handle.is_finished(), "finished on its second poll");
    let mut handle = handle;
    // Collecting the outcome needs no running loop.
    assert!(matches!(poll_once(&mut handle), Poll::Ready(Ok("done"))));
}

#[test]
fn task_ids_are_distinct_for_live_tasks() {
    let event_loop = EventLoop::new().unwrap();
    let a = event_loop.spawn(async {});
    let b = event_loop.spawn(async {});
    assert_ne!(a.id(), b.id());
    assert_ne!(a.id().slot(), b.id().slot());
}

#[test]
fn looplet_run_runs_a_future_on_a_fresh_loop_and_returns_its_output() {
    let (guard, flag) = common::drop_guard();
    let answer = looplet::run(async move {
        let _left_running = looplet::spawn(async move {
            let _guard = guard;
            std::future::pending::<()>().await
        });
        let child = looplet::spawn(async { 40 });
        looplet::sleep(Duration::from_millis(1)).await;
        child.await.unwrap() + 2
    });
    assert_eq!(answer, 42);
    assert!(
        flag.is_dropped(),
        "the loop, and the task left on it, are gone"
    );
    assert_eq!(
        looplet::run(async { "again" }),
        "again",
        "each call is a fresh loop"
    );
}

#[test]
fn looplet_run_inside_a_running_loop_panics_about_nesting() {
    let mut event_loop = EventLoop::new().unwrap();
    let message = common::expect_panic(|| event_loop.block_on(async { looplet::run(async {}) }));
    assert!(message.contains("nested"), "{message}");
}
