//! Specifies when the loop's wake fd is written: never for loop-thread
//! `call_soon`, once to wake a sleeping loop for `call_soon_threadsafe`, and
//! (almost) never for a flood of `call_soon_threadsafe` against a busy loop,
//! whose callbacks all run, in order per producer — as counted by the loop
//! and, from their own threads, by the producers (`Handle::wake_syscalls`).

mod common;

use common::{current_tid, thread_is_blocked, wait_for, BOUND};
use looplet::{yield_now, EventLoop, Handle};
use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

#[test]
fn ten_thousand_call_soon_all_run_without_a_wake_syscall() {
    let mut event_loop = EventLoop::new().unwrap();
    let ran = Rc::new(Cell::new(0u32));
    for _ in 0..10_000 {
        let ran = Rc::clone(&ran);
        event_loop.call_soon(move || ran.set(ran.get() + 1));
    }
    event_loop.run_until_stalled();
    assert_eq!(ran.get(), 10_000);
    let metrics = event_loop.metrics();
    assert_eq!(metrics.call_soon, 10_000);
    assert_eq!(metrics.callbacks_run, 10_000);
    assert_eq!(metrics.wake_syscalls, 0, "{metrics:?}");
}

#[test]
fn loop_thread_wakes_and_call_soon_from_tasks_make_no_wake_syscall() {
    let mut event_loop = EventLoop::new().unwrap();
    let ran = Rc::new(Cell::new(0u32));
    let r = Rc::clone(&ran);
    event_loop.block_on(async move {
        for _ in 0..1_000 {
            let r = Rc::clone(&r);
            looplet::call_soon(move || r.set(r.get() + 1));
            yield_now().await;
        }
    });
    event_loop.run_until_stalled();
    assert_eq!(ran.get(), 1_000);
    assert_eq!(event_loop.metrics().wake_syscalls, 0);
}

#[test]
fn call_soon_threadsafe_wakes_a_loop_sleeping_in_run() {
    let (tid_tx, tid_rx) = mpsc::channel();
    let (handle_tx, handle_rx) = mpsc::channel::<Handle>();
    let (done_tx, done_rx) = mpsc::channel();

    let _loop_thread = thread::spawn(move || {
        let mut event_loop = EventLoop::new().unwrap();
        let _ = handle_tx.send(event_loop.handle());
        let _ = tid_tx.send(current_tid());
        event_loop.run(); // nothing to do: sleeps until woken
        let _ = done_tx.send(event_loop.metrics());
    });

    let handle = handle_rx.recv_timeout(BOUND).expect("loop built");
    let tid = tid_rx.recv_timeout(BOUND).expect("loop thread started");
    // Wait until the loop thread is blocked in epoll_wait.
    match tid {
        Some(tid) => assert!(
            wait_for(BOUND, || thread_is_blocked(tid)),
            "loop thread never blocked"
        ),
        None => thread::sleep(Duration::from_millis(200)),
    }
    thread::sleep(Duration::from_millis(20));

    let (ran_tx, ran_rx) = mpsc::channel();
    handle
        .call_soon_threadsafe(move || {
            let _ = ran_tx.send(thread::current().id());
            Handle::current().stop();
        })
        .unwrap();

    let ran_on = ran_rx.recv_timeout(BOUND).expect("callback never ran");
    assert_ne!(ran_on, thread::current().id(), "runs on the loop thread");
    let metrics = done_rx.recv_timeout(BOUND).expect("run() never returned");
    assert!(metrics.wake_syscalls >= 1, "{metrics:?}");
    assert!(metrics.sleeps >= 1, "{metrics:?}");
    assert_eq!(metrics.call_soon_threadsafe, 1);
}

#[test]
fn a_burst_against_a_sleeping_loop_costs_one_wake_syscall() {
    let mut event_loop = EventLoop::new().unwrap();
    event_loop.run_until_stalled(); // hands back to the host: counts as asleep
    let handle = event_loop.handle();
    let ran = Arc::new(AtomicUsize::new(0));
    let r = Arc::clone(&ran);
    thread::spawn(move || {
        for _ in 0..1_000 {
            let r = Arc::clone(&r);
            handle
                .call_soon_threadsafe(move || {
                    r.fetch_add(1, Ordering::SeqCst);
                })
                .unwrap();
        }
    })
    .join()
    .unwrap();
    assert_eq!(
        event_loop.metrics().wake_syscalls,
        1,
        "one wake for the burst"
    );
    event_loop.run_until_stalled();
    assert_eq!(ran.load(Ordering::SeqCst), 1_000);
    assert_eq!(event_loop.metrics().wake_syscalls, 1);
}

#[test]
fn a_flood_from_four_threads_against_a_busy_loop_runs_in_order_with_few_syscalls() {
    const PRODUCERS: usize = 4;
    const PER_PRODUCER: u32 = if cfg!(miri) { 500 } else { 50_000 };
    const TOTAL: usize = PRODUCERS * PER_PRODUCER as usize;

    let mut event_loop = EventLoop::new().unwrap();
    let handle = event_loop.handle();
    let seen: Arc<Mutex<Vec<(usize, u32)>>> = Arc::new(Mutex::new(Vec::with_capacity(TOTAL)));
    let count = Arc::new(AtomicUsize::new(0));
    let go = Arc::new(AtomicBool::new(false));
    let (done_tx, done_rx) = mpsc::channel();
    // What each producer reads of the wake count, from its own thread,
    // before and after its submissions, while the loop runs.
    let (wakes_tx, wakes_rx) = mpsc::channel::<(u64, u64)>();

    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let handle = handle.clone();
            let wakes = wakes_tx.clone();
            let seen = Arc::clone(&seen);
            let count = Arc::clone(&count);
            let go = Arc::clone(&go);
            let done = done_tx.clone();
            thread::spawn(move || {
                // Start only once the loop is running hot.
                if !wait_for(BOUND, || go.load(Ordering::SeqCst)) {
                    return;
                }
                let wakes_before = handle.wake_syscalls();
                for seq in 0..PER_PRODUCER {
                    let seen = Arc::clone(&seen);
                    let count = Arc::clone(&count);
                    handle
                        .call_soon_threadsafe(move || {
                            seen.lock().unwrap().push((p, seq));
                            count.fetch_add(1, Ordering::SeqCst);
                        })
                        .unwrap();
                }
                let _ = wakes.send((wakes_before, handle.wake_syscalls()));
                let _ = done.send(p);
            })
        })
        .collect();

    // Busy: the root future yields every turn until everything has run
    // (bounded), so the loop never has a reason to sleep.
    let c = Arc::clone(&count);
    let g = Arc::clone(&go);
    let all_ran = event_loop.block_on(async move {
        let end = Instant::now() + Duration::from_secs(60);
        yield_now().await;
        g.store(true, Ordering::SeqCst);
        while c.load(Ordering::SeqCst) < TOTAL {
            if Instant::now() >= end {
                return false;
            }
            yield_now().await;
        }
        true
    });

    for _ in 0..PRODUCERS {
        done_rx
            .recv_timeout(BOUND)
            .expect("a producer did not finish");
    }
    for p in producers {
        p.join().unwrap();
    }
    assert!(
        all_ran,
        "only {} of {TOTAL} callbacks ran",
        count.load(Ordering::SeqCst)
    );

    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), TOTAL);
    let mut next = [0u32; PRODUCERS];
    for &(p, seq) in seen.iter() {
        assert_eq!(seq, next[p], "producer {p}: callbacks out of order");
        next[p] += 1;
    }
    assert!(next.iter().all(|&n| n == PER_PRODUCER));

    let metrics = event_loop.metrics();
    assert_eq!(metrics.call_soon_threadsafe, TOTAL as u64);
    assert!(
        metrics.wake_syscalls <= (TOTAL / 100) as u64,
        "{} wake syscalls for {TOTAL} submissions",
        metrics.wake_syscalls
    );
    // The producers saw the same counter from their side, while it ran.
    assert_eq!(handle.wake_syscalls(), metrics.wake_syscalls);
    for _ in 0..PRODUCERS {
        let (before, after) = wakes_rx.recv_timeout(BOUND).expect("a producer's reading");
        assert!(before <= after && after <= metrics.wake_syscalls);
        assert!(
            after - before <= u64::from(PER_PRODUCER) / 100,
            "a producer counted {} wake syscalls for its {PER_PRODUCER} submissions",
            after - before
        );
    }
}

#[test]
fn a_burst_between_host_calls_wakes_the_host_once_and_runs_in_submission_order() {
    let trace = common::Trace::new();
    let mut event_loop = trace.event_loop();
    trace.turn(&mut event_loop, Some(Duration::ZERO)); // then it counts as asleep
    let handle = event_loop.handle();
    let producer = trace.clone();
    thread::spawn(move || {
        for i in 0..3 {
            handle
                .call_soon_threadsafe(producer.recorder(format!("call {i}")))
                .unwrap();
        }
    })
    .join()
    .unwrap();
    trace.turn(&mut event_loop, Some(BOUND));
    trace.assert(&[
        "turn",
        "wake hook", // the first call wakes the host; the other two coalesce
        "turn",      // no "slept": the work was waiting
        "call 0",
        "call 1",
        "call 2",
    ]);
    assert_eq!(event_loop.metrics().wake_syscalls, 1);
}
