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
    assert_eq!(event_loop.metrics().sleeps, 1, "it did sleep");
}

#[test]
fn turn_with_zero_timeout_never_sleeps() {
    let mut event_loop = EventLoop::new().unwrap();
    for _ in 0..10 {
        assert!(event_loop.turn(Some(Duration::ZERO)).is_idle());
    }
    assert_eq!(event_loop.metrics().sleeps, 0);
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

/// A host that built the loop, registered its fd and waits for the first
/// wake must hear about a submission made before its first call: a fresh
/// loop counts as asleep (`EventLoop::from_builder` hands back to the host
/// at once). Regression test: a fresh loop once counted as awake, and that
/// first wake was lost.
#[test]
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
    loop_fd_turns_readable_within(event_loop, Duration::ZERO)
}

/// A host's poller waiting on the loop's fd alone, for at most `limit`.
#[cfg(unix)]
fn loop_fd_turns_readable_within(event_loop: &looplet::EventLoop, limit: Duration) -> bool {
    use std::os::fd::AsRawFd;
    let fd = event_loop.as_raw_fd();
    let mut host = mio::Poll::new().unwrap();
    let mut source = mio::unix::SourceFd(&fd);
    host.registry()
        .register(&mut source, mio::Token(1), mio::Interest::READABLE)
        .unwrap();
    let mut events = mio::Events::with_capacity(4);
    host.poll(&mut events, Some(limit)).unwrap();
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

#[cfg(target_os = "linux")]
#[test]
fn the_loop_fd_turns_readable_at_the_next_timer_deadline_and_is_quiet_after_the_turn() {
    let mut event_loop = looplet::EventLoop::new().unwrap();
    let deadline = Instant::now() + Duration::from_millis(20);
    event_loop.call_at(deadline, || {});
    event_loop.run_until_stalled(); // hands back: the precise timer is armed for the deadline
    assert!(!loop_fd_is_readable(&event_loop), "not before the deadline");

    // A host waiting on the fd alone (no timeout of its own but a bound).
    assert!(
        loop_fd_turns_readable_within(&event_loop, BOUND),
        "the fd turned readable within the bound"
    );
    assert!(Instant::now() >= deadline, "and not before the deadline");

    let tick = event_loop.run_until_stalled();
    assert_eq!(tick.callbacks, 1, "the timer's callback ran");
    assert!(
        !loop_fd_is_readable(&event_loop),
        "the host call consumed the timer's event: a host polling the fd must not spin"
    );
}

// ----- a stop ends one driving call, then is consumed -----------------------

#[test]
fn a_stop_ends_the_next_turn_only_and_later_turns_sleep_again() {
    let mut event_loop = EventLoop::new().unwrap();
    event_loop.handle().stop();
    let stopped = event_loop.turn(Some(Duration::from_millis(1)));
    assert!(stopped.stopped, "the stop ended this turn: {stopped:?}");
    assert_eq!(
        event_loop.metrics().sleeps,
        0,
        "a stopping turn does not sleep"
    );
    for _ in 0..3 {
        let tick = event_loop.turn(Some(Duration::from_millis(1)));
        assert!(!tick.stopped, "the stop was consumed: {tick:?}");
    }
    assert_eq!(
        event_loop.metrics().sleeps,
        3,
        "every later idle turn sleeps its timeout instead of spinning"
    );
}

#[test]
fn a_stop_ends_exactly_one_call_of_each_driving_kind() {
    let mut event_loop = EventLoop::new().unwrap();
    let _busy = event_loop.spawn(async {
        loop {
            yield_now().await;
        }
    });

    event_loop.stop();
    let tick = event_loop.run_until_stalled();
    assert!(tick.stopped && tick.turns == 1, "{tick:?}");

    event_loop.handle().stop();
    let tick = event_loop.run_for(BOUND);
    assert!(tick.stopped && tick.turns == 1, "{tick:?}");
    let tick = event_loop.run_for(Duration::from_millis(5));
    assert!(!tick.stopped && tick.turns > 1, "consumed: {tick:?}");

    event_loop.stop();
    event_loop.run(); // returns after one turn, consuming the stop
    let tick = event_loop.turn(Some(Duration::ZERO));
    assert!(!tick.stopped, "run consumed it: {tick:?}");
}

#[test]
fn a_stop_made_during_a_host_call_ends_that_call_and_not_the_next() {
    let mut event_loop = EventLoop::new().unwrap();
    let handle = event_loop.handle();
    event_loop.call_soon(move || handle.stop());
    let tick = event_loop.run_until_stalled();
    assert!(tick.stopped, "{tick:?}");
    let sleeps = event_loop.metrics().sleeps;
    let tick = event_loop.turn(Some(Duration::from_millis(1)));
    assert!(!tick.stopped);
    assert_eq!(event_loop.metrics().sleeps, sleeps + 1, "it slept again");
}

// ----- run_for keeps its budget inside a turn -------------------------------

/// Spins for `d` (a stand-in for real work a callback or poll does).
fn busy_for(d: Duration) {
    let start = Instant::now();
    while start.elapsed() < d {
        std::hint::spin_loop();
    }
}

#[test]
fn run_for_checks_its_budget_inside_a_turn_and_runs_the_rest_next_call_in_order() {
    let mut event_loop = EventLoop::new().unwrap();
    let ran = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    const N: usize = 200;
    for i in 0..N {
        let ran = std::rc::Rc::clone(&ran);
        event_loop.call_soon(move || {
            busy_for(Duration::from_micros(100));
            ran.borrow_mut().push(i);
        });
    }
    // Each callback takes at least 100 µs, so a 1 ms budget fits at most 10
    // before the check that stops it (and at least 1).
    let first = event_loop.run_for(Duration::from_millis(1));
    assert!(
        (1..=10).contains(&first.callbacks),
        "one turn ran its whole snapshot past the budget: {first:?}"
    );
    assert_eq!(first.turns, 1, "{first:?}");
    let mut calls = 1;
    while ran.borrow().len() < N {
        let tick = event_loop.run_for(Duration::from_millis(1));
        assert!(tick.callbacks >= 1, "every call makes progress: {tick:?}");
        calls += 1;
        assert!(calls <= N, "no progress");
    }
    assert_eq!(
        *ran.borrow(),
        (0..N).collect::<Vec<_>>(),
        "nothing lost, in order"
    );
}

#[test]
fn run_for_checks_its_budget_between_task_polls_and_polls_the_rest_first_next_call() {
    let mut event_loop = EventLoop::new().unwrap();
    let trace = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    for i in 0..50 {
        let trace = std::rc::Rc::clone(&trace);
        let _task = event_loop.spawn(async move {
            busy_for(Duration::from_micros(100));
            trace.borrow_mut().push(format!("task {i}"));
        });
    }
    let first = event_loop.run_for(Duration::from_millis(1));
    assert!((1..=10).contains(&first.polls), "{first:?}");
    // Work made ready after the cut waits behind what the cut left over.
    let t = std::rc::Rc::clone(&trace);
    event_loop.call_soon(move || t.borrow_mut().push("late callback".into()));
    while event_loop.run_for(Duration::from_millis(1)).polls > 0 {}
    event_loop.run_until_stalled();
    let events = trace.borrow().clone();
    let mut expected: Vec<String> = (0..50).map(|i| format!("task {i}")).collect();
    expected.push("late callback".into());
    assert_eq!(events, expected);
}

// ----- a message with no work does not make turn(None) block -----------------

#[test]
fn a_turn_after_next_deadline_said_now_never_blocks_on_a_message_with_no_work() {
    let mut event_loop = EventLoop::new().unwrap();
    // A block_on root waker that outlives its call, woken from another
    // thread between calls, sends a message that carries no work.
    let waker = event_loop.block_on(std::future::poll_fn(|cx| {
        std::task::Poll::Ready(cx.waker().clone())
    }));
    thread::spawn(move || waker.wake()).join().unwrap();
    let deadline = event_loop.next_deadline().expect("a message is waiting");
    assert!(deadline <= Instant::now());
    let watchdog = common::Watchdog::new(event_loop.handle(), Duration::from_secs(2));
    event_loop.turn(None);
    assert!(
        !watchdog.fired(),
        "turn(None) blocked after next_deadline said now"
    );
    assert_eq!(event_loop.next_deadline(), None, "and nothing is left");
}

#[test]
fn a_turn_after_next_deadline_said_now_never_blocks_on_a_panic_report() {
    let reports = Arc::new(AtomicUsize::new(0));
    let r = Arc::clone(&reports);
    let mut event_loop = EventLoop::builder()
        .on_unhandled_panic(move |_| {
            r.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .unwrap();
    let remote = event_loop.handle().spawn(async { panic!("unread") });
    event_loop.run_until_stalled();
    // Dropped unread on another thread: the panic is sent back to the loop.
    thread::spawn(move || drop(remote)).join().unwrap();
    assert!(event_loop.next_deadline().unwrap() <= Instant::now());
    let watchdog = common::Watchdog::new(event_loop.handle(), Duration::from_secs(2));
    event_loop.turn(None);
    assert!(
        !watchdog.fired(),
        "turn(None) blocked after next_deadline said now"
    );
    assert_eq!(
        reports.load(Ordering::SeqCst),
        1,
        "the report reached the hook"
    );
}

// ----- host timeouts in whole milliseconds ----------------------------------

#[test]
fn host_timeout_rounds_a_sub_millisecond_remainder_up_so_a_host_never_spins() {
    let mut event_loop = EventLoop::new().unwrap();
    assert_eq!(
        event_loop.host_timeout(),
        None,
        "nothing to do: sleep until woken"
    );
    let fired = std::rc::Rc::new(std::cell::Cell::new(false));
    let f = std::rc::Rc::clone(&fired);
    event_loop.call_later(Duration::from_micros(1_300), move || f.set(true));
    let timeout = event_loop.host_timeout().unwrap();
    assert_eq!(timeout.subsec_nanos() % 1_000_000, 0, "{timeout:?}");
    assert!(timeout >= Duration::from_millis(1), "{timeout:?}");
    // A host sleeping exactly that long then finds the timer due.
    thread::sleep(timeout);
    let tick = event_loop.run_until_stalled();
    assert!(
        fired.get(),
        "the timer was due after host_timeout: {tick:?}"
    );
    event_loop.call_soon(|| ());
    assert_eq!(
        event_loop.host_timeout(),
        Some(Duration::ZERO),
        "work is ready"
    );
}

#[test]
fn run_for_and_turn_accept_duration_max() {
    let mut event_loop = EventLoop::new().unwrap();
    let _task = event_loop.spawn(async {});
    let tick = event_loop.run_for(Duration::MAX);
    assert_eq!(tick.polls, 1, "ran until stalled: {tick:?}");
    let handle = event_loop.handle();
    let submitter = thread::spawn(move || {
        thread::sleep(Duration::from_millis(20));
        handle.call_soon_threadsafe(|| ()).unwrap();
    });
    let watchdog = common::Watchdog::new(event_loop.handle(), BOUND);
    let tick = event_loop.turn(Some(Duration::MAX));
    assert!(!watchdog.fired());
    assert_eq!(tick.callbacks, 1, "woken by the submission: {tick:?}");
    submitter.join().unwrap();
}

// ----- the loop's own events, in order (Trace) --------------------------------

#[test]
fn a_remote_wake_between_driving_calls_calls_the_hook_once_and_the_next_turn_runs_it_without_sleeping(
) {
    let trace = common::Trace::new();
    let mut event_loop = trace.event_loop();
    let gate = common::Gate::new();
    let task = event_loop.spawn(trace.traced("task", gate.wait()));
    trace.turn(&mut event_loop, Some(Duration::ZERO)); // polls it: pending on the gate
    let opener = gate.clone();
    thread::spawn(move || opener.open()).join().unwrap(); // between calls
    trace.turn(&mut event_loop, Some(BOUND));
    assert!(task.is_finished());
    trace.assert(&[
        "turn",
        "poll task",
        "wake hook", // the loop counts as asleep between calls
        "turn",      // work is waiting: no "slept"
        "poll task",
        "task done",
    ]);
}

#[test]
fn a_turn_that_waits_sleeps_first_then_runs_what_woke_it_in_the_same_call() {
    let trace = common::Trace::new();
    let mut event_loop = trace.event_loop();
    let gate = common::Gate::new();
    let task = event_loop.spawn(trace.traced("task", gate.wait()));
    trace.turn(&mut event_loop, Some(Duration::ZERO));
    let loop_tid = current_tid().expect("/proc/thread-self");
    let opener = gate.clone();
    let waker = thread::spawn(move || {
        // Open the gate only once the loop sleeps in epoll_wait.
        let asleep = wait_for(BOUND, || thread_is_blocked(loop_tid));
        opener.open();
        asleep
    });
    trace.turn(&mut event_loop, Some(BOUND));
    assert!(waker.join().unwrap(), "the loop never slept");
    assert!(task.is_finished());
    // The gate's wake found the loop asleep, so it wrote the fd and called
    // the hook, on the opener's thread, *after* the write: the loop may be
    // running the task already when the hook records itself.
    let events = trace.events();
    let hook_at = events.iter().position(|e| e == "wake hook");
    assert!(
        hook_at > events.iter().position(|e| e == "slept"),
        "{events:?}"
    );
    let loop_events: Vec<_> = events.iter().filter(|e| *e != "wake hook").collect();
    assert_eq!(
        loop_events,
        [
            "turn",
            "poll task",
            "turn",
            "slept",
            "poll task",
            "task done"
        ],
        "{events:?}"
    );
    assert_eq!(
        events.len(),
        loop_events.len() + 1,
        "one hook call: {events:?}"
    );
}

// ----- a budget never ends a call before it ran something ready ----------------

#[test]
fn run_for_with_a_spent_budget_still_polls_a_ready_task_behind_a_stale_id() {
    let mut event_loop = EventLoop::new().unwrap();
    let aborted = event_loop.spawn(async {});
    aborted.abort(); // its id stays in the ready queue, stale
    let ready = event_loop.spawn(async { 7 });
    let tick = event_loop.run_for(Duration::ZERO);
    assert_eq!(tick.polls, 1, "{tick:?}");
    assert!(ready.is_finished());
}

#[test]
fn run_for_whose_leftover_snapshot_went_stale_still_runs_what_is_ready() {
    let mut event_loop = EventLoop::new().unwrap();
    let _first = event_loop.spawn(async {});
    let second = event_loop.spawn(async {});
    let tick = event_loop.run_for(Duration::ZERO); // polls `first`; `second` is left over
    assert_eq!(tick.polls, 1, "{tick:?}");
    second.abort(); // the leftover id is stale now
    event_loop.call_soon(|| ());
    let tick = event_loop.run_for(Duration::ZERO);
    assert_eq!(tick.polls + tick.callbacks, 1, "{tick:?}");
}
