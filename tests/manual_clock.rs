//! Specifies the manual clock (`Clock::manual`, `advance`, `auto_advance`):
//! timers fire only when the clock is advanced, in deadline order; an
//! advance from another thread wakes a sleeping loop; auto-advance jumps to
//! the next timer only when the loop has nothing but timers to wait for.

mod common;

use common::{Trace, BOUND};
use looplet::{sleep, timeout, Clock, EventLoop};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn manual_loop() -> (Clock, EventLoop) {
    let clock = Clock::manual();
    let event_loop = EventLoop::builder().clock(clock.clone()).build().unwrap();
    (clock, event_loop)
}

#[test]
fn manual_clock_timers_fire_only_on_advance_and_in_deadline_order() {
    let (clock, mut event_loop) = manual_loop();
    let fired = Rc::new(RefCell::new(Vec::new()));
    for ms in [40_u64, 10, 30, 20, 10] {
        let fired = Rc::clone(&fired);
        event_loop.call_later(Duration::from_millis(ms), move || {
            fired.borrow_mut().push(ms)
        });
    }
    let f = Rc::clone(&fired);
    let _sleeper = event_loop.spawn(async move {
        sleep(Duration::from_millis(25)).await;
        f.borrow_mut().push(25);
    });
    // Real time passes; the clock does not.
    std::thread::sleep(Duration::from_millis(50));
    event_loop.run_until_stalled();
    assert!(fired.borrow().is_empty(), "{:?}", fired.borrow());
    assert_eq!(event_loop.turn(Some(Duration::ZERO)).callbacks, 0);

    clock.advance(Duration::from_millis(20));
    event_loop.run_until_stalled();
    assert_eq!(*fired.borrow(), [10, 10, 20]);
    clock.advance(Duration::from_millis(5));
    event_loop.run_until_stalled();
    assert_eq!(*fired.borrow(), [10, 10, 20, 25], "the sleeping task");
    clock.advance(Duration::from_millis(100));
    event_loop.run_until_stalled();
    assert_eq!(*fired.borrow(), [10, 10, 20, 25, 30, 40]);
}

#[test]
fn next_timer_is_in_the_clocks_time_and_next_deadline_in_the_hosts() {
    let (clock, event_loop) = manual_loop();
    std::thread::sleep(Duration::from_millis(5));
    event_loop.call_later(Duration::from_secs(1), || ());
    assert_eq!(
        event_loop.next_timer(),
        Some(clock.now() + Duration::from_secs(1))
    );
    // Real time passing will not make the timer due: a host sleeps until woken.
    assert_eq!(event_loop.next_deadline(), None);
    assert_eq!(event_loop.host_timeout(), None);
    clock.advance(Duration::from_secs(1));
    let before = Instant::now();
    assert!(event_loop.next_deadline().is_some_and(|at| at >= before));
    assert_eq!(
        event_loop.host_timeout(),
        Some(Duration::ZERO),
        "the advance's wake is pending"
    );
}

#[test]
fn an_advance_from_another_thread_wakes_a_loop_asleep_in_turn() {
    let (clock, mut event_loop) = manual_loop();
    let sleeper = event_loop.spawn(sleep(Duration::from_secs(10)));
    event_loop.run_until_stalled();
    let advancer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        clock.advance(Duration::from_secs(10));
    });
    // If the advance did not wake the loop, this wake would, after BOUND,
    // and the test fails instead of hanging.
    let handle = event_loop.handle();
    let (disarm, disarmed) = mpsc::channel::<()>();
    let rescuer = std::thread::spawn(move || {
        if disarmed.recv_timeout(BOUND).is_err() {
            let _ = handle.call_soon_threadsafe(|| ());
        }
    });
    let started = Instant::now();
    event_loop.turn(None); // sleeps: no timer is due on this clock
    let slept = started.elapsed();
    drop(disarm);
    rescuer.join().unwrap();
    advancer.join().unwrap();
    event_loop.run_until_stalled();
    assert!(sleeper.is_finished(), "the advance made the sleep due");
    assert!(
        slept < BOUND,
        "woken by the advance, not the rescuer: {slept:?}"
    );
}

#[test]
fn an_advance_between_driving_calls_wakes_the_host() {
    let trace = Trace::new();
    let clock = Clock::manual();
    let mut event_loop = EventLoop::builder()
        .clock(clock.clone())
        .wake_hook(trace.wake_hook())
        .build()
        .unwrap();
    event_loop.call_later(Duration::from_millis(5), trace.recorder("timer"));
    event_loop.run_until_stalled();
    assert!(trace.is_empty());
    clock.advance(Duration::from_millis(5));
    trace.assert(&["wake hook"]);
    assert!(event_loop
        .next_deadline()
        .is_some_and(|at| at <= Instant::now()));
    event_loop.run_until_stalled();
    trace.assert(&["wake hook", "timer"]);
}

#[test]
fn auto_advance_runs_an_hour_of_sleeps_instantly_in_order() {
    let (clock, mut event_loop) = manual_loop();
    clock.auto_advance(true);
    let start = clock.now();
    let real_start = Instant::now();
    let order = event_loop.block_on(async {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut tasks = Vec::new();
        for minutes in [60_u64, 15, 45, 30] {
            let log = Rc::clone(&log);
            tasks.push(looplet::spawn(async move {
                sleep(Duration::from_secs(minutes * 60)).await;
                log.borrow_mut().push(minutes);
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        let order = log.borrow().clone();
        order
    });
    assert_eq!(order, [15, 30, 45, 60]);
    assert_eq!(clock.now() - start, Duration::from_secs(3600));
    assert!(real_start.elapsed() < BOUND, "no real hour");
}

#[test]
fn auto_advance_makes_a_timeout_fire_at_its_exact_deadline() {
    let (clock, mut event_loop) = manual_loop();
    clock.auto_advance(true);
    let start = clock.now();
    let late = event_loop.block_on(timeout(
        Duration::from_secs(30),
        std::future::pending::<()>(),
    ));
    assert!(late.is_err());
    assert_eq!(clock.now() - start, Duration::from_secs(30));
}

#[test]
fn auto_advance_does_not_jump_while_a_blocking_job_runs() {
    let (clock, mut event_loop) = manual_loop();
    clock.auto_advance(true);
    let start = clock.now();
    let outcome = event_loop.block_on(async {
        let job = looplet::spawn_blocking(|_| {
            std::thread::sleep(Duration::from_millis(30));
            "job first"
        });
        // Real time: 30 ms. Clock time: the job is running, so no jump to 1 h.
        timeout(Duration::from_secs(3600), job).await
    });
    assert_eq!(outcome.unwrap().unwrap(), "job first");
    assert!(clock.now() - start < Duration::from_secs(3600));
}

#[test]
fn auto_advance_never_fires_a_sleep_that_means_forever() {
    let (clock, mut event_loop) = manual_loop();
    clock.auto_advance(true);
    let forever = event_loop.spawn(sleep(Duration::MAX));
    let tick = event_loop.turn(Some(Duration::from_millis(5)));
    assert!(!forever.is_finished(), "{tick:?}");
    assert!(
        clock.now() - Instant::now() < Duration::from_secs(1),
        "no century jump"
    );
}

#[test]
fn advancing_the_system_clock_panics_with_advice() {
    let message = common::expect_panic(|| Clock::system().advance(Duration::from_secs(1)));
    assert!(message.contains("Clock::manual()"), "{message}");
}

#[test]
fn auto_advance_works_under_run_until_stalled_and_run_for_too() {
    let (clock, mut event_loop) = manual_loop();
    clock.auto_advance(true);
    let start = clock.now();
    let ticks = Rc::new(RefCell::new(0));
    let t = Rc::clone(&ticks);
    let _ticker = event_loop.spawn(async move {
        let mut every = looplet::interval(Duration::from_secs(60));
        for _ in 0..61 {
            every.tick().await;
            *t.borrow_mut() += 1;
        }
    });
    event_loop.run_until_stalled();
    assert_eq!(*ticks.borrow(), 61, "an hour of minutes, in one call");
    assert_eq!(clock.now() - start, Duration::from_secs(3600));
    event_loop.call_later(Duration::from_secs(5), || ());
    assert_eq!(event_loop.run_for(Duration::from_secs(1)).callbacks, 1);
    assert_eq!(clock.now() - start, Duration::from_secs(3605));
}
