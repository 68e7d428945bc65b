//! Specifies jank detection (`slow_poll_threshold`, `on_slow_poll`,
//! `Metrics::slow_polls`) and the live-task list (`track_tasks`,
//! `EventLoop::tasks`): a slow poll is reported with the task's name and
//! spawn site; `tasks()` follows a task through spawn, polls and its end.

mod common;

use common::expect_panic;
use looplet::{EventLoop, TaskState};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Seen = Arc<Mutex<Vec<(String, Duration, Option<String>)>>>;

fn loop_reporting_slow_polls(threshold: Duration) -> (EventLoop, Seen) {
    let seen: Seen = Arc::default();
    let log = Arc::clone(&seen);
    let event_loop = EventLoop::builder()
        .slow_poll_threshold(threshold)
        .on_slow_poll(move |slow| {
            let at = slow
                .spawned_at
                .map(|at| format!("{}:{}", at.file(), at.line()));
            log.lock()
                .unwrap()
                .push((slow.task.to_string(), slow.duration, at));
        })
        .build()
        .unwrap();
    (event_loop, seen)
}

#[test]
fn a_slow_poll_is_reported_with_the_tasks_name_and_spawn_site() {
    // Generous figures: a trivial poll preempted for 20 ms would be reported too.
    let (mut event_loop, seen) = loop_reporting_slow_polls(Duration::from_millis(20));
    let line = line!() + 1;
    let hog = event_loop.spawn_named("physics", async {
        std::thread::sleep(Duration::from_millis(30));
    });
    let quick = event_loop.spawn(async {});
    event_loop.run_until_stalled();
    assert!(hog.is_finished() && quick.is_finished());
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1, "only the slow one: {seen:?}");
    let (task, duration, at) = &seen[0];
    assert_eq!(task, "physics");
    assert!(*duration >= Duration::from_millis(30));
    assert_eq!(
        at.as_deref(),
        Some(format!("tests/introspection.rs:{line}").as_str())
    );
    assert_eq!(event_loop.metrics().slow_polls, 1);
}

#[test]
fn the_spawn_site_of_a_task_spawned_by_a_task_is_where_looplet_spawn_was_called() {
    let (mut event_loop, seen) = loop_reporting_slow_polls(Duration::from_millis(20));
    let line = line!() + 2;
    event_loop.block_on(async move {
        let child = looplet::spawn(async { std::thread::sleep(Duration::from_millis(30)) });
        child.await.unwrap();
    });
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(seen[0].0.starts_with("task #"), "{seen:?}");
    assert_eq!(
        seen[0].2.as_deref(),
        Some(format!("tests/introspection.rs:{line}").as_str())
    );
}

#[test]
fn without_a_threshold_nothing_is_timed_or_reported() {
    let mut event_loop = EventLoop::new().unwrap();
    let hog = event_loop.spawn(async { std::thread::sleep(Duration::from_millis(5)) });
    event_loop.run_until_stalled();
    assert!(hog.is_finished());
    assert_eq!(event_loop.metrics().slow_polls, 0);
    let tasks = event_loop.tasks();
    assert_eq!(tasks.len(), 1, "the finished task waits for its handle");
    assert_eq!(
        (tasks[0].polls, tasks[0].spawned_at),
        (0, None),
        "not tracked"
    );
}

#[test]
fn a_panicking_slow_poll_hook_is_contained() {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = Arc::clone(&seen);
    let mut event_loop = EventLoop::builder()
        .slow_poll_threshold(Duration::ZERO)
        .on_slow_poll(|_| panic!("hook bug"))
        .on_unhandled_panic(move |p| {
            log.lock()
                .unwrap()
                .push(format!("{}: {}", p.task, p.message))
        })
        .build()
        .unwrap();
    let task = event_loop.spawn(async { 1 });
    assert_eq!(event_loop.block_on(task).unwrap(), 1);
    assert_eq!(*seen.lock().unwrap(), ["the slow-poll hook: hook bug"]);
}

#[test]
fn tasks_lists_name_state_and_polls_through_spawn_poll_and_finish() {
    let mut event_loop = EventLoop::builder().track_tasks(true).build().unwrap();
    let gate = Rc::new(RefCell::new(None::<std::task::Waker>));
    let g = Rc::clone(&gate);
    let line = line!() + 1;
    let task = event_loop.spawn_named("loader", async move {
        let mut first = true;
        std::future::poll_fn(|cx| {
            if first {
                first = false;
                *g.borrow_mut() = Some(cx.waker().clone());
                return std::task::Poll::Pending;
            }
            std::task::Poll::Ready(7)
        })
        .await
    });

    let info = &event_loop.tasks()[0];
    assert_eq!(info.id, task.id());
    assert_eq!(info.name.as_deref(), Some("loader"));
    assert_eq!(
        (info.state, info.polls, info.since_last_poll),
        (TaskState::Queued, 0, None)
    );
    let at = info.spawned_at.unwrap();
    assert_eq!((at.file(), at.line()), ("tests/introspection.rs", line));

    event_loop.run_until_stalled();
    let info = &event_loop.tasks()[0];
    assert_eq!((info.state, info.polls), (TaskState::Waiting, 1));
    assert!(info.since_last_poll.is_some());

    gate.borrow_mut().take().unwrap().wake();
    assert_eq!(event_loop.tasks()[0].state, TaskState::Queued);
    event_loop.run_until_stalled();
    let info = &event_loop.tasks()[0];
    assert_eq!((info.state, info.polls), (TaskState::Finished, 2));

    assert_eq!(event_loop.block_on(task).unwrap(), 7);
    assert!(event_loop.tasks().is_empty(), "collected: gone");
}

#[test]
fn a_remote_task_is_listed_without_a_spawn_site() {
    let mut event_loop = EventLoop::builder().track_tasks(true).build().unwrap();
    let remote = event_loop.handle().spawn(std::future::pending::<()>());
    event_loop.run_until_stalled();
    let tasks = event_loop.tasks();
    assert_eq!(tasks.len(), 1);
    assert_eq!(
        (tasks[0].state, tasks[0].polls, tasks[0].spawned_at),
        (TaskState::Waiting, 1, None)
    );
    drop(remote);
}

#[test]
fn spawn_outside_a_loop_still_panics_at_the_callers_line() {
    let message = expect_panic(|| looplet::spawn(async {}));
    assert!(message.contains("outside a running loop"), "{message}");
}
