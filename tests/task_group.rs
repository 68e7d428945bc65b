//! Specifies `TaskGroup`: outcomes in spawn order (`join`) or as children
//! finish (`join_next`); a panicking child soft-cancels its siblings, which
//! get the grace and are then aborted; `try_join` does the same on the first
//! `Err`; no child outlives its group (dropped, or its joiner aborted); a
//! child may spawn into its own group.

mod common;

use common::{drop_guard, expect_panic, Trace, BOUND};
use looplet::{cancelled, sleep, yield_now, EventLoop, GroupError, TaskGroup};
use std::future::pending;
use std::time::{Duration, Instant};

const GRACE: Duration = Duration::from_millis(20);

/// A parent that joins a group whose one child holds `guard` and never ends.
async fn joining_a_child_that_never_ends(
    guard: common::DropGuard,
) -> Vec<Result<(), looplet::JoinError>> {
    let group = TaskGroup::new();
    group.spawn(async move {
        let _guard = guard;
        pending::<()>().await;
    });
    group.join().await
}

#[test]
fn join_returns_the_outcomes_in_spawn_order_whatever_order_they_finish_in() {
    let mut event_loop = EventLoop::new().unwrap();
    let outcomes = event_loop.block_on(async {
        let group = TaskGroup::new();
        for (value, delay) in [(1, 6), (2, 0), (3, 3)] {
            group.spawn(async move {
                sleep(Duration::from_millis(delay)).await;
                value
            });
        }
        group.join().await
    });
    let values: Vec<i32> = outcomes.into_iter().map(Result::unwrap).collect();
    assert_eq!(values, [1, 2, 3]);
}

#[test]
fn join_next_returns_the_outcomes_in_the_order_the_children_finish() {
    let mut event_loop = EventLoop::new().unwrap();
    let order = event_loop.block_on(async {
        let mut group = TaskGroup::new();
        for (value, yields) in [("third", 3), ("first", 0), ("second", 1)] {
            group.spawn(async move {
                for _ in 0..yields {
                    yield_now().await;
                }
                value
            });
        }
        let mut order = Vec::new();
        while let Some(outcome) = group.join_next().await {
            order.push(outcome.unwrap());
        }
        assert!(group.is_empty());
        order
    });
    assert_eq!(order, ["first", "second", "third"]);
}

#[test]
fn a_panicking_child_soft_cancels_its_siblings_and_join_reports_the_panic() {
    let mut event_loop = EventLoop::new().unwrap();
    let trace = Trace::new();
    let t = trace.clone();
    let outcomes = event_loop.block_on(async move {
        let group = TaskGroup::with_grace(BOUND);
        let sibling = t.clone();
        group.spawn(async move {
            cancelled().await;
            sibling.push("sibling heard the cancel");
            sleep(Duration::from_millis(2)).await; // it may clean up asynchronously
            sibling.push("sibling cleaned up");
            "clean"
        });
        group.spawn(async {
            yield_now().await;
            panic!("child failed")
        });
        group.join().await
    });
    trace.assert(&["sibling heard the cancel", "sibling cleaned up"]);
    assert_eq!(outcomes[0].as_ref().unwrap(), &"clean");
    assert_eq!(
        outcomes[1].as_ref().unwrap_err().panic_message(),
        Some("child failed")
    );
}

#[test]
fn a_sibling_that_ignores_the_cancel_is_aborted_after_the_grace() {
    let mut event_loop = EventLoop::new().unwrap();
    let (guard, dropped) = drop_guard();
    let start = Instant::now();
    let outcomes = event_loop.block_on(async move {
        let group = TaskGroup::with_grace(GRACE);
        group.spawn(async move {
            let _guard = guard;
            pending::<()>().await;
        });
        group.spawn(async { panic!("child failed") });
        group.join().await
    });
    let took = start.elapsed();
    assert!(dropped.is_dropped());
    assert!(outcomes[0].as_ref().unwrap_err().is_cancelled());
    assert!(outcomes[1].as_ref().unwrap_err().is_panic());
    assert!(took >= GRACE && took < GRACE + BOUND, "{took:?}");
}

#[test]
fn dropping_the_group_aborts_every_child_still_running() {
    let mut event_loop = EventLoop::new().unwrap();
    let (first, first_dropped) = drop_guard();
    let (second, second_dropped) = drop_guard();
    event_loop.block_on(async move {
        let group = TaskGroup::new();
        group.spawn(async move {
            let _guard = first;
            pending::<()>().await;
        });
        group.spawn(async move {
            let _guard = second;
            pending::<()>().await;
        });
        yield_now().await; // both are running
        drop(group);
    });
    assert!(first_dropped.is_dropped() && second_dropped.is_dropped());
    assert_eq!(event_loop.metrics().tasks_alive, 0, "no orphans");
}

#[test]
fn aborting_the_task_that_awaits_join_aborts_every_child() {
    let mut event_loop = EventLoop::new().unwrap();
    let (guard, dropped) = drop_guard();
    let parent = event_loop.spawn(joining_a_child_that_never_ends(guard));
    event_loop.run_until_stalled();
    assert!(!dropped.is_dropped());
    parent.abort();
    assert!(dropped.is_dropped(), "the child went with its joiner");
    assert!(event_loop.block_on(parent).unwrap_err().is_cancelled());
}

#[test]
fn a_child_may_spawn_into_its_own_group_and_join_waits_for_it_too() {
    let mut event_loop = EventLoop::new().unwrap();
    let outcomes = event_loop.block_on(async {
        let group = TaskGroup::new();
        let spawner = group.spawner();
        group.spawn(async move {
            yield_now().await;
            assert!(spawner.spawn(async {
                sleep(Duration::from_millis(2)).await;
                "grandchild"
            }));
            "child"
        });
        group.join().await
    });
    let values: Vec<&str> = outcomes.into_iter().map(Result::unwrap).collect();
    assert_eq!(values, ["child", "grandchild"]);
}

#[test]
fn a_spawner_outliving_its_group_spawns_nothing_and_drops_the_future() {
    let mut event_loop = EventLoop::new().unwrap();
    let (guard, dropped) = drop_guard();
    let spawned = event_loop.block_on(async move {
        let group = TaskGroup::<()>::new();
        group.spawn(async {});
        let spawner = group.spawner();
        drop(group);
        spawner.spawn(async move { drop(guard) })
    });
    assert!(!spawned);
    assert!(dropped.is_dropped());
}

#[test]
fn cancel_asks_every_child_to_stop_and_a_child_spawned_later_starts_cancelled() {
    let mut event_loop = EventLoop::new().unwrap();
    let outcomes = event_loop.block_on(async {
        let group = TaskGroup::new();
        group.spawn(async {
            cancelled().await;
            "stopped"
        });
        group.cancel();
        group.cancel(); // harmless
        group.spawn(async {
            if looplet::is_cancelled() {
                "born cancelled"
            } else {
                "no"
            }
        });
        group.join().await
    });
    let values: Vec<&str> = outcomes.into_iter().map(Result::unwrap).collect();
    assert_eq!(values, ["stopped", "born cancelled"]);
}

#[test]
fn try_join_returns_the_outputs_in_spawn_order_when_all_succeed() {
    let mut event_loop = EventLoop::new().unwrap();
    let outcome = event_loop.block_on(async {
        let group = TaskGroup::new();
        group.spawn(async {
            yield_now().await;
            Ok::<_, String>(1)
        });
        group.spawn(async { Ok(2) });
        group.try_join().await
    });
    assert_eq!(outcome.unwrap(), [1, 2]);
}

#[test]
fn try_join_returns_the_first_err_after_cancelling_and_waiting_for_the_others() {
    let mut event_loop = EventLoop::new().unwrap();
    let trace = Trace::new();
    let t = trace.clone();
    let outcome = event_loop.block_on(async move {
        let group = TaskGroup::with_grace(BOUND);
        group.spawn(async move {
            cancelled().await;
            t.push("the other child cleaned up");
            Ok(0)
        });
        group.spawn(async {
            yield_now().await;
            Err("no route")
        });
        group.try_join().await
    });
    assert!(
        matches!(outcome, Err(GroupError::Failed("no route"))),
        "{outcome:?}"
    );
    trace.assert(&["the other child cleaned up"]);
}

#[test]
fn try_join_reports_a_panicking_child_as_a_join_error() {
    let mut event_loop = EventLoop::new().unwrap();
    let outcome = event_loop.block_on(async {
        let group = TaskGroup::<Result<u8, String>>::new();
        group.spawn(async { panic!("bug") });
        group.try_join().await
    });
    match outcome {
        Err(GroupError::Join(error)) => assert_eq!(error.panic_message(), Some("bug")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_empty_group_joins_at_once() {
    let mut event_loop = EventLoop::new().unwrap();
    let outcomes = event_loop.block_on(TaskGroup::<u8>::new().join());
    assert!(outcomes.is_empty());
}

#[test]
fn the_loop_dropped_with_a_group_inside_drops_every_child() {
    let mut event_loop = EventLoop::new().unwrap();
    let (guard, dropped) = drop_guard();
    let _parent = event_loop.spawn(joining_a_child_that_never_ends(guard));
    event_loop.run_until_stalled();
    drop(event_loop);
    assert!(dropped.is_dropped());
}

#[test]
fn spawning_into_a_group_outside_a_loop_panics_with_advice() {
    let group = TaskGroup::new();
    let message = expect_panic(|| group.spawn(async {}));
    assert!(message.contains("TaskGroup::spawn"), "{message}");
    assert!(message.contains("block_on"), "{message}");
}

#[test]
fn the_grace_timer_ends_once_every_child_is_collected() {
    let mut event_loop = EventLoop::new().unwrap();
    event_loop.block_on(async {
        let group = TaskGroup::with_grace(Duration::from_secs(3600));
        group.spawn(async {
            cancelled().await;
        });
        group.cancel();
        group.join().await
    });
    event_loop.run_until_stalled();
    assert_eq!(
        event_loop.next_deadline(),
        None,
        "no hour-long timer left behind"
    );
    assert_eq!(event_loop.metrics().tasks_alive, 0);
}
