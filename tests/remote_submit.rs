//! P1: a `RemoteHandle` always resolves — `Ok`, `Panicked`, `Cancelled` or
//! `LoopClosed` — on return, on panic, on cancel, when the loop is dropped or
//! unwinds, and for a submission that arrives after the loop closed.
//!
//! Every cross-thread wait is bounded (`remote_support::WAIT`): a handle that
//! never resolves fails its test instead of hanging it.

mod remote_support;

use futures::FutureExt;
use looplet::{EventLoop, JoinError, PanicPolicy, RemoteHandle};
use remote_support::*;
use std::any::Any;
use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

/// A function that panics with `payload`, typed so callers need no
/// unreachable code after it.
fn panic_with<P: Any + Send + 'static>(payload: P) -> u32 {
    std::panic::panic_any(payload)
}

/// Counts the loop's unhandled-panic reports (`on_unhandled_panic`).
fn counting_builder(count: &Arc<AtomicUsize>) -> impl FnOnce() -> looplet::Builder + Send {
    let count = Arc::clone(count);
    move || {
        EventLoop::builder().on_unhandled_panic(move |_| {
            count.fetch_add(1, SeqCst);
        })
    }
}

/// Submits a never-completing task and waits until the loop has polled it.
fn pending_on(handle: &looplet::Handle) -> (RemoteHandle<u32>, DropProbe) {
    let probe = DropProbe::new();
    let polled = probe.on_first_poll();
    let task = handle.spawn(Probed::<u32>::pending(&probe));
    recv(&polled, "the task's first poll");
    (task, probe)
}

// ----- (1) the task returns ---------------------------------------------------------

#[test]
fn task_that_returns_resolves_ok_with_its_output_computed_on_the_loop_thread() {
    quiet_deliberate_panics();
    let event_loop = LoopThread::start();
    let task = event_loop
        .handle
        .spawn(async { (6 * 7, thread::current().id()) });
    let (value, ran_on) = wait(&task).expect("Ok");
    assert_eq!(value, 42);
    assert_eq!(
        ran_on, event_loop.thread_id,
        "the task ran on the loop thread"
    );
    assert!(task.is_finished());
    assert_eq!(event_loop.stop_and_join(), Ok(()));
}

#[test]
fn blocking_wait_from_a_foreign_thread_returns_the_output() {
    quiet_deliberate_panics();
    let event_loop = LoopThread::start();
    let task = event_loop.handle.spawn(async {
        looplet::sleep(Duration::from_millis(10)).await;
        "done"
    });
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || tx.send(task.wait()).unwrap());
    assert_eq!(recv(&rx, "RemoteHandle::wait").expect("Ok"), "done");
    assert_eq!(event_loop.stop_and_join(), Ok(()));
}

// ----- (2) the task panics -------------------------------------------------------------

#[test]
fn task_panicking_with_a_str_resolves_panicked_with_that_payload() {
    quiet_deliberate_panics();
    let event_loop = LoopThread::start();
    let task = event_loop
        .handle
        .spawn(async { panic_with("deliberate: a &str payload") });
    let error = wait(&task).expect_err("the task panicked");
    assert!(error.is_panic(), "{error:?}");
    assert_eq!(error.panic_message(), Some("deliberate: a &str payload"));
    let payload = error.into_panic();
    assert_eq!(
        *payload.downcast::<&'static str>().expect("a &str payload"),
        "deliberate: a &str payload"
    );
    // The default policy (Continue): the loop keeps serving.
    assert_eq!(wait(&event_loop.handle.spawn(async { 1 })).unwrap(), 1);
    assert_eq!(event_loop.stop_and_join(), Ok(()));
}

#[test]
fn task_panicking_with_a_string_resolves_panicked_with_that_payload() {
    quiet_deliberate_panics();
    let event_loop = LoopThread::start();
    let task = event_loop.handle.spawn(async {
        looplet::yield_now().await;
        panic_with(format!("deliberate: a String payload #{}", 7))
    });
    let payload = wait(&task).expect_err("the task panicked").into_panic();
    assert_eq!(
        *payload.downcast::<String>().expect("a String payload"),
        "deliberate: a String payload #7"
    );
    assert_eq!(event_loop.stop_and_join(), Ok(()));
}

#[test]
fn task_panicking_with_a_custom_payload_resolves_panicked_and_the_payload_downcasts() {
    quiet_deliberate_panics();
    let event_loop = LoopThread::start();
    let task = event_loop
        .handle
        .spawn(async { panic_with(MyPayload { code: 17 }) });
    let error = wait(&task).expect_err("the task panicked");
    assert!(error.is_panic());
    let payload = error.into_panic();
    assert_eq!(
        *payload.downcast::<MyPayload>().expect("a MyPayload"),
        MyPayload { code: 17 }
    );
    assert_eq!(event_loop.stop_and_join(), Ok(()));
}

// ----- (3) the caller cancels ---------------------------------------------------------

#[test]
fn abort_from_the_caller_thread_drops_the_pending_future_on_the_loop_thread() {
    quiet_deliberate_panics();
    let event_loop = LoopThread::start();
    let (task, probe) = pending_on(&event_loop.handle);
    assert_eq!(probe.drops(), 0);
    task.abort();
    let outcome = wait(&task);
    assert_eq!(kind(&outcome), Kind::Cancelled, "{outcome:?}");
    assert_eq!(
        probe.drops(),
        1,
        "the future is dropped before the handle resolves"
    );
    assert_eq!(
        probe.dropped_on(),
        Some(event_loop.thread_id),
        "dropped on the loop thread"
    );
    assert_ne!(event_loop.thread_id, thread::current().id());
    // The loop keeps serving.
    assert_eq!(wait(&event_loop.handle.spawn(async { 5 })).unwrap(), 5);
    assert_eq!(event_loop.stop_and_join(), Ok(()));
}

#[test]
fn abort_before_the_loop_ran_the_task_never_polls_the_future() {
    quiet_deliberate_panics();
    let mut event_loop = EventLoop::new().unwrap();
    let handle = event_loop.handle();
    let probe = DropProbe::new();
    let submitted = probe.clone();
    let task = thread::spawn(move || {
        let task = handle.spawn(Probed::<u32>::pending(&submitted));
        task.abort();
        task
    })
    .join()
    .unwrap();
    assert!(!task.is_finished(), "the loop has not run yet");
    event_loop.run_until_stalled();
    let outcome = task
        .wait_timeout(Duration::ZERO)
        .expect("resolved by one pass of the loop");
    assert_eq!(kind(&outcome), Kind::Cancelled, "{outcome:?}");
    assert_eq!(probe.polls(), 0, "a cancelled submission is never polled");
    assert_eq!(probe.drops(), 1);
    assert_eq!(probe.dropped_on(), Some(thread::current().id()));
}

#[test]
fn abort_before_the_loop_ran_the_task_never_calls_the_spawn_with_closure() {
    quiet_deliberate_panics();
    let mut event_loop = EventLoop::new().unwrap();
    let called = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&called);
    let task = event_loop.handle().spawn_with(move || {
        flag.store(true, SeqCst);
        async { 1 }
    });
    task.abort();
    event_loop.run_until_stalled();
    let outcome = task.wait_timeout(Duration::ZERO).expect("resolved");
    assert_eq!(kind(&outcome), Kind::Cancelled, "{outcome:?}");
    assert!(!called.load(SeqCst), "the closure was never called");
}

#[test]
fn abort_after_completion_keeps_the_output() {
    quiet_deliberate_panics();
    let event_loop = LoopThread::start();
    let task = event_loop.handle.spawn(async { 9 });
    let deadline = Instant::now() + WAIT;
    while !task.is_finished() {
        assert!(Instant::now() < deadline, "handle never resolved");
        thread::sleep(Duration::from_millis(1));
    }
    task.abort();
    assert_eq!(wait(&task).expect("still Ok"), 9);
    assert_eq!(event_loop.stop_and_join(), Ok(()));
}

#[test]
fn dropping_the_handle_detaches_the_task_which_still_runs() {
    quiet_deliberate_panics();
    let event_loop = LoopThread::start();
    let gate = Gate::new();
    let (tx, rx) = mpsc::channel();
    let opened = gate.clone();
    drop(event_loop.handle.spawn(async move {
        opened.wait().await;
        tx.send("ran to its end").unwrap();
    }));
    gate.open();
    assert_eq!(recv(&rx, "the detached task"), "ran to its end");
    assert_eq!(event_loop.stop_and_join(), Ok(()));
}

// ----- (4) the loop is dropped -------------------------------------------------------

/// Lifecycle edges (task.rs): E11.
#[test]
fn dropping_the_loop_with_the_task_pending_resolves_loop_closed_and_drops_the_future() {
    quiet_deliberate_panics();
    let event_loop = LoopThread::start();
    let loop_thread = event_loop.thread_id;
    let (task, probe) = pending_on(&event_loop.handle);
    assert!(task.wait_timeout(Duration::from_millis(20)).is_none());
    assert_eq!(event_loop.stop_and_join(), Ok(()));
    let outcome = task
        .wait_timeout(Duration::ZERO)
        .expect("resolved by the drop");
    assert_eq!(kind(&outcome), Kind::LoopClosed, "{outcome:?}");
    assert_eq!(probe.drops(), 1, "the future's Drop ran");
    assert_eq!(probe.dropped_on(), Some(loop_thread));
}

#[test]
fn dropping_the_loop_before_it_ran_a_submission_resolves_loop_closed_and_drops_the_future() {
    quiet_deliberate_panics();
    let event_loop = EventLoop::new().unwrap();
    let handle = event_loop.handle();
    let probe = DropProbe::new();
    let submitted = probe.clone();
    let task = thread::spawn(move || handle.spawn(Probed::<u32>::pending(&submitted)))
        .join()
        .unwrap();
    drop(event_loop);
    let outcome = task
        .wait_timeout(Duration::ZERO)
        .expect("resolved by the drop");
    assert_eq!(kind(&outcome), Kind::LoopClosed, "{outcome:?}");
    assert_eq!(probe.polls(), 0);
    assert_eq!(probe.drops(), 1);
}

#[test]
fn pending_handle_awaited_by_another_thread_is_woken_by_the_loop_drop() {
    quiet_deliberate_panics();
    let event_loop = LoopThread::start();
    let (task, _probe) = pending_on(&event_loop.handle);
    let (tx, rx) = mpsc::channel();
    let waiter = thread::spawn(move || tx.send(wait(&task).map(|_| ())).unwrap());
    thread::sleep(Duration::from_millis(20)); // let the waiter block
    assert_eq!(event_loop.stop_and_join(), Ok(()));
    let outcome = recv(&rx, "the blocked waiter");
    assert_eq!(kind(&outcome), Kind::LoopClosed, "{outcome:?}");
    waiter.join().unwrap();
}

// ----- (5) the loop thread unwinds ------------------------------------------------------

#[test]
fn propagate_policy_remote_task_panic_unwinds_run_and_other_handles_resolve_loop_closed() {
    quiet_deliberate_panics();
    let mut event_loop =
        LoopThread::with(|| EventLoop::builder().panic_policy(PanicPolicy::Propagate));
    let others: Vec<_> = (0..3).map(|_| pending_on(&event_loop.handle)).collect();
    let boom = event_loop.handle.spawn(async {
        looplet::yield_now().await;
        panic_with("deliberate: remote task under Propagate")
    });
    let error = wait(&boom).expect_err("the panicking task's handle");
    assert_eq!(
        error.panic_message(),
        Some("deliberate: remote task under Propagate")
    );
    let exit = event_loop
        .exit_within(WAIT)
        .expect("run() did not unwind after a remote task panicked under Propagate");
    let message = exit.expect_err("run() unwound");
    assert!(
        message.contains("deliberate: remote task under Propagate"),
        "{message}"
    );
    for (task, probe) in others {
        let outcome = task
            .wait_timeout(Duration::ZERO)
            .expect("resolved by the unwind");
        assert_eq!(kind(&outcome), Kind::LoopClosed, "{outcome:?}");
        assert_eq!(probe.drops(), 1);
    }
}

#[test]
fn stop_loop_policy_remote_task_panic_makes_run_return() {
    quiet_deliberate_panics();
    let mut event_loop =
        LoopThread::with(|| EventLoop::builder().panic_policy(PanicPolicy::StopLoop));
    let boom = event_loop
        .handle
        .spawn(async { panic_with("deliberate: remote task under StopLoop") });
    assert!(wait(&boom).expect_err("panicked").is_panic());
    let exit = event_loop
        .exit_within(WAIT)
        .expect("run() kept running after a remote task panicked under StopLoop");
    assert_eq!(exit, Ok(()));
}

// Regression test for a fixed bug: a remote task hands a panic to its Completer even when the
// RemoteHandle was dropped (the task is detached): the payload is dropped with Shared, never
// reported to on_unhandled_panic
#[test]
fn panic_in_a_remote_task_whose_handle_was_dropped_reaches_the_unhandled_panic_hook() {
    quiet_deliberate_panics();
    let reports = Arc::new(AtomicUsize::new(0));
    let event_loop = LoopThread::with(counting_builder(&reports));
    let gate = Gate::new();
    let opened = gate.clone();
    drop(event_loop.handle.spawn(async move {
        opened.wait().await;
        panic_with("deliberate: detached remote task")
    }));
    gate.open();
    // A later task on the same loop finishing means the panicking one ran.
    let marker = event_loop.handle.spawn(async {
        for _ in 0..3 {
            looplet::yield_now().await;
        }
    });
    wait(&marker).unwrap();
    assert_eq!(event_loop.stop_and_join(), Ok(()));
    assert_eq!(
        reports.load(SeqCst),
        1,
        "a detached remote task's panic is never lost"
    );
}

#[test]
fn propagate_policy_local_task_panic_unwinds_run_and_the_unwind_closes_remote_handles() {
    quiet_deliberate_panics();
    let mut event_loop =
        LoopThread::with(|| EventLoop::builder().panic_policy(PanicPolicy::Propagate));
    let others: Vec<_> = (0..3).map(|_| pending_on(&event_loop.handle)).collect();
    let gate = Gate::new();
    let opened = gate.clone();
    // A local (loop-thread) task, detached, that panics once the gate opens.
    let spawner = event_loop.handle.spawn_with(move || {
        drop(looplet::spawn(async move {
            opened.wait().await;
            panic_with("deliberate: local task under Propagate")
        }));
        async {}
    });
    wait(&spawner).expect("spawned the local task");
    gate.open();
    let exit = event_loop
        .exit_within(WAIT)
        .expect("run() did not unwind after a local task panicked under Propagate");
    let message = exit.expect_err("run() unwound, dropping the loop");
    assert!(
        message.contains("deliberate: local task under Propagate"),
        "{message}"
    );
    for (task, probe) in others {
        let outcome = wait(&task);
        assert_eq!(kind(&outcome), Kind::LoopClosed, "{outcome:?}");
        assert_eq!(probe.drops(), 1, "dropped by the unwinding");
    }
}

#[test]
fn propagate_policy_local_join_handle_gets_panicked_before_run_unwinds() {
    quiet_deliberate_panics();
    enum Report {
        Started(looplet::Handle, Gate),
        Unwound(Result<(), String>, Option<Result<u32, JoinError>>),
        Dropped,
    }
    let (tx, rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let loop_thread = thread::spawn(move || {
        let mut event_loop = EventLoop::builder()
            .panic_policy(PanicPolicy::Propagate)
            .build()
            .unwrap();
        let gate = Gate::new();
        let opened = gate.clone();
        let local = event_loop.spawn(async move {
            opened.wait().await;
            panic_with(MyPayload { code: 5 })
        });
        tx.send(Report::Started(event_loop.handle(), gate)).unwrap();
        let run = catch_unwind(AssertUnwindSafe(|| event_loop.run()));
        let run = run.map_err(|p| payload_text(&*p));
        tx.send(Report::Unwound(run, local.now_or_never())).unwrap();
        let _ = go_rx.recv_timeout(WAIT);
        drop(event_loop);
        tx.send(Report::Dropped).unwrap();
    });
    let Report::Started(handle, gate) = recv(&rx, "the loop") else {
        panic!("expected Started");
    };
    let others: Vec<_> = (0..3).map(|_| pending_on(&handle)).collect();
    gate.open();
    let Report::Unwound(run, local) = recv(&rx, "run() to unwind") else {
        panic!("expected Unwound");
    };
    let message = run.expect_err("run() re-raised the task's panic");
    assert!(message.contains("panicked"), "{message}");
    let local = local.expect("the JoinHandle is resolved when run() unwinds");
    let payload = local.expect_err("Panicked").into_panic();
    assert_eq!(
        *payload.downcast::<MyPayload>().unwrap(),
        MyPayload { code: 5 }
    );
    for (task, _) in &others {
        assert!(
            !task.is_finished(),
            "the loop is still alive (not dropped yet)"
        );
    }
    go_tx.send(()).unwrap();
    assert!(matches!(recv(&rx, "the loop drop"), Report::Dropped));
    for (task, probe) in others {
        let outcome = wait(&task);
        assert_eq!(kind(&outcome), Kind::LoopClosed, "{outcome:?}");
        assert_eq!(probe.drops(), 1);
    }
    loop_thread.join().unwrap();
}

#[test]
fn panic_in_the_block_on_root_future_unwinds_and_closes_pending_remote_handles() {
    quiet_deliberate_panics();
    let (tx, rx) = mpsc::channel();
    let (exit_tx, exit_rx) = mpsc::channel();
    let gate = Gate::new();
    let opened = gate.clone();
    let loop_thread = thread::spawn(move || {
        let exit = catch_unwind(AssertUnwindSafe(move || {
            let mut event_loop = EventLoop::new().unwrap();
            tx.send(event_loop.handle()).unwrap();
            event_loop.block_on(async move {
                opened.wait().await;
                panic_with("deliberate: block_on's root future")
            })
        }));
        exit_tx.send(exit.map_err(|p| payload_text(&*p))).unwrap();
    });
    let handle = recv(&rx, "the loop");
    let others: Vec<_> = (0..3).map(|_| pending_on(&handle)).collect();
    gate.open();
    let exit = recv(&exit_rx, "block_on to unwind");
    assert_eq!(exit, Err("deliberate: block_on's root future".to_string()));
    assert!(handle.is_closed(), "the unwinding dropped the loop");
    for (task, probe) in others {
        let outcome = wait(&task);
        assert_eq!(kind(&outcome), Kind::LoopClosed, "{outcome:?}");
        assert_eq!(probe.drops(), 1);
    }
    loop_thread.join().unwrap();
}

// ----- (6) submission after close ---------------------------------------------------------

#[test]
fn submission_after_the_loop_closed_resolves_loop_closed_at_once_and_drops_the_future() {
    quiet_deliberate_panics();
    let event_loop = EventLoop::new().unwrap();
    let handle = event_loop.handle();
    drop(event_loop);
    assert!(handle.is_closed());

    let probe = DropProbe::new();
    let task = handle.spawn(Probed::<u32>::pending(&probe));
    assert!(task.is_finished(), "resolved before spawn returned");
    let outcome = task.wait_timeout(Duration::ZERO).expect("resolved at once");
    assert_eq!(kind(&outcome), Kind::LoopClosed, "{outcome:?}");
    assert_eq!(probe.polls(), 0);
    assert_eq!(probe.drops(), 1, "dropped, not leaked");
    assert_eq!(probe.dropped_on(), Some(thread::current().id()));

    let closure_probe = DropProbe::new();
    let captured = Probed::<u32>::pending(&closure_probe);
    let called = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&called);
    let task = handle.spawn_with(move || {
        flag.store(true, SeqCst);
        captured
    });
    let outcome = task.wait_timeout(Duration::ZERO).expect("resolved at once");
    assert_eq!(kind(&outcome), Kind::LoopClosed, "{outcome:?}");
    assert!(!called.load(SeqCst));
    assert_eq!(
        closure_probe.drops(),
        1,
        "the closure and its captures were dropped"
    );

    assert_eq!(
        handle.call_soon_threadsafe(|| ()),
        Err(looplet::Closed),
        "callbacks are refused too"
    );
}

#[test]
fn submission_from_another_thread_after_close_resolves_loop_closed_at_once() {
    quiet_deliberate_panics();
    let event_loop = LoopThread::start();
    let handle = event_loop.handle.clone();
    assert_eq!(event_loop.stop_and_join(), Ok(()));
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let task = handle.spawn(async { 1 });
        tx.send((task.is_finished(), task.wait_timeout(Duration::ZERO)))
            .unwrap();
    });
    let (finished, outcome) = recv(&rx, "the submitter");
    assert!(finished);
    let outcome = outcome.expect("resolved at once");
    assert_eq!(kind(&outcome), Kind::LoopClosed, "{outcome:?}");
}

// ----- (7) submission racing the loop's drop ------------------------------------------------

#[test]
fn submissions_racing_the_loop_drop_all_resolve_and_no_future_leaks() {
    quiet_deliberate_panics();
    const SUBMITTERS: u64 = 4;
    const PER_SUBMITTER: u64 = scaled(2_000, 20);
    let mut totals = [0usize; 4];
    for round in 0..scaled(12, 2) {
        let event_loop = LoopThread::start();
        let handle = event_loop.handle.clone();
        let dropped = Arc::new(AtomicUsize::new(0));
        let submitters: Vec<_> = (0..SUBMITTERS)
            .map(|s| {
                let handle = handle.clone();
                let dropped = Arc::clone(&dropped);
                thread::spawn(move || {
                    let mut tasks = Vec::new();
                    let mut after_close = 0;
                    for i in 0..PER_SUBMITTER {
                        let guard = Probed::ready(&DropProbe::new(), ());
                        let counter = CountDrop(Arc::clone(&dropped));
                        let task = handle.spawn(async move {
                            let _counter = counter;
                            guard.await;
                            s * 1_000_000 + i
                        });
                        tasks.push((i, task));
                        if handle.is_closed() {
                            after_close += 1;
                            if after_close > 100 {
                                break;
                            }
                        }
                    }
                    let mut counts = [0usize; 4];
                    for (i, task) in tasks {
                        match wait(&task) {
                            Ok(v) => {
                                assert_eq!(v, s * 1_000_000 + i, "wrong result");
                                counts[0] += 1;
                            }
                            Err(JoinError::LoopClosed) => counts[1] += 1,
                            Err(other) => panic!("unexpected outcome {other:?}"),
                        }
                    }
                    counts
                })
            })
            .collect();
        thread::sleep(Duration::from_micros(200 * round));
        assert_eq!(event_loop.stop_and_join(), Ok(()));
        let mut submitted = 0;
        for submitter in submitters {
            let counts = submitter.join().expect("submitter");
            submitted += counts[0] + counts[1];
            totals[0] += counts[0];
            totals[1] += counts[1];
        }
        assert_eq!(
            dropped.load(SeqCst),
            submitted,
            "every submitted future was dropped exactly once"
        );
    }
    eprintln!("racing drop: {} Ok, {} LoopClosed", totals[0], totals[1]);
}

struct CountDrop(Arc<AtomicUsize>);

impl Drop for CountDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

// ----- (8) the future's own Drop panics ---------------------------------------------------

#[test]
fn future_drop_panicking_at_completion_is_contained_and_resolves_panicked() {
    quiet_deliberate_panics();
    let event_loop = LoopThread::start();
    let probe = DropProbe::new();
    let task = event_loop
        .handle
        .spawn(Probed::ready(&probe, 5u32).panicking_on_drop());
    let error = wait(&task).expect_err("the Drop's panic is the outcome");
    assert!(error.is_panic(), "{error:?}");
    assert!(
        error
            .panic_message()
            .unwrap()
            .contains("panic in a future's Drop"),
        "{error:?}"
    );
    assert_eq!(probe.drops(), 1);
    assert_eq!(wait(&event_loop.handle.spawn(async { 2 })).unwrap(), 2);
    assert_eq!(event_loop.stop_and_join(), Ok(()));
}

#[test]
fn future_drop_panicking_during_abort_is_contained_and_the_handle_resolves() {
    quiet_deliberate_panics();
    let event_loop = LoopThread::start();
    let probe = DropProbe::new();
    let polled = probe.on_first_poll();
    let task = event_loop
        .handle
        .spawn(Probed::<u32>::pending(&probe).panicking_on_drop());
    recv(&polled, "the first poll");
    task.abort();
    let outcome = wait(&task);
    assert!(
        matches!(kind(&outcome), Kind::Cancelled | Kind::Panicked),
        "{outcome:?}"
    );
    assert_eq!(probe.drops(), 1);
    assert_eq!(probe.dropped_on(), Some(event_loop.thread_id));
    assert_eq!(wait(&event_loop.handle.spawn(async { 3 })).unwrap(), 3);
    assert_eq!(event_loop.stop_and_join(), Ok(()));
}

#[test]
fn future_drop_panicking_during_loop_drop_is_contained_and_handles_resolve() {
    quiet_deliberate_panics();
    let reports = Arc::new(AtomicUsize::new(0));
    let event_loop = LoopThread::with(counting_builder(&reports));
    let tasks: Vec<_> = (0..3)
        .map(|_| {
            let probe = DropProbe::new();
            let polled = probe.on_first_poll();
            let task = event_loop
                .handle
                .spawn(Probed::<u32>::pending(&probe).panicking_on_drop());
            recv(&polled, "the first poll");
            (task, probe)
        })
        .collect();
    assert_eq!(
        event_loop.stop_and_join(),
        Ok(()),
        "the Drop panics did not escape the loop's drop"
    );
    for (task, probe) in tasks {
        let outcome = wait(&task);
        assert!(outcome.is_err(), "{outcome:?}");
        assert_eq!(probe.drops(), 1);
    }
    assert_eq!(
        reports.load(SeqCst),
        3,
        "each Drop panic went to the unhandled-panic hook"
    );
}

#[test]
fn future_drop_panicking_in_an_unrun_submission_during_loop_drop_is_contained() {
    quiet_deliberate_panics();
    let event_loop = EventLoop::new().unwrap();
    let probe = DropProbe::new();
    let task = event_loop
        .handle()
        .spawn(Probed::<u32>::pending(&probe).panicking_on_drop());
    let dropped = catch_unwind(AssertUnwindSafe(move || drop(event_loop)));
    assert!(dropped.is_ok(), "the Drop's panic escaped EventLoop::drop");
    let outcome = task.wait_timeout(Duration::ZERO).expect("resolved");
    assert_eq!(kind(&outcome), Kind::LoopClosed, "{outcome:?}");
    assert_eq!(probe.drops(), 1);
}

// Regression test for a fixed bug: EventLoop::drop drops unrun messages with `let _ =
// drop_caught(message)`: a panic in their Drop is swallowed, never reported to
// on_unhandled_panic
#[test]
fn future_drop_panicking_in_an_unrun_submission_during_loop_drop_is_reported() {
    quiet_deliberate_panics();
    let reports = Arc::new(AtomicUsize::new(0));
    let event_loop = counting_builder(&reports)().build().unwrap();
    let probe = DropProbe::new();
    let task = event_loop
        .handle()
        .spawn(Probed::<u32>::pending(&probe).panicking_on_drop());
    drop(event_loop);
    assert!(task.is_finished());
    assert_eq!(reports.load(SeqCst), 1, "the Drop panic reached the hook");
}

// Regression test for a fixed bug: Handle::spawn_with drops a refused message on the caller's
// stack without catch_unwind: a panic in the future's Drop escapes Handle::spawn and the
// caller never gets its (resolved) RemoteHandle
#[test]
fn future_drop_panicking_in_a_submission_after_close_still_returns_a_resolved_handle() {
    quiet_deliberate_panics();
    let handle = EventLoop::new().unwrap().handle();
    assert!(handle.is_closed());
    let probe = DropProbe::new();
    let submitted = catch_unwind(AssertUnwindSafe(|| {
        handle.spawn(Probed::<u32>::pending(&probe).panicking_on_drop())
    }));
    assert_eq!(probe.drops(), 1);
    let task = submitted.expect("Handle::spawn returned a handle");
    let outcome = task.wait_timeout(Duration::ZERO).expect("resolved at once");
    assert!(outcome.is_err(), "{outcome:?}");
}

/// Submits, from its `Drop`, a task whose future panics when dropped.
struct SubmitOnDrop {
    handle: Arc<std::sync::Mutex<Option<looplet::Handle>>>,
    submitted: Arc<std::sync::Mutex<Vec<RemoteHandle<u32>>>>,
    probe: DropProbe,
}

impl Drop for SubmitOnDrop {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.lock().unwrap().take() {
            let future = Probed::<u32>::pending(&self.probe).panicking_on_drop();
            self.submitted.lock().unwrap().push(handle.spawn(future));
        }
    }
}

// Regression test for a fixed bug: a message pushed after EventLoop::drop's last drain and
// before the Inbox field is dropped is discarded by crossbeam inside Inbox::drop, outside
// catch_unwind: its future's Drop panic escapes EventLoop::drop (an abort if the loop is being
// dropped by an unwind)
#[test]
fn submission_landing_in_the_loop_drop_window_with_a_panicking_drop_is_contained() {
    quiet_deliberate_panics();
    // The window between the loop's last drain and the closing of its inbox
    // runs user code: dropping `Core` drops the unhandled-panic hook. A
    // submission made from there (as one from another thread at that very
    // moment would be) is discarded by the inbox's own drop.
    let slot = Arc::new(std::sync::Mutex::new(None));
    let submitted = Arc::new(std::sync::Mutex::new(Vec::new()));
    let probe = DropProbe::new();
    let guard = SubmitOnDrop {
        handle: Arc::clone(&slot),
        submitted: Arc::clone(&submitted),
        probe: probe.clone(),
    };
    let event_loop = EventLoop::builder()
        .on_unhandled_panic(move |_| {
            let _keep = &guard;
        })
        .build()
        .unwrap();
    *slot.lock().unwrap() = Some(event_loop.handle());
    let dropped = catch_unwind(AssertUnwindSafe(move || drop(event_loop)));
    assert_eq!(submitted.lock().unwrap().len(), 1, "the window was hit");
    assert_eq!(probe.drops(), 1);
    for task in submitted.lock().unwrap().iter() {
        let outcome = task.wait_timeout(Duration::ZERO).expect("resolved");
        assert_eq!(kind(&outcome), Kind::LoopClosed, "{outcome:?}");
    }
    assert!(dropped.is_ok(), "the Drop's panic escaped EventLoop::drop");
}

#[test]
fn future_drop_panicking_in_submissions_racing_the_loop_drop_is_contained() {
    quiet_deliberate_panics();
    for round in 0..8u64 {
        let event_loop = LoopThread::start();
        let submitters: Vec<_> = (0..4)
            .map(|_| {
                let handle = event_loop.handle.clone();
                thread::spawn(move || {
                    let mut tasks = Vec::new();
                    let mut escaped = Vec::new();
                    let mut after_close = 0;
                    for _ in 0..scaled(1_000, 20) {
                        let probe = DropProbe::new();
                        let future = Probed::<u32>::pending(&probe).panicking_on_drop();
                        // A refused submission is dropped on this thread:
                        // its Drop panic must not escape Handle::spawn.
                        match catch_unwind(AssertUnwindSafe(|| handle.spawn(future))) {
                            Ok(task) => tasks.push((task, probe)),
                            Err(payload) => escaped.push(payload_text(&*payload)),
                        }
                        if handle.is_closed() {
                            after_close += 1;
                            if after_close > 50 {
                                break;
                            }
                        }
                    }
                    for (task, _) in &tasks {
                        assert!(wait(task).is_err());
                    }
                    (tasks, escaped)
                })
            })
            .collect();
        thread::sleep(Duration::from_micros(300 * round));
        assert_eq!(
            event_loop.stop_and_join(),
            Ok(()),
            "a Drop panic escaped the loop's drop"
        );
        for submitter in submitters {
            let (tasks, escaped) = submitter.join().expect("submitter");
            assert!(escaped.is_empty(), "escaped Handle::spawn: {escaped:?}");
            for (_, probe) in tasks {
                assert_eq!(probe.drops(), 1, "every future dropped exactly once");
            }
        }
    }
}

// ----- spawn_with ----------------------------------------------------------------------------

#[test]
fn spawn_with_builds_a_non_send_future_on_the_loop_thread() {
    quiet_deliberate_panics();
    let event_loop = LoopThread::start();
    let task = event_loop.handle.spawn_with(|| {
        let counter = Rc::new(Cell::new(20));
        let built_on = thread::current().id();
        async move {
            looplet::yield_now().await;
            counter.set(counter.get() + 1);
            (counter.get() * 2, built_on)
        }
    });
    let (value, built_on) = wait(&task).expect("Ok");
    assert_eq!(value, 42);
    assert_eq!(built_on, event_loop.thread_id);
    assert_eq!(event_loop.stop_and_join(), Ok(()));
}

#[test]
fn panic_inside_the_spawn_with_closure_resolves_panicked() {
    quiet_deliberate_panics();
    let event_loop = LoopThread::start();
    fn build() -> std::future::Ready<u32> {
        panic!("deliberate: in spawn_with's closure")
    }
    let task = event_loop.handle.spawn_with(build);
    let error = wait(&task).expect_err("Panicked");
    assert_eq!(
        error.panic_message(),
        Some("deliberate: in spawn_with's closure")
    );
    assert_eq!(wait(&event_loop.handle.spawn(async { 4 })).unwrap(), 4);
    assert_eq!(event_loop.stop_and_join(), Ok(()));
}

// ----- awaiting from other executors --------------------------------------------------------

#[test]
fn remote_handle_awaited_from_a_tokio_current_thread_runtime() {
    quiet_deliberate_panics();
    let event_loop = LoopThread::start();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    let task = event_loop.handle.spawn(async {
        looplet::sleep(Duration::from_millis(20)).await;
        11
    });
    let outcome = runtime
        .block_on(async { tokio::time::timeout(WAIT, task).await })
        .expect("handle never resolved");
    assert_eq!(outcome.expect("Ok"), 11);

    let boom = event_loop.handle.spawn(async {
        looplet::sleep(Duration::from_millis(5)).await;
        panic_with("deliberate: awaited by tokio")
    });
    let outcome = runtime
        .block_on(async { tokio::time::timeout(WAIT, boom).await })
        .expect("handle never resolved");
    assert_eq!(
        outcome.expect_err("Panicked").panic_message(),
        Some("deliberate: awaited by tokio")
    );

    // Pending when the loop goes away: tokio's waker is woken by the drop.
    let (pending, _probe) = pending_on(&event_loop.handle);
    let handle = event_loop.handle.clone();
    let dropper = thread::spawn(move || {
        thread::sleep(Duration::from_millis(20));
        event_loop.stop_and_join()
    });
    let outcome = runtime
        .block_on(async { tokio::time::timeout(WAIT, pending).await })
        .expect("handle never resolved");
    assert_eq!(kind(&outcome), Kind::LoopClosed, "{outcome:?}");
    assert_eq!(dropper.join().unwrap(), Ok(()));
    assert!(handle.is_closed());
}

#[test]
fn remote_handle_awaited_from_another_looplet_loops_block_on_on_another_thread() {
    quiet_deliberate_panics();
    let event_loop = LoopThread::start();
    let task = event_loop.handle.spawn(async {
        looplet::sleep(Duration::from_millis(20)).await;
        13
    });
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut other = EventLoop::new().unwrap();
        tx.send(other.block_on(looplet::timeout(WAIT, task)))
            .unwrap();
    });
    let outcome = recv(&rx, "the other loop").expect("handle never resolved");
    assert_eq!(outcome.expect("Ok"), 13);
    assert_eq!(event_loop.stop_and_join(), Ok(()));
}

#[test]
fn remote_handle_awaited_from_a_task_of_another_looplet_loop() {
    quiet_deliberate_panics();
    let event_loop = LoopThread::start();
    let task = event_loop.handle.spawn(async {
        looplet::sleep(Duration::from_millis(20)).await;
        17
    });
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut other = EventLoop::new().unwrap();
        let awaiting = other.spawn(async move { looplet::timeout(WAIT, task).await });
        tx.send(other.block_on(awaiting)).unwrap();
    });
    let outcome = recv(&rx, "the other loop")
        .expect("the awaiting task")
        .expect("handle never resolved");
    assert_eq!(outcome.expect("Ok"), 17);
    assert_eq!(event_loop.stop_and_join(), Ok(()));
}

// ----- stop and close ----------------------------------------------------------------------

#[test]
fn handle_stop_from_another_thread_makes_run_return() {
    quiet_deliberate_panics();
    let mut event_loop = LoopThread::start();
    // Let the loop go to sleep in epoll first: stop must wake it.
    thread::sleep(Duration::from_millis(20));
    let handle = event_loop.handle.clone();
    thread::spawn(move || handle.stop()).join().unwrap();
    let exit = event_loop
        .exit_within(WAIT)
        .expect("run() did not return after Handle::stop");
    assert_eq!(exit, Ok(()));
}

#[test]
fn handle_is_closed_only_once_the_loop_is_dropped() {
    quiet_deliberate_panics();
    let (cmd_tx, cmd_rx) = mpsc::channel::<&str>();
    let (tx, rx) = mpsc::channel();
    let loop_thread = thread::spawn(move || {
        let mut event_loop = EventLoop::new().unwrap();
        tx.send(event_loop.handle()).unwrap();
        event_loop.run(); // until the first stop
        tx.send(event_loop.handle()).unwrap();
        let _ = cmd_rx.recv_timeout(WAIT);
        drop(event_loop);
    });
    let handle = recv(&rx, "the loop");
    assert!(!handle.is_closed(), "running");
    handle.stop();
    let _ = recv(&rx, "run() to return");
    assert!(!handle.is_closed(), "stopped but alive");
    cmd_tx.send("drop").unwrap();
    loop_thread.join().unwrap();
    assert!(handle.is_closed(), "dropped");
}

#[test]
fn stopped_but_alive_loop_keeps_pending_work_and_resolves_it_when_run_again() {
    quiet_deliberate_panics();
    enum Cmd {
        Run,
        Drop,
    }
    let (cmd_tx, cmd_rx) = mpsc::channel();
    let (tx, rx) = mpsc::channel();
    let (handle_tx, handle_rx) = mpsc::channel();
    let loop_thread = thread::spawn(move || {
        let mut event_loop = EventLoop::new().unwrap();
        handle_tx.send(event_loop.handle()).unwrap();
        while let Ok(Cmd::Run) = cmd_rx.recv_timeout(WAIT) {
            event_loop.run();
            tx.send("returned").unwrap();
        }
        drop(event_loop);
    });
    let handle = recv(&handle_rx, "the loop");
    let gate = Gate::new();
    let probe = DropProbe::new();
    let polled = probe.on_first_poll();
    let task = handle.spawn(Probed::gated(&probe, &gate, 5u32));
    let cancelled = handle.spawn(Probed::<u32>::pending(&DropProbe::new()));
    cmd_tx.send(Cmd::Run).unwrap();
    recv(&polled, "the first poll");
    handle.stop();
    recv(&rx, "run() to return");

    assert!(task.wait_timeout(Duration::from_millis(50)).is_none());
    assert!(
        !task.is_finished(),
        "a stopped loop keeps its pending tasks"
    );
    gate.open(); // wakes the task, but nothing runs it yet
    cancelled.abort();
    assert!(task.wait_timeout(Duration::from_millis(50)).is_none());
    assert!(!cancelled.is_finished());
    assert!(!handle.is_closed());

    cmd_tx.send(Cmd::Run).unwrap();
    assert_eq!(wait(&task).expect("Ok once run again"), 5);
    assert_eq!(kind(&wait(&cancelled)), Kind::Cancelled);
    handle.stop();
    recv(&rx, "run() to return");
    cmd_tx.send(Cmd::Drop).unwrap();
    loop_thread.join().unwrap();
}

// Regression test for a fixed bug: Handle::stop during block_on leaves Core::stop_requested
// set (block_on never clears it), and turn_once treats a set stop flag as 'not idle': block_on
// busy-spins without ever sleeping until its future completes
#[test]
fn stop_during_block_on_does_not_make_the_loop_spin() {
    quiet_deliberate_panics();
    let mut event_loop = EventLoop::new().unwrap();
    let handle = event_loop.handle();
    let stopper = thread::spawn(move || {
        thread::sleep(Duration::from_millis(10));
        handle.stop();
    });
    event_loop.block_on(looplet::sleep(Duration::from_millis(100)));
    stopper.join().unwrap();
    let turns = event_loop.metrics().turns;
    // A sleeping loop takes a handful of turns for one timer and one
    // message; a loop that never sleeps again takes hundreds of thousands.
    assert!(
        turns < 1_000,
        "block_on kept turning without sleeping after Handle::stop: {turns} turns"
    );
}

#[test]
fn wait_timeout_accepts_duration_max_on_finished_and_pending_handles() {
    let mut event_loop = EventLoop::new().unwrap();
    let finished = event_loop.handle().spawn(async { 1 });
    event_loop.run_until_stalled();
    assert_eq!(finished.wait_timeout(Duration::MAX).unwrap().unwrap(), 1);

    let handle = event_loop.handle();
    let (tx, rx) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let remote = handle.spawn(async { 2 });
        let outcome = remote.wait_timeout(Duration::MAX);
        handle.stop();
        tx.send(()).unwrap();
        outcome
    });
    event_loop.run();
    rx.recv_timeout(WAIT).unwrap();
    assert_eq!(waiter.join().unwrap().unwrap().unwrap(), 2);
}
