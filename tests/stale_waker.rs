//! Specifies that wakers cannot misfire: a waker that outlives its task
//! never polls the task that reuses its slot, a waker that outlives its
//! loop is a harmless no-op, and duplicate wakes of a queued task collapse
//! into one poll.

mod common;

use common::{counted, Gate, PollCount, BOUND};
use looplet::{EventLoop, JoinHandle};
use std::cell::RefCell;
use std::future::poll_fn;
use std::rc::Rc;
use std::sync::mpsc;
use std::task::{Poll, Waker};
use std::thread;

/// A loop where a finished task's waker escaped, and a new task now lives
/// in that task's slot, parked on `gate` (polled once so far).
struct Reused {
    event_loop: EventLoop,
    stale: Waker,
    new_task: JoinHandle<()>,
    new_polls: PollCount,
    gate: Gate,
}

fn finished_task_with_escaped_waker_and_new_task_in_its_slot() -> Reused {
    let mut event_loop = EventLoop::new().unwrap();
    let escaped: Rc<RefCell<Option<Waker>>> = Rc::default();
    let slot = Rc::clone(&escaped);
    let old = event_loop.spawn(poll_fn(move |cx| {
        *slot.borrow_mut() = Some(cx.waker().clone());
        Poll::Ready(())
    }));
    let old_id = old.id();
    event_loop.block_on(old).unwrap(); // collected: the slot is free
    let stale = escaped.borrow_mut().take().expect("waker escaped");

    let gate = Gate::new();
    let (future, new_polls) = counted(gate.wait());
    let new_task = event_loop.spawn(future);
    assert_eq!(new_task.id().slot(), old_id.slot(), "the slot is reused");
    assert_ne!(new_task.id(), old_id, "by a new generation");
    event_loop.run_until_stalled();
    assert_eq!(new_polls.get(), 1);
    Reused {
        event_loop,
        stale,
        new_task,
        new_polls,
        gate,
    }
}

/// The new task still works: its own waker polls it exactly once more.
fn check_new_task_still_wakes(mut r: Reused) {
    r.gate.open();
    r.event_loop.run_until_stalled();
    assert_eq!(r.new_polls.get(), 2);
    assert!(r.new_task.is_finished());
    r.event_loop.block_on(r.new_task).unwrap();
}

/// Lifecycle edges (task.rs): E4 (the generation check of TaskSlab::get).
#[test]
fn stale_waker_woken_on_the_loop_thread_between_turns_does_not_poll_the_slots_new_task() {
    let mut r = finished_task_with_escaped_waker_and_new_task_in_its_slot();
    let before = r.event_loop.metrics();
    r.stale.wake_by_ref();
    r.event_loop.run_until_stalled();
    let after = r.event_loop.metrics();
    assert_eq!(
        after.remote_wakes,
        before.remote_wakes + 1,
        "the wake arrived"
    );
    assert_eq!(r.new_polls.get(), 1, "no extra poll of the new task");
    assert_eq!(after.polls, before.polls, "no poll at all");
    check_new_task_still_wakes(r);
}

#[test]
fn stale_waker_woken_inside_a_turn_does_not_poll_the_slots_new_task() {
    let mut r = finished_task_with_escaped_waker_and_new_task_in_its_slot();
    let before = r.event_loop.metrics();
    let stale = r.stale.clone();
    r.event_loop.call_soon(move || stale.wake());
    r.event_loop.run_until_stalled();
    let after = r.event_loop.metrics();
    assert_eq!(
        after.local_wakes,
        before.local_wakes + 1,
        "the wake arrived"
    );
    assert_eq!(r.new_polls.get(), 1, "no extra poll of the new task");
    assert_eq!(after.polls, before.polls);
    check_new_task_still_wakes(r);
}

#[test]
fn stale_waker_woken_from_another_thread_does_not_poll_the_slots_new_task() {
    let mut r = finished_task_with_escaped_waker_and_new_task_in_its_slot();
    let before = r.event_loop.metrics();
    let stale = r.stale.clone();
    thread::spawn(move || stale.wake()).join().unwrap();
    r.event_loop.run_until_stalled();
    let after = r.event_loop.metrics();
    assert_eq!(
        after.remote_wakes,
        before.remote_wakes + 1,
        "the wake arrived"
    );
    assert_eq!(r.new_polls.get(), 1, "no extra poll of the new task");
    assert_eq!(after.polls, before.polls);
    check_new_task_still_wakes(r);
}

#[test]
fn stale_waker_woken_while_the_loop_sleeps_in_turn_does_not_poll_the_slots_new_task() {
    let mut r = finished_task_with_escaped_waker_and_new_task_in_its_slot();
    let stale = r.stale.clone();
    let waker_thread = thread::spawn(move || {
        thread::sleep(std::time::Duration::from_millis(20));
        stale.wake();
    });
    // Sleeps until the stale wake arrives (or the bound passes).
    r.event_loop.turn(Some(BOUND));
    waker_thread.join().unwrap();
    r.event_loop.run_until_stalled();
    assert_eq!(r.event_loop.metrics().remote_wakes, 1);
    assert_eq!(r.new_polls.get(), 1, "no extra poll of the new task");
    check_new_task_still_wakes(r);
}

/// `Tick::polls` should count polls, not ready-queue entries: a stale
/// wake polls nothing.
#[test]
// Regression test for a fixed bug: Tick::polls counts stale ready-queue entries as polls (event_loop.rs turn_once counts every pop)
fn a_stale_wake_is_not_reported_as_a_poll_in_the_tick() {
    let mut r = finished_task_with_escaped_waker_and_new_task_in_its_slot();
    r.stale.wake_by_ref();
    let tick = r.event_loop.run_until_stalled();
    assert_eq!(r.new_polls.get(), 1);
    assert_eq!(tick.polls, 0, "{tick:?}");
    assert!(tick.is_idle(), "{tick:?}");
}

#[test]
fn a_waker_used_after_its_loop_is_dropped_is_a_noop_on_the_same_thread() {
    let mut event_loop = EventLoop::new().unwrap();
    let gate = Gate::new();
    let task = event_loop.spawn(gate.wait());
    event_loop.run_until_stalled();
    let waker = gate.waker().expect("task parked");
    drop(task);
    drop(event_loop);
    waker.wake_by_ref();
    drop(waker.clone());
    waker.wake();
}

#[test]
fn a_waker_used_after_its_loop_is_dropped_is_a_noop_on_another_thread() {
    let mut event_loop = EventLoop::new().unwrap();
    let gate = Gate::new();
    let task = event_loop.spawn(gate.wait());
    event_loop.run_until_stalled();
    let waker = gate.waker().expect("task parked");
    drop(task);
    drop(event_loop);
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        waker.wake_by_ref();
        waker.wake();
        let _ = tx.send(());
    });
    rx.recv_timeout(BOUND)
        .expect("waking a dead loop's waker panicked or hung");
}

#[test]
fn a_dead_loops_waker_woken_inside_a_new_loop_does_not_touch_it() {
    // Both loops hand out TaskId(slot 0, generation 1) to their first task:
    // only the loop id tells them apart.
    let mut old_loop = EventLoop::new().unwrap();
    let old_gate = Gate::new();
    let old_task = old_loop.spawn(old_gate.wait());
    old_loop.run_until_stalled();
    let old_waker = old_gate.waker().unwrap();
    let old_id = old_task.id();
    drop(old_task);
    drop(old_loop);

    let mut new_loop = EventLoop::new().unwrap();
    let gate = Gate::new();
    let (future, polls) = counted(gate.wait());
    let new_task = new_loop.spawn(future);
    assert_eq!(new_task.id(), old_id, "same slot and generation");
    new_loop.run_until_stalled();
    new_loop.call_soon(move || old_waker.wake());
    new_loop.run_until_stalled();
    assert_eq!(
        polls.get(),
        1,
        "the dead loop's waker polled the new loop's task"
    );
    assert_eq!(new_loop.metrics().local_wakes, 0);
}

#[test]
fn a_live_loops_waker_woken_inside_another_loop_goes_to_its_own_loop() {
    let mut loop_a = EventLoop::new().unwrap();
    let gate_a = Gate::new();
    let (future_a, polls_a) = counted(gate_a.wait());
    let task_a = loop_a.spawn(future_a);
    loop_a.run_until_stalled();
    let waker_a = gate_a.waker().unwrap();

    let mut loop_b = EventLoop::new().unwrap();
    let gate_b = Gate::new();
    let (future_b, polls_b) = counted(gate_b.wait());
    let task_b = loop_b.spawn(future_b);
    assert_eq!(task_b.id(), task_a.id(), "identical ids in two loops");
    loop_b.run_until_stalled();

    gate_a.open_silently();
    loop_b.call_soon(move || waker_a.wake());
    loop_b.run_until_stalled();
    assert_eq!(polls_b.get(), 1, "loop B's task must not be polled");
    assert_eq!(polls_a.get(), 1, "loop A is not running yet");

    loop_a.run_until_stalled();
    assert_eq!(polls_a.get(), 2, "loop A got the wake");
    assert!(task_a.is_finished());
    drop(task_b);
}

/// Lifecycle edges (task.rs): E4.
#[test]
fn duplicate_wakes_between_turns_collapse_into_one_poll() {
    let mut event_loop = EventLoop::new().unwrap();
    let gate = Gate::new();
    let (future, polls) = counted(gate.wait());
    let _task = event_loop.spawn(future);
    event_loop.run_until_stalled();
    let waker = gate.waker().unwrap();
    for _ in 0..5 {
        waker.wake_by_ref();
    }
    let tick = event_loop.run_until_stalled();
    assert_eq!(polls.get(), 2, "five wakes, one poll");
    assert_eq!(tick.polls, 1);
    assert_eq!(
        event_loop.metrics().remote_wakes,
        1,
        "collapsed before the injector"
    );
}

#[test]
fn duplicate_wakes_inside_a_turn_collapse_into_one_poll() {
    let mut event_loop = EventLoop::new().unwrap();
    let gate = Gate::new();
    let (future, polls) = counted(gate.wait());
    let _task = event_loop.spawn(future);
    event_loop.run_until_stalled();
    let waker = gate.waker().unwrap();
    event_loop.call_soon(move || {
        for _ in 0..5 {
            waker.wake_by_ref();
        }
    });
    event_loop.run_until_stalled();
    assert_eq!(polls.get(), 2);
    assert_eq!(event_loop.metrics().local_wakes, 1);
}

#[test]
fn duplicate_wakes_from_many_threads_collapse_into_one_poll() {
    let mut event_loop = EventLoop::new().unwrap();
    let gate = Gate::new();
    let (future, polls) = counted(gate.wait());
    let _task = event_loop.spawn(future);
    event_loop.run_until_stalled();
    let waker = gate.waker().unwrap();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let waker = waker.clone();
            thread::spawn(move || {
                for _ in 0..100 {
                    waker.wake_by_ref();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    event_loop.run_until_stalled();
    assert_eq!(polls.get(), 2, "400 wakes, one poll");
    assert_eq!(event_loop.metrics().remote_wakes, 1);
}

/// Lifecycle edges (task.rs): E3, E4.
#[test]
fn a_wake_during_the_tasks_own_poll_polls_it_once_more() {
    let mut event_loop = EventLoop::new().unwrap();
    let mut woken = 0;
    let (future, polls) = counted(poll_fn(move |cx| {
        if woken == 3 {
            return Poll::Ready(());
        }
        woken += 1;
        cx.waker().wake_by_ref();
        cx.waker().wake_by_ref(); // duplicate within the same poll
        Poll::Pending
    }));
    let task = event_loop.spawn(future);
    event_loop.block_on(task).unwrap();
    assert_eq!(polls.get(), 4);
}
