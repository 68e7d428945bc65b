//! A fixed-timestep 60 Hz game loop that gives looplet the spare time of
//! each frame.
//!
//! Run it with `cargo run --release --example game_loop`. It plays two
//! seconds of a pretend game:
//!
//! - the **host** owns the thread: each frame it simulates, gives looplet
//!   what is left of the frame (minus a margin for rendering) with
//!   `run_for`, "renders", and waits for the next frame; while it waits it
//!   still serves looplet, woken by its wake hook (a worker's result) or at
//!   its `next_deadline` (a timer), so nothing waits a whole frame;
//! - **worker threads** load assets and post the results into the loop.
//!   The game's state lives in an `Rc<RefCell<World>>` on the loop thread,
//!   which a `Send` closure (`call_soon_threadsafe`) cannot touch: the
//!   idiomatic answer is a channel whose receiving end a loop task owns (a
//!   `futures` channel here; its waker wakes the loop through the injector);
//! - an **`interval`** spawns an enemy wave every 250 ms;
//! - one task is badly written (it blocks the loop for 3 ms): the slow-poll
//!   report names it and its spawn site;
//! - at the end: time spent in looplet per frame (p50, p99, max), frames
//!   late, tasks polled, slow polls, and the live tasks as a debug overlay
//!   would list them.

use futures::channel::mpsc;
use futures::StreamExt;
use looplet::{EventLoop, TaskState};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

const FRAME: Duration = Duration::from_micros(16_667);
const FRAMES: u32 = 120;
/// What each frame keeps for itself after looplet's share: rendering.
const RENDER: Duration = Duration::from_millis(3);
/// The pretend simulation step.
const SIMULATE: Duration = Duration::from_millis(6);

/// The game's state: loop-thread only (`Rc`, not `Arc`).
#[derive(Default)]
struct World {
    assets_loaded: Vec<String>,
    enemy_waves: u32,
}

fn main() -> std::io::Result<()> {
    // The wake hook: how a worker's submission interrupts the host's wait.
    let (wake, woken) = std_mpsc::channel::<()>();
    let mut event_loop = EventLoop::builder()
        .name("game")
        .wake_hook(move || {
            let _ = wake.send(());
        })
        .slow_poll_threshold(Duration::from_millis(2))
        .on_slow_poll(|slow| println!("  [jank] {slow}"))
        .track_tasks(true)
        .build()?;
    let world = Rc::new(RefCell::new(World::default()));

    // Workers post results into a channel; a loop task owns the receiver
    // and the world.
    let (results, mut incoming) = mpsc::unbounded::<String>();
    let w = Rc::clone(&world);
    let _assets = event_loop.spawn_named("asset inbox", async move {
        while let Some(asset) = incoming.next().await {
            w.borrow_mut().assets_loaded.push(asset);
        }
    });
    let workers: Vec<_> = (0..2)
        .map(|worker| {
            let results = results.clone();
            std::thread::spawn(move || {
                for i in 0..5 {
                    std::thread::sleep(Duration::from_millis(90 + 40 * worker));
                    let _ = results.unbounded_send(format!("texture-{worker}-{i}"));
                }
            })
        })
        .collect();
    drop(results); // the inbox task ends when both workers are done

    // Game events on a timer.
    let w = Rc::clone(&world);
    let _waves = event_loop.spawn_named("enemy waves", async move {
        let mut every = looplet::interval(Duration::from_millis(250));
        loop {
            every.tick().await;
            w.borrow_mut().enemy_waves += 1;
        }
    });

    // A bug on purpose: 3 ms of blocking work on the loop thread.
    let _pathfinding = event_loop.spawn_named("pathfinding", async {
        looplet::sleep(Duration::from_millis(500)).await;
        busy_for(Duration::from_millis(3)); // should have been spawn_blocking
    });

    let mut in_looplet = Vec::with_capacity(FRAMES as usize);
    let mut frames_late = 0;
    let mut served_between_frames = 0;
    let mut in_looplet_between_frames = Duration::ZERO;
    let start = Instant::now();
    let mut frame_start = start;
    for _ in 0..FRAMES {
        busy_for(SIMULATE);
        // looplet gets what is left of the frame, keeping RENDER for the renderer.
        let share = (frame_start + FRAME)
            .saturating_duration_since(Instant::now())
            .saturating_sub(RENDER);
        let before = Instant::now();
        event_loop.run_for(share);
        in_looplet.push(before.elapsed());
        busy_for(Duration::from_millis(1)); // render
        let next_frame = frame_start + FRAME;
        if Instant::now() > next_frame {
            frames_late += 1;
            frame_start = Instant::now(); // drop the lost time rather than rush
            continue;
        }
        // Wait for the next frame, serving looplet meanwhile: sleep until
        // the frame, its next timer, or a wake, whichever comes first.
        loop {
            let now = Instant::now();
            if now >= next_frame {
                break;
            }
            let until = event_loop
                .next_deadline()
                .map_or(next_frame, |at| at.min(next_frame));
            let _ = woken.recv_timeout(until.saturating_duration_since(now));
            let before = Instant::now();
            if !event_loop.run_for(Duration::from_millis(1)).is_idle() {
                served_between_frames += 1;
                in_looplet_between_frames += before.elapsed();
            }
        }
        frame_start = next_frame;
    }
    for worker in workers {
        worker.join().expect("a worker panicked");
    }

    in_looplet.sort();
    let at = |q: f64| in_looplet[((in_looplet.len() - 1) as f64 * q) as usize];
    let metrics = event_loop.metrics();
    let world = world.borrow();
    println!("{FRAMES} frames of 16.7 ms in {:.2?}", start.elapsed());
    println!(
        "time in looplet per frame: p50 {:.1?}, p99 {:.1?}, max {:.1?}",
        at(0.5),
        at(0.99),
        in_looplet[in_looplet.len() - 1]
    );
    println!("frames late: {frames_late}");
    println!(
        "served between frames (a wake or a timer): {served_between_frames} times, {:.1?} in all",
        in_looplet_between_frames
    );
    println!(
        "tasks polled: {}, slow polls: {}, wakes from other threads: {} ({} wake syscalls)",
        metrics.polls, metrics.slow_polls, metrics.remote_wakes, metrics.wake_syscalls
    );
    println!(
        "world: {} assets loaded, {} enemy waves",
        world.assets_loaded.len(),
        world.enemy_waves
    );
    println!("live tasks (a debug overlay's view):");
    for task in event_loop.tasks() {
        let state = match task.state {
            TaskState::Queued => "queued",
            TaskState::Waiting => "waiting",
            TaskState::Finished => "finished",
        };
        println!(
            "  {:<12} {:<8} {:>3} polls, last {:>8.1?} ago, spawned at {}",
            task.name.as_deref().unwrap_or("?"),
            state,
            task.polls,
            task.since_last_poll.unwrap_or_default(),
            task.spawned_at.map_or("?".to_string(), |at| at.to_string()),
        );
    }
    Ok(())
}

/// Pretend work: keeps the thread busy for `duration`.
fn busy_for(duration: Duration) {
    let end = Instant::now() + duration;
    while Instant::now() < end {
        std::hint::spin_loop();
    }
}
