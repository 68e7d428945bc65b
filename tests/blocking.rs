//! Specifies the blocking pool (`spawn_blocking`, `BlockingHandle`,
//! `CancelToken`, `shutdown_blocking`): cancellation reaches the job's
//! thread by every way of giving up (the handle's `cancel`, soft-cancelling
//! the awaiting task or its group, dropping the handle, aborting the awaiting
//! task, `abandon`); a queued job that is cancelled never runs; shutdown
//! waits a bounded time and reports the jobs still running; the pool keeps
//! its cap and survives panics; no result is leaked.
//!
//! Every wait is bounded: a job that should end is watched through a
//! channel with `recv_timeout`, and every `block_on` of a handle goes
//! through `looplet::timeout`.

mod common;

use common::{
    block_on_bounded, drop_guard, expect_panic, turn_until, wait_for, DropFlag, DropGuard, Trace,
    BOUND,
};
use looplet::{BlockingHandle, BlockingReport, CancelToken, EventLoop, JoinError, TaskGroup};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A job body that parks until released (or `BOUND`), ignoring its token:
/// the "stubborn" job that nothing but its own end can stop.
fn stubborn(release: Receiver<()>) -> impl FnOnce(&CancelToken) -> &'static str + Send {
    move |_token| {
        let _ = release.recv_timeout(BOUND);
        "stubborn job returned"
    }
}

/// A job body that waits for its cancel (a second at a time, like the
/// classic `while True: time.sleep(1)`), announcing when it starts and when
/// it returns.
fn endless(
    started: Sender<()>,
    returned: Sender<()>,
) -> impl FnOnce(&CancelToken) -> &'static str + Send {
    move |token| {
        started.send(()).unwrap();
        while !token.wait_timeout(Duration::from_secs(1)) {}
        returned.send(()).unwrap();
        "endless job heard the cancel"
    }
}

/// Occupies the one thread of a `blocking_threads(1)` loop until the
/// returned sender is dropped or sent on.
fn occupy_the_only_thread(event_loop: &EventLoop) -> (Sender<()>, BlockingHandle<&'static str>) {
    let (release, released) = mpsc::channel();
    let (started, running) = mpsc::channel();
    let job = event_loop.spawn_blocking(move |token| {
        started.send(()).unwrap();
        stubborn(released)(token)
    });
    running.recv_timeout(BOUND).expect("the job started");
    (release, job)
}

// ----- the asyncio scenario ---------------------------------------------------

#[test]
fn of_two_jobs_the_quick_one_finishes_and_the_endless_one_cancelled_through_its_task_ends_its_thread(
) {
    // asyncio: `gather(to_thread(quick), to_thread(endless))`, then cancel
    // the task awaiting `endless`: the task is cancelled, the thread runs
    // forever. Here the thread hears it and returns.
    let mut event_loop = EventLoop::new().unwrap();
    let (started, running) = mpsc::channel();
    let (returned, job_returned) = mpsc::channel();
    let quick = event_loop.spawn(async { looplet::spawn_blocking(|_| 6 * 7).await });
    let waiter =
        event_loop.spawn(async move { looplet::spawn_blocking(endless(started, returned)).await });
    assert_eq!(
        block_on_bounded(&mut event_loop, quick).unwrap().unwrap(),
        42
    );
    running.recv_timeout(BOUND).expect("the endless job runs");

    assert!(
        waiter.cancel(),
        "soft-cancel the task that awaits the endless job"
    );
    let outcome = block_on_bounded(&mut event_loop, waiter).unwrap();
    assert_eq!(outcome.unwrap(), "endless job heard the cancel");
    job_returned
        .recv_timeout(BOUND)
        .expect("the job's thread returned");
    assert!(wait_for(BOUND, || event_loop
        .metrics()
        .blocking_threads_busy
        == 0));
}

#[test]
fn aborting_the_awaiting_task_sets_the_token_and_the_job_returns() {
    let mut event_loop = EventLoop::new().unwrap();
    let (started, running) = mpsc::channel();
    let (returned, job_returned) = mpsc::channel();
    let waiter =
        event_loop.spawn(async move { looplet::spawn_blocking(endless(started, returned)).await });
    event_loop.run_until_stalled();
    running.recv_timeout(BOUND).unwrap();
    waiter.abort(); // hard: the task's future, and the handle in it, are dropped
    job_returned
        .recv_timeout(BOUND)
        .expect("the drop cancelled the job");
    assert!(block_on_bounded(&mut event_loop, waiter)
        .unwrap_err()
        .is_cancelled());
}

#[test]
fn dropping_the_handle_sets_the_token() {
    let event_loop = EventLoop::new().unwrap();
    let (started, running) = mpsc::channel();
    let (returned, job_returned) = mpsc::channel();
    let job = event_loop.spawn_blocking(endless(started, returned));
    running.recv_timeout(BOUND).unwrap();
    drop(job);
    job_returned
        .recv_timeout(BOUND)
        .expect("the drop cancelled the job");
}

// ----- cancel before start ------------------------------------------------------

#[test]
fn a_cancelled_queued_job_never_runs_and_resolves_cancelled_at_once() {
    let mut event_loop = EventLoop::builder().blocking_threads(1).build().unwrap();
    let (release, first) = occupy_the_only_thread(&event_loop);
    let ran = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&ran);
    let queued = event_loop.spawn_blocking(move |_| counter.fetch_add(1, Ordering::SeqCst));
    assert_eq!(event_loop.metrics().blocking_jobs_queued, 1);

    queued.cancel();
    assert!(
        queued.is_finished(),
        "resolved at once, not when a thread frees up"
    );
    assert_eq!(
        event_loop.metrics().blocking_jobs_queued,
        0,
        "out of the queue"
    );
    assert!(block_on_bounded(&mut event_loop, queued)
        .unwrap_err()
        .is_cancelled());

    release.send(()).unwrap();
    assert_eq!(
        block_on_bounded(&mut event_loop, first).unwrap(),
        "stubborn job returned"
    );
    // The thread is free: had the cancelled job stayed queued, it would run now.
    let after = event_loop.spawn_blocking(|_| "later job");
    assert_eq!(
        block_on_bounded(&mut event_loop, after).unwrap(),
        "later job"
    );
    assert_eq!(ran.load(Ordering::SeqCst), 0, "the cancelled job never ran");
}

#[test]
fn a_queued_job_dropped_with_its_handle_never_runs_and_its_closure_is_dropped() {
    let mut event_loop = EventLoop::builder().blocking_threads(1).build().unwrap();
    let (release, first) = occupy_the_only_thread(&event_loop);
    let (guard, closure_dropped) = drop_guard();
    let queued = event_loop.spawn_blocking(move |_| {
        let _guard = guard;
        unreachable!("a cancelled job must not run")
    });
    drop(queued);
    assert!(
        closure_dropped.is_dropped(),
        "its captures are dropped at the cancel, not when a thread frees up"
    );
    release.send(()).unwrap();
    block_on_bounded(&mut event_loop, first).unwrap();
}

#[test]
fn queued_jobs_run_in_submission_order() {
    let mut event_loop = EventLoop::builder().blocking_threads(1).build().unwrap();
    let (release, first) = occupy_the_only_thread(&event_loop);
    let order = Arc::new(Mutex::new(Vec::new()));
    let jobs: Vec<_> = (0..20)
        .map(|i| {
            let order = Arc::clone(&order);
            event_loop.spawn_blocking(move |_| order.lock().unwrap().push(i))
        })
        .collect();
    release.send(()).unwrap();
    block_on_bounded(&mut event_loop, first).unwrap();
    for job in jobs {
        block_on_bounded(&mut event_loop, job).unwrap();
    }
    assert_eq!(*order.lock().unwrap(), (0..20).collect::<Vec<_>>(), "FIFO");
}

// ----- abandon ---------------------------------------------------------------------

#[test]
fn abandon_returns_cancelled_at_once_while_the_thread_keeps_going() {
    let event_loop = EventLoop::new().unwrap();
    let (release, released) = mpsc::channel::<()>();
    let (started, running) = mpsc::channel();
    let (returned, job_returned) = mpsc::channel();
    let job = event_loop.spawn_blocking(move |token| {
        started.send(()).unwrap();
        let _ = released.recv_timeout(BOUND); // ignores its token
        returned.send(token.is_cancelled()).unwrap();
    });
    running.recv_timeout(BOUND).unwrap();

    assert!(job.abandon().unwrap_err().is_cancelled());
    assert_eq!(event_loop.metrics().blocking_jobs_abandoned, 1);
    assert_eq!(event_loop.metrics().blocking_threads_busy, 1, "it runs on");
    assert!(job_returned.try_recv().is_err(), "not returned yet");

    release.send(()).unwrap();
    assert_eq!(
        job_returned.recv_timeout(BOUND),
        Ok(true),
        "it ran to its end, with its token set"
    );
}

#[test]
fn abandon_of_a_finished_job_returns_its_outcome() {
    let event_loop = EventLoop::new().unwrap();
    let job = event_loop.spawn_blocking(|_| 5);
    assert!(wait_for(BOUND, || job.is_finished()));
    assert_eq!(job.abandon().unwrap(), 5);
    assert_eq!(event_loop.metrics().blocking_jobs_abandoned, 0);
}

// ----- results nobody reads ---------------------------------------------------------

/// A result that counts its drops.
#[derive(Debug)]
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn a_job_completed_after_its_awaiting_task_was_aborted_has_its_result_dropped_not_leaked() {
    let mut event_loop = EventLoop::new().unwrap();
    let drops = Arc::new(AtomicUsize::new(0));
    let (release, released) = mpsc::channel::<()>();
    let (started, running) = mpsc::channel();
    let counter = Arc::clone(&drops);
    let waiter = event_loop.spawn(async move {
        looplet::spawn_blocking(move |_token| {
            started.send(()).unwrap();
            let _ = released.recv_timeout(BOUND); // finishes regardless of the cancel
            Counted(counter)
        })
        .await
    });
    event_loop.run_until_stalled();
    running.recv_timeout(BOUND).unwrap();
    waiter.abort();
    assert_eq!(drops.load(Ordering::SeqCst), 0, "not made yet");
    release.send(()).unwrap();
    assert!(
        wait_for(BOUND, || drops.load(Ordering::SeqCst) == 1),
        "the late result was dropped (once)"
    );
    assert!(block_on_bounded(&mut event_loop, waiter)
        .unwrap_err()
        .is_cancelled());
    std::thread::sleep(Duration::from_millis(10));
    assert_eq!(drops.load(Ordering::SeqCst), 1, "and only once");
}

#[test]
fn a_finished_result_is_dropped_with_an_unread_handle() {
    let event_loop = EventLoop::new().unwrap();
    let drops = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&drops);
    let job = event_loop.spawn_blocking(move |_| Counted(counter));
    assert!(wait_for(BOUND, || job.is_finished()));
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    drop(job);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

// ----- soft cancellation of the awaiting task ---------------------------------------

#[test]
fn soft_cancel_of_the_awaiting_task_sets_the_token_and_waits_for_the_jobs_early_return() {
    let mut event_loop = EventLoop::new().unwrap();
    let (started, running) = mpsc::channel();
    let task = event_loop.spawn(async move {
        let job = looplet::spawn_blocking(move |token| {
            started.send(()).unwrap();
            let mut rounds = 0;
            while !token.wait_timeout(Duration::from_millis(5)) {
                rounds += 1;
            }
            format!("returned early after {rounds} rounds")
        });
        let said = job.await.unwrap();
        // The task itself was not dropped: it gets the job's own value and
        // can go on cleaning up.
        format!(
            "task saw: {said}, is_cancelled = {}",
            looplet::is_cancelled()
        )
    });
    event_loop.run_until_stalled();
    running.recv_timeout(BOUND).unwrap();
    task.cancel();
    let said = block_on_bounded(&mut event_loop, task).unwrap();
    assert!(said.starts_with("task saw: returned early after"), "{said}");
    assert!(said.ends_with("is_cancelled = true"), "{said}");
}

#[test]
fn cancelling_a_task_group_reaches_the_jobs_its_children_await() {
    let mut event_loop = EventLoop::new().unwrap();
    let (returned, jobs_returned) = mpsc::channel();
    let (started, running) = mpsc::channel();
    let outcome = block_on_bounded(&mut event_loop, async move {
        let group = TaskGroup::new();
        for _ in 0..3 {
            let (started, returned) = (started.clone(), returned.clone());
            group.spawn(async move { looplet::spawn_blocking(endless(started, returned)).await });
        }
        for _ in 0..3 {
            // The children spawn their jobs when they first run.
            while running.try_recv().is_err() {
                looplet::sleep(Duration::from_millis(1)).await;
            }
        }
        group.cancel();
        group.join().await
    });
    assert_eq!(outcome.len(), 3);
    for child in outcome {
        assert_eq!(child.unwrap().unwrap(), "endless job heard the cancel");
    }
    for _ in 0..3 {
        jobs_returned
            .recv_timeout(BOUND)
            .expect("every job heard it");
    }
}

#[test]
fn a_job_spawned_by_cleanup_after_the_cancel_is_not_cancelled_by_it() {
    let mut event_loop = EventLoop::new().unwrap();
    let task = event_loop.spawn(async {
        looplet::cancelled().await;
        // Cleanup: a blocking flush, spawned after the request.
        looplet::spawn_blocking(|token| {
            std::thread::sleep(Duration::from_millis(5));
            token.is_cancelled()
        })
        .await
        .unwrap()
    });
    task.cancel();
    assert!(
        !block_on_bounded(&mut event_loop, task).unwrap(),
        "the cleanup job's token was not set by the request it cleans up after"
    );
}

#[test]
fn a_second_cancel_request_reaches_a_cleanup_job() {
    let mut event_loop = EventLoop::new().unwrap();
    let (started, running) = mpsc::channel();
    let (returned, job_returned) = mpsc::channel();
    let task = event_loop.spawn(async move {
        looplet::cancelled().await;
        looplet::spawn_blocking(endless(started, returned))
            .await
            .unwrap()
    });
    task.cancel();
    event_loop.run_until_stalled();
    running.recv_timeout(BOUND).unwrap();
    task.cancel(); // "stop the cleanup too"
    assert_eq!(
        block_on_bounded(&mut event_loop, task).unwrap(),
        "endless job heard the cancel"
    );
    job_returned.recv_timeout(BOUND).unwrap();
}

#[test]
fn a_remote_tasks_soft_cancel_reaches_its_job() {
    let mut event_loop = EventLoop::new().unwrap();
    let (started, running) = mpsc::channel();
    let (returned, job_returned) = mpsc::channel();
    // A Handle::spawn future must be Send: so must the BlockingHandle in it.
    let remote = event_loop
        .handle()
        .spawn(async move { looplet::spawn_blocking(endless(started, returned)).await });
    assert!(turn_until(&mut event_loop, BOUND, || running
        .try_recv()
        .is_ok()));
    remote.cancel();
    assert!(turn_until(&mut event_loop, BOUND, || remote.is_finished()));
    let outcome = remote.wait_timeout(Duration::ZERO).unwrap().unwrap();
    assert_eq!(outcome.unwrap(), "endless job heard the cancel");
    job_returned.recv_timeout(BOUND).unwrap();
}

// ----- shutdown -----------------------------------------------------------------------

#[test]
fn a_job_that_ignores_its_token_is_reported_still_running_and_shutdown_returns_within_its_timeout()
{
    let mut event_loop = EventLoop::new().unwrap();
    let (release, released) = mpsc::channel();
    let (started, running) = mpsc::channel();
    let stubborn_job = event_loop.spawn_blocking_named("stubborn", move |token| {
        started.send(()).unwrap();
        stubborn(released)(token)
    });
    let (polite_started, polite_running) = mpsc::channel();
    let polite = event_loop.spawn_blocking(move |token| {
        polite_started.send(()).unwrap();
        token.wait_timeout(Duration::MAX)
    });
    running.recv_timeout(BOUND).unwrap();
    polite_running.recv_timeout(BOUND).unwrap();

    // Long enough for the polite job to hear the cancel on a loaded machine.
    let wait = Duration::from_millis(500);
    let begun = Instant::now();
    let report = event_loop.shutdown_blocking(wait);
    let took = begun.elapsed();
    assert!(took >= wait, "it waited for the stubborn job: {took:?}");
    assert!(took < BOUND, "and no longer than its bound: {took:?}");
    assert_eq!(report.finished, 1, "{report}");
    assert_eq!(report.cancelled_before_start, 0, "{report}");
    assert_eq!(report.still_running.len(), 1, "{report}");
    let still = &report.still_running[0];
    assert_eq!(still.job.name.as_deref(), Some("stubborn"));
    assert!(still.job.spawned_at.file().ends_with("blocking.rs"));
    assert!(still.running_for >= wait);
    assert!(
        report.to_string().contains("stubborn (spawned at"),
        "{report}"
    );
    assert!(!report.is_clean());

    assert!(
        block_on_bounded(&mut event_loop, polite).unwrap(),
        "it heard the cancel"
    );
    release.send(()).unwrap();
    assert_eq!(
        block_on_bounded(&mut event_loop, stubborn_job).unwrap(),
        "stubborn job returned",
        "a job still running is not lost: its handle gets what it returns"
    );
    // The pool stays open after shutdown_blocking.
    let later = event_loop.spawn_blocking(|_| "after the shutdown");
    assert_eq!(
        block_on_bounded(&mut event_loop, later).unwrap(),
        "after the shutdown"
    );
}

#[test]
fn shutdown_removes_queued_jobs_which_resolve_cancelled_without_running() {
    let mut event_loop = EventLoop::builder().blocking_threads(1).build().unwrap();
    let (started, running) = mpsc::channel();
    let (returned, job_returned) = mpsc::channel();
    let first = event_loop.spawn_blocking(endless(started, returned));
    running.recv_timeout(BOUND).unwrap();
    let queued: Vec<_> = (0..3)
        .map(|_| event_loop.spawn_blocking(|_| unreachable!("never runs")))
        .collect();
    let report = event_loop.shutdown_blocking(BOUND);
    job_returned.recv_timeout(BOUND).unwrap();
    assert_eq!(report.cancelled_before_start, 3, "{report}");
    assert_eq!(report.finished, 1, "{report}");
    assert!(report.is_clean());
    for job in queued {
        assert!(job.is_finished());
        assert!(block_on_bounded(&mut event_loop, job)
            .unwrap_err()
            .is_cancelled());
    }
    assert_eq!(
        block_on_bounded(&mut event_loop, first).unwrap(),
        "endless job heard the cancel"
    );
}

#[test]
fn dropping_the_loop_cancels_every_job_waits_a_bounded_time_and_reports_to_the_hook() {
    let reports: Arc<Mutex<Vec<BlockingReport>>> = Arc::default();
    let log = Arc::clone(&reports);
    let event_loop = EventLoop::builder()
        .blocking_threads(2)
        .blocking_shutdown_timeout(Duration::from_millis(500))
        .on_blocking_report(move |report| log.lock().unwrap().push(report.clone()))
        .build()
        .unwrap();
    let (release, released) = mpsc::channel::<()>();
    let (started, running) = mpsc::channel();
    let (returned, polite_returned) = mpsc::channel();
    let (stubborn_started, stubborn_running) = mpsc::channel();
    let polite = event_loop.spawn_blocking(endless(started, returned));
    let stubborn_job = event_loop.spawn_blocking_named("stubborn", move |token| {
        stubborn_started.send(()).unwrap();
        stubborn(released)(token)
    });
    let queued = event_loop.spawn_blocking(|_| unreachable!("never runs"));
    running.recv_timeout(BOUND).unwrap();
    stubborn_running.recv_timeout(BOUND).unwrap();

    let begun = Instant::now();
    drop(event_loop);
    assert!(begun.elapsed() < BOUND, "the drop's wait is bounded");
    polite_returned.recv_timeout(BOUND).unwrap();
    let reports = reports.lock().unwrap();
    assert_eq!(reports.len(), 1);
    let report = &reports[0];
    assert_eq!(
        (
            report.finished,
            report.cancelled_before_start,
            report.still_running.len()
        ),
        (1, 1, 1),
        "{report}"
    );
    assert_eq!(
        report.still_running[0].job.name.as_deref(),
        Some("stubborn")
    );

    // Handles that outlive their loop still resolve.
    let mut other_loop = EventLoop::new().unwrap();
    assert!(queued.is_finished());
    assert!(block_on_bounded(&mut other_loop, queued)
        .unwrap_err()
        .is_loop_closed());
    assert_eq!(
        block_on_bounded(&mut other_loop, polite).unwrap(),
        "endless job heard the cancel"
    );
    release.send(()).unwrap();
    assert_eq!(
        block_on_bounded(&mut other_loop, stubborn_job).unwrap(),
        "stubborn job returned"
    );
}

#[test]
fn a_job_spawned_after_the_loop_closed_resolves_loop_closed_without_running() {
    // A task's destructor, run by the loop's teardown, spawns a job.
    let (sent, spawned_in_teardown) = mpsc::channel::<BlockingHandle<()>>();
    struct SpawnOnDrop(Sender<BlockingHandle<()>>);
    impl Drop for SpawnOnDrop {
        fn drop(&mut self) {
            let _ = self
                .0
                .send(looplet::spawn_blocking(|_| unreachable!("never runs")));
        }
    }
    let mut event_loop = EventLoop::new().unwrap();
    let _task = event_loop.spawn(async move {
        let _spawner = SpawnOnDrop(sent);
        std::future::pending::<()>().await
    });
    event_loop.run_until_stalled();
    drop(event_loop);
    let job = spawned_in_teardown.recv_timeout(BOUND).unwrap();
    assert!(job.is_finished());
    let mut other_loop = EventLoop::new().unwrap();
    assert!(block_on_bounded(&mut other_loop, job)
        .unwrap_err()
        .is_loop_closed());
}

// ----- the pool ------------------------------------------------------------------------

#[test]
fn the_thread_cap_holds_under_100_submissions_and_every_job_runs() {
    let mut event_loop = EventLoop::builder().blocking_threads(4).build().unwrap();
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    // Every job holds its thread until all 100 are submitted.
    let (open_gate, gate) = mpsc::channel::<()>();
    let gate = Arc::new(Mutex::new(gate));
    let jobs: Vec<_> = (0..100)
        .map(|i| {
            let (running, most, gate) =
                (Arc::clone(&running), Arc::clone(&most), Arc::clone(&gate));
            event_loop.spawn_blocking(move |_| {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                // Disconnected once the test drops its sender: returns at once then.
                let _ = gate.lock().unwrap().recv_timeout(BOUND);
                running.fetch_sub(1, Ordering::SeqCst);
                i
            })
        })
        .collect();
    assert!(wait_for(BOUND, || event_loop
        .metrics()
        .blocking_threads_busy
        == 4));
    let metrics = event_loop.metrics();
    assert_eq!(
        (
            metrics.blocking_threads_alive,
            metrics.blocking_jobs_queued,
            metrics.blocking_jobs
        ),
        (4, 96, 100),
        "{metrics:?}"
    );
    drop(open_gate);
    for (i, job) in jobs.into_iter().enumerate() {
        assert_eq!(block_on_bounded(&mut event_loop, job).unwrap(), i);
    }
    assert_eq!(most.load(Ordering::SeqCst), 4, "4 at once, never more");
    assert!(event_loop.metrics().blocking_threads_alive <= 4);
}

#[test]
fn an_idle_worker_takes_the_next_job_instead_of_a_new_thread_starting() {
    let mut event_loop = EventLoop::new().unwrap();
    for round in 0..20 {
        let job = event_loop.spawn_blocking(move |_| round);
        assert_eq!(block_on_bounded(&mut event_loop, job).unwrap(), round);
        // The job's thread is idle again once it has left the running set.
        assert!(wait_for(BOUND, || event_loop
            .metrics()
            .blocking_threads_busy
            == 0));
    }
    assert_eq!(
        event_loop.metrics().blocking_threads_alive,
        1,
        "one job at a time needs one thread"
    );
}

#[test]
fn idle_threads_exit_after_the_keep_alive() {
    let mut event_loop = EventLoop::builder()
        .blocking_keep_alive(Duration::from_millis(20))
        .build()
        .unwrap();
    let jobs: Vec<_> = (0..3)
        .map(|_| event_loop.spawn_blocking(|_| std::thread::sleep(Duration::from_millis(5))))
        .collect();
    for job in jobs {
        block_on_bounded(&mut event_loop, job).unwrap();
    }
    assert!(event_loop.metrics().blocking_threads_alive >= 1);
    assert!(
        wait_for(BOUND, || event_loop.metrics().blocking_threads_alive == 0),
        "{:?}",
        event_loop.metrics()
    );
    // And the pool starts threads again on demand.
    let job = event_loop.spawn_blocking(|_| "again");
    assert_eq!(block_on_bounded(&mut event_loop, job).unwrap(), "again");
}

#[test]
fn a_panicking_job_resolves_panicked_and_the_pool_survives() {
    let mut event_loop = EventLoop::builder().blocking_threads(1).build().unwrap();
    let job = event_loop.spawn_blocking(|_| -> u32 { panic!("disk on fire") });
    let error = block_on_bounded(&mut event_loop, job).unwrap_err();
    assert_eq!(error.panic_message(), Some("disk on fire"));
    let next = event_loop.spawn_blocking(|_| 1_u32);
    assert_eq!(block_on_bounded(&mut event_loop, next).unwrap(), 1);
    assert_eq!(
        event_loop.metrics().blocking_threads_alive,
        1,
        "the same thread ran both"
    );
}

#[test]
fn a_panic_nobody_reads_goes_to_the_unhandled_panic_hook() {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = Arc::clone(&seen);
    let mut event_loop = EventLoop::builder()
        .on_unhandled_panic(move |p| {
            log.lock()
                .unwrap()
                .push(format!("{}: {}", p.task, p.message))
        })
        .build()
        .unwrap();
    let (started, running) = mpsc::channel();
    let (release, released) = mpsc::channel::<()>();
    let line = line!() + 1;
    let job = event_loop.spawn_blocking_named("decoder", move |_| {
        started.send(()).unwrap();
        let _ = released.recv_timeout(BOUND);
        panic!("nobody listens")
    });
    running.recv_timeout(BOUND).unwrap();
    drop(job);
    release.send(()).unwrap();
    assert!(turn_until(&mut event_loop, BOUND, || !seen
        .lock()
        .unwrap()
        .is_empty()));
    assert_eq!(
        *seen.lock().unwrap(),
        [format!(
            "blocking job decoder (spawned at tests/blocking.rs:{line}:26) (its handle was dropped): nobody listens"
        )]
    );
}

#[test]
fn a_panic_in_the_drop_of_a_cancelled_jobs_closure_goes_to_the_hook() {
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("closure drop");
        }
    }
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = Arc::clone(&seen);
    let mut event_loop = EventLoop::builder()
        .blocking_threads(1)
        .on_unhandled_panic(move |p| {
            log.lock()
                .unwrap()
                .push(format!("{}: {}", p.task, p.message))
        })
        .build()
        .unwrap();
    let (release, first) = occupy_the_only_thread(&event_loop);
    let captured = PanicOnDrop;
    let line = line!() + 1;
    let queued = event_loop.spawn_blocking(move |_| drop(captured));
    queued.cancel(); // drops the closure, whose Drop panics: contained
    assert!(block_on_bounded(&mut event_loop, queued)
        .unwrap_err()
        .is_cancelled());
    event_loop.run_until_stalled(); // the report travels through the injector
    assert_eq!(
        *seen.lock().unwrap(),
        [format!(
            "blocking job spawned at tests/blocking.rs:{line}:29 (dropped unrun): closure drop"
        )]
    );
    release.send(()).unwrap();
    block_on_bounded(&mut event_loop, first).unwrap();
}

// ----- how the result comes back --------------------------------------------------------

#[test]
fn a_result_arriving_between_driving_calls_wakes_the_host() {
    let trace = Trace::new();
    let mut event_loop = trace.event_loop();
    let (release, released) = mpsc::channel::<()>();
    let (started, running) = mpsc::channel();
    let waiter = event_loop.spawn(async move {
        looplet::spawn_blocking(move |_| {
            started.send(()).unwrap();
            let _ = released.recv_timeout(BOUND);
            9
        })
        .await
    });
    event_loop.run_until_stalled();
    running.recv_timeout(BOUND).unwrap();
    assert!(trace.is_empty(), "no wake yet: {:?}", trace.events());
    release.send(()).unwrap();
    // The job's thread wakes the awaiting task: through the injector, so the
    // host's hook is called (the loop is between driving calls).
    assert!(wait_for(BOUND, || !trace.is_empty()));
    trace.assert(&["wake hook"]);
    assert!(event_loop
        .next_deadline()
        .is_some_and(|at| at <= Instant::now()));
    assert_eq!(
        block_on_bounded(&mut event_loop, waiter).unwrap().unwrap(),
        9
    );
}

#[test]
fn a_loop_asleep_in_block_on_is_woken_by_the_result() {
    let mut event_loop = EventLoop::new().unwrap();
    let job = event_loop.spawn_blocking(|_| {
        std::thread::sleep(Duration::from_millis(20));
        "woke the loop"
    });
    assert_eq!(
        block_on_bounded(&mut event_loop, job).unwrap(),
        "woke the loop"
    );
    let metrics = event_loop.metrics();
    assert!(
        metrics.sleeps >= 1,
        "it slept while the job ran: {metrics:?}"
    );
    assert!(metrics.wake_syscalls >= 1, "{metrics:?}");
}

// ----- misuse ------------------------------------------------------------------------------

#[test]
fn spawn_blocking_outside_a_loop_panics_with_advice() {
    let message = expect_panic(|| looplet::spawn_blocking(|_| ()));
    assert!(
        message.contains("looplet::spawn_blocking called outside a running loop")
            && message.contains("EventLoop::spawn_blocking"),
        "{message}"
    );
}

#[test]
fn a_pool_of_zero_threads_is_refused_when_built() {
    let message = expect_panic(|| EventLoop::builder().blocking_threads(0));
    assert!(message.contains("at least one thread"), "{message}");
}

#[test]
fn a_handle_polled_after_it_completed_panics() {
    let mut event_loop = EventLoop::new().unwrap();
    let mut job = Box::pin(event_loop.spawn_blocking(|_| 1));
    block_on_bounded(&mut event_loop, job.as_mut()).unwrap();
    let message = expect_panic(|| block_on_bounded(&mut event_loop, job.as_mut()));
    assert!(message.contains("polled after it completed"), "{message}");
}

#[test]
fn a_guard_in_a_job_is_dropped_on_its_thread_when_it_returns() {
    // The job's captures live on the pool thread and end with the job.
    let event_loop = EventLoop::new().unwrap();
    let (guard, dropped): (DropGuard, DropFlag) = drop_guard();
    let job = event_loop.spawn_blocking(move |_| drop(guard));
    assert!(wait_for(BOUND, || dropped.is_dropped()));
    assert!(wait_for(BOUND, || job.is_finished()));
}

#[test]
fn abandoning_a_job_that_never_started_is_not_counted_as_abandoned() {
    let event_loop = EventLoop::builder().blocking_threads(1).build().unwrap();
    let (release, first) = occupy_the_only_thread(&event_loop);
    let queued = event_loop.spawn_blocking(|_| ());
    let error: JoinError = queued.abandon().unwrap_err();
    assert!(error.is_cancelled());
    let metrics = event_loop.metrics();
    assert_eq!(
        metrics.blocking_jobs_abandoned, 0,
        "no thread runs it: {metrics:?}"
    );
    assert_eq!(metrics.blocking_jobs_queued, 0, "{metrics:?}");
    release.send(()).unwrap();
    drop(first);
}

#[test]
fn a_handle_moved_to_a_task_of_another_loop_is_not_cancelled_by_that_tasks_earlier_request() {
    // Task ids are per loop: the first task of two loops has the same id.
    // What loop B's task was asked before it got the handle is not the job's.
    let mut loop_a = EventLoop::new().unwrap();
    let (started, running) = mpsc::channel();
    let (returned, job_returned) = mpsc::channel();
    // (Wrapped in an Option: the task returns the handle, it does not await it.)
    let maker =
        loop_a.spawn(async move { Some(looplet::spawn_blocking(endless(started, returned))) });
    let handle = block_on_bounded(&mut loop_a, maker).unwrap().unwrap();
    running.recv_timeout(BOUND).unwrap();

    let mut loop_b = EventLoop::new().unwrap();
    let slot = std::rc::Rc::new(std::cell::RefCell::new(Some(handle)));
    let inbox = std::rc::Rc::clone(&slot);
    let task = loop_b.spawn(async move {
        looplet::cancelled().await; // asked once, before it got the handle
        let mut handle = inbox.borrow_mut().take().unwrap();
        let _ = futures::poll!(&mut handle); // its first poll by this task
        handle.is_cancelled()
    });
    task.cancel();
    assert!(
        !block_on_bounded(&mut loop_b, task).unwrap(),
        "the job kept running"
    );
    job_returned
        .recv_timeout(BOUND)
        .expect("dropping the handle with the task cancelled it");
}

#[test]
fn a_detached_job_runs_to_its_end_even_if_it_was_still_queued() {
    let mut event_loop = EventLoop::builder().blocking_threads(1).build().unwrap();
    let (release, first) = occupy_the_only_thread(&event_loop);
    let (saved, was_saved) = mpsc::channel();
    let drops = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&drops);
    let autosave = event_loop.spawn_blocking(move |token| {
        saved.send(token.is_cancelled()).unwrap();
        Counted(counter)
    });
    autosave.detach(); // queued behind the first job: it must still run
    release.send(()).unwrap();
    assert_eq!(
        was_saved.recv_timeout(BOUND),
        Ok(false),
        "it ran, and was not cancelled"
    );
    assert!(
        wait_for(BOUND, || drops.load(Ordering::SeqCst) == 1),
        "its result was dropped"
    );
    block_on_bounded(&mut event_loop, first).unwrap();
}

#[test]
fn cancel_says_whether_there_was_anything_to_cancel() {
    let mut event_loop = EventLoop::new().unwrap();
    let done = event_loop.spawn_blocking(|_| 1);
    assert!(wait_for(BOUND, || done.is_finished()));
    assert!(!done.cancel(), "finished: nothing to cancel");
    assert!(!done.is_cancelled(), "and its token was left alone");
    assert_eq!(block_on_bounded(&mut event_loop, done).unwrap(), 1);
    let (release, released) = mpsc::channel();
    let (started, running) = mpsc::channel();
    let live = event_loop.spawn_blocking(move |token| {
        started.send(()).unwrap();
        stubborn(released)(token)
    });
    running.recv_timeout(BOUND).unwrap();
    assert!(live.cancel());
    assert!(live.cancel(), "still running: asking again is harmless");
    release.send(()).unwrap();
    block_on_bounded(&mut event_loop, live).unwrap();
}

#[test]
fn the_drop_after_shutdown_blocking_reports_a_job_given_up_on_but_does_not_wait_again() {
    let reports: Arc<Mutex<Vec<BlockingReport>>> = Arc::default();
    let log = Arc::clone(&reports);
    let mut event_loop = EventLoop::builder()
        .blocking_shutdown_timeout(BOUND)
        .on_blocking_report(move |report| log.lock().unwrap().push(report.clone()))
        .build()
        .unwrap();
    let (release, released) = mpsc::channel::<()>();
    let (started, running) = mpsc::channel();
    let job = event_loop.spawn_blocking_named("stubborn", move |token| {
        started.send(()).unwrap();
        stubborn(released)(token)
    });
    running.recv_timeout(BOUND).unwrap();
    let first = event_loop.shutdown_blocking(Duration::from_millis(20));
    assert_eq!(first.still_running.len(), 1, "{first}");
    let begun = Instant::now();
    drop(event_loop);
    let took = begun.elapsed();
    assert!(took < BOUND / 2, "the drop waited again: {took:?}");
    let reports = reports.lock().unwrap();
    assert_eq!(
        reports[0].still_running.len(),
        1,
        "still reported: {}",
        reports[0]
    );
    release.send(()).unwrap();
    drop(job);
}

#[test]
fn no_queued_job_starts_while_the_loops_drop_drops_its_tasks() {
    // A running job ends during the teardown (a task's destructor releases
    // it): the job queued behind it must not start then, cancelled or not.
    struct ReleaseOnDrop(Sender<()>);
    impl Drop for ReleaseOnDrop {
        fn drop(&mut self) {
            let _ = self.0.send(());
            std::thread::sleep(Duration::from_millis(20)); // room for a worker to start the next job
        }
    }
    let mut event_loop = EventLoop::builder()
        .blocking_threads(1)
        .blocking_shutdown_timeout(BOUND)
        .build()
        .unwrap();
    let (release, first) = occupy_the_only_thread(&event_loop);
    let ran = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&ran);
    let queued = event_loop.spawn_blocking(move |_| counter.fetch_add(1, Ordering::SeqCst));
    let _task = event_loop.spawn(async move {
        let _release = ReleaseOnDrop(release);
        std::future::pending::<()>().await
    });
    event_loop.run_until_stalled();
    drop(event_loop);
    assert_eq!(
        ran.load(Ordering::SeqCst),
        0,
        "the queued job started during the drop"
    );
    let mut other_loop = EventLoop::new().unwrap();
    assert!(block_on_bounded(&mut other_loop, queued)
        .unwrap_err()
        .is_loop_closed());
    assert_eq!(
        block_on_bounded(&mut other_loop, first).unwrap(),
        "stubborn job returned"
    );
}

#[test]
fn a_loop_name_with_a_nul_byte_still_gets_pool_threads() {
    let mut event_loop = EventLoop::builder()
        .name("bad\0name")
        .blocking_threads(1)
        .build()
        .unwrap();
    let job = event_loop.spawn_blocking(|_| std::thread::current().name().map(str::to_string));
    let name = block_on_bounded(&mut event_loop, job).unwrap();
    assert_eq!(name.as_deref(), Some("bad?name-blocking-1"));
}

#[test]
fn a_panicking_wake_hook_does_not_wedge_the_pool() {
    let mut event_loop = EventLoop::builder()
        .blocking_threads(1)
        .wake_hook(|| {
            // Only on the pool's thread: the job's wake is what we test.
            if std::thread::current().name() == Some("looplet-blocking-1") {
                panic!("the GUI is gone")
            }
        })
        .build()
        .unwrap();
    let waiter = event_loop.spawn(async { looplet::spawn_blocking(|_| 1).await });
    event_loop.run_until_stalled(); // between driving calls: the job's wake calls the hook
    assert!(wait_for(BOUND, || event_loop
        .metrics()
        .blocking_threads_busy
        == 0));
    let next = event_loop.spawn_blocking(|_| 2);
    assert!(
        wait_for(BOUND, || next.is_finished()),
        "the one thread is free again"
    );
    assert_eq!(block_on_bounded(&mut event_loop, next).unwrap(), 2);
    assert_eq!(
        block_on_bounded(&mut event_loop, waiter).unwrap().unwrap(),
        1
    );
}
