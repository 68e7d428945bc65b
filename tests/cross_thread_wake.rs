//! Specifies cross-thread wakes: a task's waker (or `block_on`'s root
//! waker), woken from another thread, wakes a loop that is blocked in
//! `epoll_wait` with no timers, and the woken future is polled again.

mod common;

use common::{wait_for, Gate, BOUND};
use looplet::{EventLoop, Handle};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// Gives the loop thread time to actually reach `epoll_wait` (the test
/// passes either way; this only makes the "blocked" case the likely one).
fn let_it_block() {
    thread::sleep(Duration::from_millis(50));
}

#[test]
fn a_waker_woken_from_another_thread_wakes_a_loop_blocked_in_run() {
    let gate = Gate::new();
    let (parked_tx, parked_rx) = mpsc::channel::<()>();
    let (done_tx, done_rx) = mpsc::channel();

    let loop_gate = gate.clone();
    let _loop_thread = thread::spawn(move || {
        let mut event_loop = EventLoop::new().unwrap();
        let task = event_loop.spawn(async move {
            let handle = Handle::current();
            let _ = parked_tx.send(());
            loop_gate.wait().await;
            handle.stop();
            "woken"
        });
        event_loop.run(); // no timers: only the remote wake can end this
        let metrics = event_loop.metrics();
        let outcome = event_loop.block_on(task).unwrap();
        let _ = done_tx.send((outcome, metrics));
    });

    parked_rx.recv_timeout(BOUND).expect("task started");
    assert!(wait_for(BOUND, || gate.waker().is_some()));
    let_it_block();
    assert_eq!(gate.polls(), 1, "pending, waiting for its wake");
    let waker = gate.waker().expect("the task left its waker");
    gate.open_silently();
    waker.wake(); // from this thread, while the loop sleeps

    let (outcome, metrics) = done_rx
        .recv_timeout(BOUND)
        .expect("the loop thread never woke up");
    assert_eq!(outcome, "woken");
    assert_eq!(gate.polls(), 2, "exactly one more poll");
    assert!(metrics.remote_wakes >= 1, "{metrics:?}");
}

#[test]
fn a_remote_wake_reaches_the_loop_even_without_the_sleep_first() {
    // Same, but the wake races the loop going to sleep: no lost wakeup.
    for _ in 0..50 {
        let gate = Gate::new();
        let (parked_tx, parked_rx) = mpsc::channel::<()>();
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let loop_gate = gate.clone();
        let _loop_thread = thread::spawn(move || {
            let mut event_loop = EventLoop::new().unwrap();
            let handle = event_loop.handle();
            let _task = event_loop.spawn(async move {
                let _ = parked_tx.send(());
                loop_gate.wait().await;
                handle.stop();
            });
            event_loop.run();
            let _ = done_tx.send(());
        });
        parked_rx.recv_timeout(BOUND).expect("task started");
        gate.open(); // wakes the stored waker from this thread
        done_rx
            .recv_timeout(BOUND)
            .expect("a wake racing the loop's sleep was lost");
    }
}

#[test]
fn the_root_waker_woken_from_another_thread_wakes_block_on() {
    let gate = Gate::new();
    let (parked_tx, parked_rx) = mpsc::channel::<()>();
    let (done_tx, done_rx) = mpsc::channel();

    let root_gate = gate.clone();
    let _loop_thread = thread::spawn(move || {
        let mut event_loop = EventLoop::new().unwrap();
        let out = event_loop.block_on(async move {
            let _ = parked_tx.send(());
            root_gate.wait().await;
            17
        });
        let _ = done_tx.send(out);
    });

    parked_rx.recv_timeout(BOUND).expect("block_on started");
    assert!(wait_for(BOUND, || gate.waker().is_some()));
    let_it_block();
    gate.open();
    let out = done_rx.recv_timeout(BOUND).expect("block_on never woke up");
    assert_eq!(out, 17);
    assert_eq!(gate.polls(), 2, "polled once, then once after the wake");
}

#[test]
fn a_task_woken_from_another_thread_wakes_block_on_waiting_for_it() {
    let gate = Gate::new();
    let (parked_tx, parked_rx) = mpsc::channel::<()>();
    let (done_tx, done_rx) = mpsc::channel();

    let task_gate = gate.clone();
    let _loop_thread = thread::spawn(move || {
        let mut event_loop = EventLoop::new().unwrap();
        let task = event_loop.spawn(async move {
            let _ = parked_tx.send(());
            task_gate.wait().await;
            String::from("from the task")
        });
        let out = event_loop.block_on(task).unwrap();
        let _ = done_tx.send((out, event_loop.metrics().remote_wakes));
    });

    parked_rx.recv_timeout(BOUND).expect("task started");
    assert!(wait_for(BOUND, || gate.waker().is_some()));
    let_it_block();
    gate.open();
    let (out, remote_wakes) = done_rx.recv_timeout(BOUND).expect("block_on never woke up");
    assert_eq!(out, "from the task");
    assert!(remote_wakes >= 1);
}

#[test]
fn wakes_from_many_threads_each_wake_their_own_task() {
    const TASKS: usize = 8;
    let gates: Vec<Gate> = (0..TASKS).map(|_| Gate::new()).collect();
    let (parked_tx, parked_rx) = mpsc::channel::<()>();
    let (done_tx, done_rx) = mpsc::channel();

    let loop_gates = gates.clone();
    let _loop_thread = thread::spawn(move || {
        let mut event_loop = EventLoop::new().unwrap();
        let handles: Vec<_> = loop_gates
            .into_iter()
            .enumerate()
            .map(|(i, gate)| {
                let parked = parked_tx.clone();
                event_loop.spawn(async move {
                    let _ = parked.send(());
                    gate.wait().await;
                    i
                })
            })
            .collect();
        let outs = event_loop.block_on(async move {
            let mut outs = Vec::new();
            for h in handles {
                outs.push(h.await.unwrap());
            }
            outs
        });
        let _ = done_tx.send(outs);
    });

    for _ in 0..TASKS {
        parked_rx.recv_timeout(BOUND).expect("task started");
    }
    assert!(wait_for(BOUND, || gates
        .iter()
        .all(|g| g.waker().is_some())));
    let_it_block();
    let wakers: Vec<_> = gates
        .iter()
        .map(|gate| {
            let gate = gate.clone();
            thread::spawn(move || gate.open())
        })
        .collect();
    for w in wakers {
        w.join().unwrap();
    }
    let outs = done_rx.recv_timeout(BOUND).expect("a wake was lost");
    assert_eq!(outs, (0..TASKS).collect::<Vec<_>>());
    for gate in &gates {
        assert_eq!(gate.polls(), 2, "each task: one poll before, one after");
    }
}
