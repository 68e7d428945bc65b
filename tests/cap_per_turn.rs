//! Specifies the per-turn limits that keep the loop fair: one turn takes at
//! most `MAX_MESSAGES_PER_TURN` messages from the injector, and a task that keeps
//! waking itself cannot starve timers or injected callbacks.

mod common;

use common::{Watchdog, BOUND};
use looplet::{yield_now, EventLoop, MAX_MESSAGES_PER_TURN};
use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

fn submit(handle: &looplet::Handle, n: usize, ran: &Arc<AtomicUsize>) {
    for _ in 0..n {
        let ran = Arc::clone(ran);
        handle
            .call_soon_threadsafe(move || {
                ran.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap();
    }
}

/// A task that yields forever, counting its polls.
fn spawn_yielder(event_loop: &EventLoop) -> (looplet::JoinHandle<()>, Rc<Cell<u64>>) {
    let polls = Rc::new(Cell::new(0u64));
    let p = Rc::clone(&polls);
    let task = event_loop.spawn(async move {
        loop {
            p.set(p.get() + 1);
            yield_now().await;
        }
    });
    (task, polls)
}

#[test]
fn one_turn_runs_exactly_inject_batch_injected_callbacks() {
    let mut event_loop = EventLoop::new().unwrap();
    let handle = event_loop.handle();
    let ran = Arc::new(AtomicUsize::new(0));
    let total = MAX_MESSAGES_PER_TURN * 3 + 5;
    let h = handle.clone();
    let r = Arc::clone(&ran);
    thread::spawn(move || submit(&h, total, &r)).join().unwrap();
    assert_eq!(ran.load(Ordering::SeqCst), 0, "the loop is not running");

    let tick = event_loop.turn(Some(Duration::ZERO));
    assert_eq!(ran.load(Ordering::SeqCst), MAX_MESSAGES_PER_TURN);
    assert_eq!(tick.callbacks, MAX_MESSAGES_PER_TURN as u64);
    assert!(
        tick.next_deadline.unwrap() <= Instant::now(),
        "more is waiting: the host should call again now"
    );

    event_loop.turn(Some(Duration::ZERO));
    assert_eq!(ran.load(Ordering::SeqCst), 2 * MAX_MESSAGES_PER_TURN);
    event_loop.turn(Some(Duration::ZERO));
    assert_eq!(ran.load(Ordering::SeqCst), 3 * MAX_MESSAGES_PER_TURN);
    let tick = event_loop.turn(Some(Duration::ZERO));
    assert_eq!(ran.load(Ordering::SeqCst), total);
    assert_eq!(tick.callbacks, 5);
    assert_eq!(tick.next_deadline, None);
    assert!(event_loop.turn(Some(Duration::ZERO)).is_idle());
}

#[test]
fn a_waiting_turn_does_not_sleep_while_injected_messages_are_left() {
    let mut event_loop = EventLoop::new().unwrap();
    let handle = event_loop.handle();
    let ran = Arc::new(AtomicUsize::new(0));
    let total = MAX_MESSAGES_PER_TURN * 2 + 1;
    submit(&handle, total, &ran);
    let start = Instant::now();
    for _ in 0..3 {
        // A long timeout: a turn that slept with work left would stall here.
        event_loop.turn(Some(BOUND));
    }
    assert!(
        start.elapsed() < BOUND,
        "a turn slept with messages waiting"
    );
    assert_eq!(ran.load(Ordering::SeqCst), total);
    assert_eq!(event_loop.metrics().sleeps, 0);
}

#[test]
fn run_until_stalled_drains_everything_over_several_turns() {
    let mut event_loop = EventLoop::new().unwrap();
    let handle = event_loop.handle();
    let ran = Arc::new(AtomicUsize::new(0));
    let total = MAX_MESSAGES_PER_TURN * 3 + 5;
    submit(&handle, total, &ran);
    let tick = event_loop.run_until_stalled();
    assert_eq!(ran.load(Ordering::SeqCst), total);
    assert_eq!(tick.callbacks, total as u64);
    assert!(
        tick.turns >= 4,
        "at most MAX_MESSAGES_PER_TURN per turn: {tick:?}"
    );
}

#[test]
fn a_flood_of_injected_callbacks_does_not_starve_a_ready_task() {
    let mut event_loop = EventLoop::new().unwrap();
    let handle = event_loop.handle();
    let (_task, polls) = spawn_yielder(&event_loop);
    let ran = Arc::new(AtomicUsize::new(0));
    submit(&handle, MAX_MESSAGES_PER_TURN * 4, &ran);
    for turn in 1..=4u64 {
        event_loop.turn(Some(Duration::ZERO));
        assert_eq!(
            polls.get(),
            turn,
            "the task runs every turn despite the flood"
        );
        assert_eq!(
            ran.load(Ordering::SeqCst),
            turn as usize * MAX_MESSAGES_PER_TURN
        );
    }
}

#[test]
fn a_self_waking_task_cannot_starve_injected_callbacks() {
    let mut event_loop = EventLoop::new().unwrap();
    let handle = event_loop.handle();
    let (_task, polls) = spawn_yielder(&event_loop);
    for _ in 0..5 {
        event_loop.turn(Some(Duration::ZERO));
    }
    let ran = Arc::new(AtomicUsize::new(0));
    let h = handle.clone();
    let r = Arc::clone(&ran);
    thread::spawn(move || submit(&h, 10, &r)).join().unwrap();

    let before = polls.get();
    let tick = event_loop.turn(Some(Duration::ZERO));
    assert_eq!(
        ran.load(Ordering::SeqCst),
        10,
        "all ran in the very next turn"
    );
    assert_eq!(tick.callbacks, 10);
    assert_eq!(polls.get(), before + 1, "and the task ran once, too");
}

#[test]
fn a_self_waking_task_cannot_starve_a_due_timer() {
    let mut event_loop = EventLoop::new().unwrap();
    let (_task, polls) = spawn_yielder(&event_loop);
    let fired = Rc::new(Cell::new(false));
    let f = Rc::clone(&fired);
    let deadline = Instant::now() + Duration::from_millis(5);
    event_loop.call_at(deadline, move || f.set(true));

    let end = Instant::now() + BOUND;
    let mut turns_after_deadline = 0;
    while !fired.get() && Instant::now() < end {
        let due = Instant::now() >= deadline;
        event_loop.turn(Some(Duration::ZERO));
        if due {
            turns_after_deadline += 1;
        }
    }
    assert!(fired.get(), "the timer never fired");
    assert!(
        turns_after_deadline <= 1,
        "fired {turns_after_deadline} turns after it was due"
    );
    assert!(polls.get() > 1, "the task kept running meanwhile");
}

#[test]
fn a_self_waking_task_cannot_keep_run_from_seeing_a_timer_or_a_stop() {
    let (done_tx, done_rx) = mpsc::channel();
    let _loop_thread = thread::spawn(move || {
        let mut event_loop = EventLoop::new().unwrap();
        let (_task, polls) = spawn_yielder(&event_loop);
        let handle = event_loop.handle();
        let fired = Rc::new(Cell::new(false));
        let f = Rc::clone(&fired);
        event_loop.call_later(Duration::from_millis(10), move || {
            f.set(true);
            handle.stop();
        });
        let watchdog = Watchdog::new(event_loop.handle(), BOUND);
        event_loop.run();
        let _ = done_tx.send((fired.get(), watchdog.fired(), polls.get()));
    });
    let (fired, watchdog_fired, polls) = done_rx
        .recv_timeout(BOUND * 2)
        .expect("run() never returned");
    assert!(fired, "the timer never fired");
    assert!(!watchdog_fired, "only the watchdog's stop ended run()");
    assert!(polls > 1);
}
