//! Specifies host-driven mode (`turn`, `run_until_stalled`, `run_for`):
//! between calls the loop counts as asleep, so a remote submission calls
//! the builder's `wake_hook` (and writes the wake fd); `next_deadline` tells
//! the host when to call again; `run_for` and `turn(timeout)` are bounded.

mod common;

use common::{current_tid, thread_is_blocked, wait_for, BOUND};
use looplet::{yield_now, EventLoop, Handle};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

/// A loop whose `wake_hook` counts its calls.
fn loop_with_wake_hook() -> (EventLoop, Arc<AtomicUsize>) {
    let hook_calls = Arc::new(AtomicUsize::new(0));
    let h = Arc::clone(&hook_calls);
    let event_loop = EventLoop::builder()
        .wake_hook(move || {
            h.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .unwrap();
    (event_loop, hook_calls)
}

/// Submits `n` counting callbacks from another thread (and waits for it).
fn submit_from_another_thread(handle: &Handle, n: usize, ran: &Arc<AtomicUsize>) {
    let handle = handle.clone();
    let ran = Arc::clone(ran);
    thread::spawn(move || {
        for _ in 0..n {
            let ran = Arc::clone(&ran);
            handle
                .call_soon_threadsafe(move || {
                    ran.fetch_add(1, Ordering::SeqCst);
                })
                .unwrap();
        }
    })
    .join()
    .unwrap();
}

#[test]
fn a_remote_call_between_run_until_stalled_calls_invokes_the_wake_hook() {
    let (mut event_loop, hook_calls) = loop_with_wake_hook();
    let handle = event_loop.handle();
    let ran = Arc::new(AtomicUsize::new(0));

    event_loop.run_until_stalled();
    assert_eq!(
        hook_calls.load(Ordering::SeqCst),
        0,
        "nothing pending: no wake"
    );

    submit_from_another_thread(&handle, 1, &ran);
    assert_eq!(hook_calls.load(Ordering::SeqCst), 1, "the host is told");
    assert_eq!(
        event_loop.metrics().wake_syscalls,
        1,
        "and the fd is written"
    );
    assert!(
        event_loop.next_deadline().unwrap() <= Instant::now(),
        "work is pending: call again now"
    );

    submit_from_another_thread(&handle, 10, &ran);
    assert_eq!(
        hook_calls.load(Ordering::SeqCst),
        1,
        "later submissions coalesce with the pending wake"
    );
    assert_eq!(
        ran.load(Ordering::SeqCst),
        0,
        "nothing runs until the host calls"
    );

    let tick = event_loop.run_until_stalled();
    assert_eq!(ran.load(Ordering::SeqCst), 11);
    assert_eq!(tick.callbacks, 11);
    assert_eq!(tick.next_deadline, None);

    submit_from_another_thread(&handle, 1, &ran);
    assert_eq!(
        hook_calls.load(Ordering::SeqCst),
        2,
        "after the next host call, a new submission wakes the host again"
    );
    assert_eq!(event_loop.metrics().wake_syscalls, 2);
}

#[test]
fn a_remote_call_between_turn_calls_invokes_the_wake_hook() {
    let (mut event_loop, hook_calls) = loop_with_wake_hook();
    let handle = event_loop.handle();
    let ran = Arc::new(AtomicUsize::new(0));
    event_loop.turn(Some(Duration::ZERO));
    submit_from_another_thread(&handle, 3, &ran);
    assert_eq!(hook_calls.load(Ordering::SeqCst), 1);
    let tick = event_loop.turn(Some(Duration::ZERO));
    assert_eq!(tick.callbacks, 3);
    assert_eq!(ran.load(Ordering::SeqCst), 3);
}

#[test]
fn a_remote_wake_of_a_task_between_host_calls_invokes_the_wake_hook() {
    let (mut event_loop, hook_calls) = loop_with_wake_hook();
    let gate = common::Gate::new();
    let task = event_loop.spawn(gate.wait());
    event_loop.run_until_stalled();
    assert_eq!(hook_calls.load(Ordering::SeqCst), 0);
    let g = gate.clone();
    thread::spawn(move || g.open()).join().unwrap();
    assert_eq!(hook_calls.load(Ordering::SeqCst), 1);
    event_loop.run_until_stalled();
    assert!(task.is_finished());
}

#[test]
fn handing_back_to_the_host_with_work_pending_wakes_the_host() {
    let (mut event_loop, hook_calls) = loop_with_wake_hook();
    let _forever = event_loop.spawn(async {
        loop {
            yield_now().await;
        }
    });
    let tick = event_loop.run_for(Duration::from_millis(5));
    assert!(tick.polls >= 1);
    assert!(
        tick.next_deadline.unwrap() <= Instant::now(),
        "work is pending: {tick:?}"
    );
    assert_eq!(
        hook_calls.load(Ordering::SeqCst),
        1,
        "the loop wakes the host itself so its poller sees the fd readable"
    );
}

#[test]
fn next_deadline_is_now_when_work_is_pending_and_the_timer_when_only_a_timer_is() {
    let mut event_loop = EventLoop::new().unwrap();
    assert_eq!(event_loop.next_deadline(), None);

    let timer = Instant::now() + Duration::from_secs(30);
    event_loop.call_at(timer, || {});
    assert_eq!(event_loop.next_deadline(), Some(timer), "only a timer");

    event_loop.call_soon(|| {});
    assert!(
        event_loop.next_deadline().unwrap() <= Instant::now(),
        "a callback is ready"
    );

    let tick = event_loop.run_until_stalled();
    assert_eq!(tick.callbacks, 1);
    assert_eq!(tick.next_deadline, Some(timer), "back to only the timer");
    assert_eq!(event_loop.next_deadline(), Some(timer));

    // A remote submission waiting in the injector counts as work too.
    event_loop.handle().call_soon_threadsafe(|| {}).unwrap();
    assert!(event_loop.next_deadline().unwrap() <= Instant::now());
    let tick = event_loop.turn(Some(Duration::ZERO));
    assert_eq!(tick.callbacks, 1);
    assert_eq!(tick.next_deadline, Some(timer));
}

#[test]
fn next_deadline_counts_a_spawned_task_as_ready_work() {
    let mut event_loop = EventLoop::new().unwrap();
    let task = event_loop.spawn(async {});
    assert!(event_loop.next_deadline().unwrap() <= Instant::now());
    event_loop.run_until_stalled();
    assert_eq!(event_loop.next_deadline(), None);
    assert!(task.is_finished());
}

#[test]
fn run_for_returns_even_with_a_task_that_yields_forever() {
    let (done_tx, done_rx) = mpsc::channel();
    let _loop_thread = thread::spawn(move || {
        let mut event_loop = EventLoop::new().unwrap();
        let _forever = event_loop.spawn(async {
            loop {
                yield_now().await;
            }
        });
        let first = event_loop.run_for(Duration::from_millis(20));
        let second = event_loop.run_for(Duration::ZERO);
        let _ = done_tx.send((first, second));
    });
    let (first, second) = done_rx.recv_timeout(BOUND).expect("run_for did not return");
    assert!(first.turns >= 1 && first.polls >= 1, "{first:?}");
    assert_eq!(first.polls, first.turns, "one poll per turn: {first:?}");
    assert!(
        second.turns >= 1,
        "a zero budget still takes a turn: {second:?}"
    );
    assert!(first.next_deadline.is_some());
}

#[test]
fn turn_with_a_timeout_waits_at_most_about_that_long_when_idle() {
    let mut event_loop = EventLoop::new().unwrap();
    let start = Instant::now();
    let tick = event_loop.turn(Some(Duration::from_millis(20)));
    let elapsed = start.elapsed();
    assert!(
        elapsed < Duration::from_secs(5),
        "turn(20 ms) took {elapsed:?}"
    );
    assert!(tick.is_idle());
    assert_eq!(tick.turns, 1);
    assert_eq!(tick.next_deadline, None);
    assert_eq!(event_loop.metrics().parks, 1, "it did sleep");
}

#[test]
fn turn_with_zero_timeout_never_sleeps() {
    let mut event_loop = EventLoop::new().unwrap();
    for _ in 0..10 {
        assert!(event_loop.turn(Some(Duration::ZERO)).is_idle());
    }
    assert_eq!(event_loop.metrics().parks, 0);
}

#[test]
fn turn_returns_early_and_runs_a_remote_submission_that_arrives_while_it_waits() {
    let (mut event_loop, hook_calls) = loop_with_wake_hook();
    let handle = event_loop.handle();
    let tid = current_tid();
    let submitter = thread::spawn(move || {
        match tid {
            Some(tid) => {
                wait_for(BOUND, || thread_is_blocked(tid));
            }
            None => thread::sleep(Duration::from_millis(50)),
        }
        handle.call_soon_threadsafe(|| {}).unwrap();
    });
    let start = Instant::now();
    let tick = event_loop.turn(Some(Duration::from_secs(30)));
    submitter.join().unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "the wake was lost"
    );
    assert_eq!(
        tick.callbacks, 1,
        "what woke the turn runs in that same turn"
    );
    assert!(hook_calls.load(Ordering::SeqCst) <= 1);
}

#[test]
fn turn_without_a_timeout_returns_when_the_next_timer_fires() {
    let mut event_loop = EventLoop::new().unwrap();
    let deadline = Instant::now() + Duration::from_millis(20);
    let fired = Arc::new(AtomicUsize::new(0));
    let f = Arc::clone(&fired);
    event_loop.call_at(deadline, move || {
        f.fetch_add(1, Ordering::SeqCst);
    });
    // A watchdog wake in case the timer is ignored.
    let handle = event_loop.handle();
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let watchdog = thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = stop_rx.recv_timeout(BOUND) {
            let _ = handle.call_soon_threadsafe(|| {});
        }
    });
    let mut turns = 0;
    while fired.load(Ordering::SeqCst) == 0 && turns < 100 {
        event_loop.turn(None);
        turns += 1;
    }
    drop(stop_tx);
    watchdog.join().unwrap();
    assert_eq!(fired.load(Ordering::SeqCst), 1);
    assert!(Instant::now() >= deadline);
    assert!(turns <= 3, "took {turns} turns");
}

/// A fresh loop counts as awake until its first turn, so a host that built
/// the loop, registered its fd and is waiting for the first wake never
/// hears about a submission made before its first call: a lost wakeup.
#[test]
// Regression test for a fixed bug: a fresh loop starts AWAKE, so submissions before the first host call never wake the host (SleepState::new / EventLoop::from_builder)
fn a_remote_call_before_the_first_host_call_invokes_the_wake_hook() {
    let (event_loop, hook_calls) = loop_with_wake_hook();
    let ran = Arc::new(AtomicUsize::new(0));
    submit_from_another_thread(&event_loop.handle(), 1, &ran);
    assert_eq!(hook_calls.load(Ordering::SeqCst), 1);
    assert_eq!(event_loop.metrics().wake_syscalls, 1);
}

/// True if the loop's fd polls readable right now (watched from a second epoll).
#[cfg(unix)]
fn loop_fd_is_readable(event_loop: &looplet::EventLoop) -> bool {
    use std::os::fd::AsRawFd;
    let fd = event_loop.as_raw_fd();
    let mut host = mio::Poll::new().unwrap();
    let mut source = mio::unix::SourceFd(&fd);
    host.registry()
        .register(&mut source, mio::Token(1), mio::Interest::READABLE)
        .unwrap();
    let mut events = mio::Events::with_capacity(4);
    host.poll(&mut events, Some(Duration::ZERO)).unwrap();
    let readable = !events.is_empty();
    host.registry().deregister(&mut source).unwrap();
    readable
}

#[cfg(unix)]
#[test]
fn the_loop_fd_turns_readable_on_a_remote_call_and_is_consumed_by_the_next_host_call() {
    let mut event_loop = looplet::EventLoop::new().unwrap();
    event_loop.run_until_stalled();
    assert!(
        !loop_fd_is_readable(&event_loop),
        "idle loop: fd not readable"
    );

    let handle = event_loop.handle();
    std::thread::spawn(move || handle.call_soon_threadsafe(|| {}).unwrap())
        .join()
        .unwrap();
    assert!(
        loop_fd_is_readable(&event_loop),
        "a remote call between host turns makes the fd readable"
    );

    let tick = event_loop.run_until_stalled();
    assert_eq!(tick.callbacks, 1);
    assert!(
        !loop_fd_is_readable(&event_loop),
        "the host call consumed the wake: a host polling the fd must not spin"
    );
}
