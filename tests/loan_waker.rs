//! Specifies the loan waker: a task that has never kept its waker owns
//! none, and each of its polls borrows the loop's one loan waker (renamed
//! for it). Whatever a future does with the waker it is lent, it must not
//! be able to tell: a clone it keeps wakes it (from this thread or another,
//! now or much later), a clone it makes and drops during the poll still
//! counts, two tasks that keep wakers are woken each by its own, and a task
//! is never queued twice, however many wakes (its own, the loop's soft
//! cancel) pile up before its next poll.

mod common;

use common::{block_on_bounded, counted, Gate, BOUND};
use looplet::EventLoop;
use std::cell::RefCell;
use std::future::poll_fn;
use std::rc::Rc;
use std::sync::mpsc;
use std::task::{Poll, Waker};
use std::thread;

/// Where a future keeps the waker it was polled with.
type WakerSlot = Rc<RefCell<Option<Waker>>>;

/// A future that keeps a clone of each waker it is polled with in `slot`
/// and waits until `polls` polls have happened.
fn keeper(slot: WakerSlot, polls: usize) -> impl std::future::Future<Output = ()> {
    let mut seen = 0;
    poll_fn(move |cx| {
        seen += 1;
        if seen >= polls {
            return Poll::Ready(());
        }
        *slot.borrow_mut() = Some(cx.waker().clone());
        Poll::Pending
    })
}

#[test]
fn a_clone_kept_during_a_poll_wakes_the_task_long_after_other_tasks_borrowed_the_loan() {
    let mut event_loop = EventLoop::new().unwrap();
    let slot: WakerSlot = Rc::default();
    let (kept, kept_polls) = counted(keeper(Rc::clone(&slot), 2));
    let task = event_loop.spawn(kept);
    event_loop.run_until_stalled();
    assert_eq!(kept_polls.get(), 1);

    // Many tasks that keep nothing borrow the loan meanwhile.
    for _ in 0..100 {
        drop(event_loop.spawn(async { looplet::yield_now().await }));
    }
    event_loop.run_until_stalled();
    assert_eq!(kept_polls.get(), 1, "the others' polls never wake it");

    slot.borrow_mut().take().expect("the waker was kept").wake();
    event_loop.run_until_stalled();
    assert_eq!(kept_polls.get(), 2, "its kept waker polls it");
    assert!(task.is_finished());
}

#[test]
fn two_tasks_that_keep_their_wakers_are_woken_each_by_its_own() {
    let mut event_loop = EventLoop::new().unwrap();
    let (slot_a, slot_b): (WakerSlot, WakerSlot) = (Rc::default(), Rc::default());
    let (a, a_polls) = counted(keeper(Rc::clone(&slot_a), 3));
    let (b, b_polls) = counted(keeper(Rc::clone(&slot_b), 3));
    let (a, b) = (event_loop.spawn(a), event_loop.spawn(b));
    event_loop.run_until_stalled();
    assert_eq!((a_polls.get(), b_polls.get()), (1, 1));

    let waker_a = slot_a.borrow().clone().unwrap();
    let waker_b = slot_b.borrow().clone().unwrap();
    assert!(
        !waker_a.will_wake(&waker_b),
        "two tasks never share a kept waker"
    );

    waker_a.wake_by_ref();
    event_loop.run_until_stalled();
    assert_eq!((a_polls.get(), b_polls.get()), (2, 1));
    waker_b.wake_by_ref();
    event_loop.run_until_stalled();
    assert_eq!((a_polls.get(), b_polls.get()), (2, 2));
    // The same task keeps the same waker from poll to poll.
    assert!(slot_a.borrow().as_ref().unwrap().will_wake(&waker_a));
    waker_a.wake();
    waker_b.wake();
    event_loop.run_until_stalled();
    assert!(a.is_finished() && b.is_finished());
}

#[test]
fn a_clone_kept_by_another_thread_wakes_the_task_from_there() {
    let mut event_loop = EventLoop::new().unwrap();
    let (send_waker, receive_waker) = mpsc::channel::<Waker>();
    let (go, wait_for_go) = mpsc::channel::<()>();
    let waker_thread = thread::spawn(move || {
        let waker = receive_waker
            .recv_timeout(BOUND)
            .expect("the task sent its waker");
        wait_for_go.recv_timeout(BOUND).expect("told to wake");
        waker.wake();
    });
    let mut sent = false;
    let task = event_loop.spawn(poll_fn(move |cx| {
        if sent {
            return Poll::Ready("woken from the other thread");
        }
        send_waker.send(cx.waker().clone()).unwrap();
        sent = true;
        Poll::Pending
    }));
    event_loop.run_until_stalled();
    go.send(()).unwrap();
    let outcome = block_on_bounded(&mut event_loop, task).unwrap();
    assert_eq!(outcome, "woken from the other thread");
    waker_thread.join().unwrap();
}

#[test]
fn a_clone_made_and_dropped_on_another_thread_during_the_poll_still_queues_the_task_once() {
    let mut event_loop = EventLoop::new().unwrap();
    let mut first = true;
    let (future, polls) = counted(poll_fn(move |cx| {
        if first {
            first = false;
            // Another thread wakes the task and drops its clone, all before
            // this poll returns: by then nobody holds the waker but the loop,
            // and the task is queued (its wake is in the loop's inbox).
            let waker = cx.waker().clone();
            let (done, wait_done) = mpsc::channel();
            thread::spawn(move || {
                waker.wake();
                done.send(()).unwrap();
            });
            wait_done
                .recv_timeout(BOUND)
                .expect("the waking thread ran");
        }
        Poll::<()>::Pending
    }));
    let task = event_loop.spawn(future);
    let tick = event_loop.turn(Some(std::time::Duration::ZERO));
    assert_eq!(tick.polls, 1);
    // Queued already: these wakes collapse into the one on its way.
    assert!(task.cancel());
    assert!(task.cancel());
    assert!(common::turn_until(&mut event_loop, BOUND, || polls.get() == 2));
    event_loop.run_until_stalled();
    assert_eq!(polls.get(), 2, "one more poll, not one per wake");
    task.abort();
}

#[test]
fn a_task_with_no_waker_of_its_own_is_queued_once_whatever_wakes_pile_up() {
    let mut event_loop = EventLoop::new().unwrap();
    // It wakes itself through the borrowed waker (keeping nothing), then is
    // asked to cancel twice before its next poll: one poll follows.
    let mut woke_itself = false;
    let (future, polls) = counted(poll_fn(move |cx| {
        if !woke_itself {
            woke_itself = true;
            cx.waker().wake_by_ref();
            cx.waker().wake_by_ref();
        }
        Poll::<()>::Pending
    }));
    let task = event_loop.spawn(future);
    let tick = event_loop.turn(Some(std::time::Duration::ZERO));
    assert_eq!((tick.polls, polls.get()), (1, 1));
    assert!(task.cancel());
    assert!(task.cancel());
    let tick = event_loop.turn(Some(std::time::Duration::ZERO));
    assert_eq!(
        (tick.polls, polls.get()),
        (1, 2),
        "one poll for all those wakes"
    );
    let tick = event_loop.turn(Some(std::time::Duration::ZERO));
    assert_eq!((tick.polls, polls.get()), (0, 2), "and nothing left queued");

    // Waiting (not queued), a soft cancel queues it exactly once.
    assert!(task.cancel());
    assert!(task.cancel());
    event_loop.run_until_stalled();
    assert_eq!(polls.get(), 3);
    task.abort();
}

#[test]
fn a_gate_opened_from_another_thread_wakes_many_tasks_that_borrowed_the_loan_first() {
    let mut event_loop = EventLoop::new().unwrap();
    let gates: Vec<Gate> = (0..50).map(|_| Gate::new()).collect();
    let tasks: Vec<_> = gates
        .iter()
        .map(|gate| {
            let wait = gate.wait();
            // Each first yields (borrowing the loan, keeping nothing), then
            // keeps a waker in its gate.
            event_loop.spawn(async move {
                looplet::yield_now().await;
                wait.await;
            })
        })
        .collect();
    event_loop.run_until_stalled();
    let opener = thread::spawn(move || {
        for gate in gates.iter().rev() {
            gate.open();
        }
    });
    for task in tasks {
        block_on_bounded(&mut event_loop, task).unwrap();
    }
    opener.join().unwrap();
}
