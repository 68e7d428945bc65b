//! Specifies `call_soon`: callbacks run FIFO, a callback scheduled while a
//! turn runs waits for the next turn (the snapshot rule), and
//! `CallbackHandle::cancel` stops a callback that has not run yet.

mod common;

use common::Trace;
use looplet::EventLoop;
use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

#[test]
fn call_soon_callbacks_run_in_fifo_order() {
    let mut event_loop = EventLoop::new().unwrap();
    let trace = Trace::new();
    for name in ["a", "b", "c", "d", "e"] {
        event_loop.call_soon(trace.recorder(name));
    }
    assert!(trace.is_empty(), "call_soon never runs the callback inline");
    let tick = event_loop.turn(Some(Duration::ZERO));
    assert_eq!(tick.callbacks, 5);
    trace.assert(&["a", "b", "c", "d", "e"]);
}

#[test]
fn many_callbacks_keep_fifo_order() {
    let mut event_loop = EventLoop::new().unwrap();
    let seen = Rc::new(std::cell::RefCell::new(Vec::new()));
    for i in 0..1000 {
        let seen = Rc::clone(&seen);
        event_loop.call_soon(move || seen.borrow_mut().push(i));
    }
    event_loop.run_until_stalled();
    assert_eq!(*seen.borrow(), (0..1000).collect::<Vec<_>>());
}

#[test]
fn a_callback_scheduled_by_a_callback_runs_in_the_next_turn() {
    let mut event_loop = EventLoop::new().unwrap();
    let trace = Trace::new();
    let t = trace.clone();
    event_loop.call_soon(move || {
        t.push("a");
        looplet::call_soon(t.recorder("b (scheduled by a)"));
    });
    event_loop.call_soon(trace.recorder("c"));

    let first = event_loop.turn(Some(Duration::ZERO));
    trace.assert(&["a", "c"]);
    assert_eq!(first.callbacks, 2);

    let second = event_loop.turn(Some(Duration::ZERO));
    trace.assert(&["a", "c", "b (scheduled by a)"]);
    assert_eq!(second.callbacks, 1);

    assert!(event_loop.turn(Some(Duration::ZERO)).is_idle());
}

#[test]
fn a_self_rescheduling_callback_runs_once_per_turn() {
    let mut event_loop = EventLoop::new().unwrap();
    let runs = Rc::new(Cell::new(0u32));

    fn again(runs: Rc<Cell<u32>>) {
        runs.set(runs.get() + 1);
        if runs.get() < 100 {
            looplet::call_soon(move || again(runs));
        }
    }
    let r = Rc::clone(&runs);
    event_loop.call_soon(move || again(r));
    for turn in 1..=5 {
        event_loop.turn(Some(Duration::ZERO));
        assert_eq!(runs.get(), turn, "one run per turn");
    }
}

#[test]
fn cancel_prevents_the_callback_and_reports_whether_it_was_pending() {
    let mut event_loop = EventLoop::new().unwrap();
    let trace = Trace::new();
    let a = event_loop.call_soon(trace.recorder("a"));
    let b = event_loop.call_soon(trace.recorder("b"));
    let c = event_loop.call_soon(trace.recorder("c"));

    assert!(b.cancel(), "b had not run: cancel succeeds");
    assert!(!b.cancel(), "second cancel: nothing left to cancel");
    event_loop.run_until_stalled();
    trace.assert(&["a", "c"]);

    assert!(!a.cancel(), "a already ran");
    assert!(!c.cancel(), "c already ran");
}

#[test]
fn a_callback_can_cancel_a_later_one_in_the_same_turn() {
    let mut event_loop = EventLoop::new().unwrap();
    let trace = Trace::new();
    let later = Rc::new(Cell::new(None));
    let t = trace.clone();
    let l = Rc::clone(&later);
    event_loop.call_soon(move || {
        t.push("first");
        let handle: looplet::CallbackHandle = l.take().expect("handle stored");
        assert!(handle.cancel());
    });
    later.set(Some(event_loop.call_soon(trace.recorder("second"))));
    event_loop.call_soon(trace.recorder("third"));
    event_loop.run_until_stalled();
    trace.assert(&["first", "third"]);
}

#[test]
fn dropping_a_callback_handle_does_not_cancel() {
    let mut event_loop = EventLoop::new().unwrap();
    let trace = Trace::new();
    drop(event_loop.call_soon(trace.recorder("still runs")));
    event_loop.run_until_stalled();
    trace.assert(&["still runs"]);
}

#[test]
fn cancel_after_the_loop_is_dropped_returns_false() {
    let event_loop = EventLoop::new().unwrap();
    let ran = Rc::new(Cell::new(false));
    let r = Rc::clone(&ran);
    let handle = event_loop.call_soon(move || r.set(true));
    drop(event_loop);
    assert!(!handle.cancel());
    assert!(!ran.get());
}

#[test]
fn call_soon_from_a_task_runs_after_the_current_turn() {
    let mut event_loop = EventLoop::new().unwrap();
    let trace = Trace::new();
    let t = trace.clone();
    let task = event_loop.spawn(async move {
        t.push("task: schedule");
        let handle = looplet::call_soon(t.recorder("callback"));
        let cancelled = looplet::call_soon(t.recorder("cancelled callback"));
        assert!(cancelled.cancel());
        t.push("task: done");
        handle
    });
    event_loop.turn(Some(Duration::ZERO));
    trace.assert(&["task: schedule", "task: done"]);
    event_loop.turn(Some(Duration::ZERO));
    trace.assert(&["task: schedule", "task: done", "callback"]);
    let handle = event_loop.block_on(task).unwrap();
    assert!(!handle.cancel(), "it ran");
}

#[test]
fn callbacks_run_before_the_tasks_of_the_same_turn() {
    let mut event_loop = EventLoop::new().unwrap();
    let trace = Trace::new();
    let t = trace.clone();
    let task = event_loop.spawn(async move { t.push("task") });
    event_loop.call_soon(trace.recorder("callback"));
    event_loop.turn(Some(Duration::ZERO));
    trace.assert(&["callback", "task"]);
    drop(task);
}

/// Regression: a cancelled callback still sits in the FIFO and counts in
/// the turn's snapshot; skipping it must not pull in a callback that was
/// scheduled *during* this turn.
#[test]
fn a_cancelled_callback_does_not_let_a_newly_scheduled_one_run_early() {
    let mut event_loop = EventLoop::new().unwrap();
    let trace = Trace::new();
    let cancelled = event_loop.call_soon(trace.recorder("cancelled"));
    assert!(cancelled.cancel());
    let t = trace.clone();
    event_loop.call_soon(move || {
        t.push("a");
        looplet::call_soon(t.recorder("b (scheduled by a)"));
    });

    event_loop.turn(Some(Duration::ZERO));
    trace.assert(&["a"]);
    event_loop.turn(Some(Duration::ZERO));
    trace.assert(&["a", "b (scheduled by a)"]);
}
