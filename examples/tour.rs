//! A live tour of looplet: the loop, and the pitfalls it answers.
//!
//! Run it with `cargo run --release --example tour`. Every number printed is
//! measured now, on this machine, from the loop's own `Metrics`.

use looplet::{sleep, EventLoop, JoinError, Metrics};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn main() -> std::io::Result<()> {
    println!("looplet tour: a single-threaded event loop, one stop at a time\n");
    stop_1_the_loop()?;
    stop_2_call_soon_vs_threadsafe()?;
    stop_3_remote_spawn()?;
    stop_4_remote_always_completes()?;
    stop_5_join_errors_are_values()?;
    stop_6_cancel_and_wait()?;
    stop_7_blocking_work_that_can_be_told_to_stop()?;
    stop_8_embedding_time_and_jank()?;
    stop_9_sockets_on_the_same_poll()?;
    println!("\nHow fast, against tokio and the peers: `cargo run --release -p looplet-bench`");
    println!("prints the table (about two minutes); the last run is in docs/08-benchmarks.md.");
    println!("\nNext: read README.md, then docs/01-architecture.md.");
    Ok(())
}

fn header(title: &str) {
    println!(
        "── {title} {}",
        "─".repeat(66usize.saturating_sub(title.len()))
    );
}

fn delta(before: &Metrics, after: &Metrics) -> (u64, u64) {
    (
        after.wake_syscalls - before.wake_syscalls,
        after.sleeps - before.sleeps,
    )
}

/// Tasks, timers and the turn.
fn stop_1_the_loop() -> std::io::Result<()> {
    header("1. The loop: tasks, timers, turns");
    let mut event_loop = EventLoop::new()?;
    let start = Instant::now();
    let order = Rc::new(RefCell::new(Vec::new()));
    for (name, ms) in [("slow", 30u64), ("fast", 10), ("medium", 20)] {
        let order = Rc::clone(&order);
        let _detached = event_loop.spawn(async move {
            sleep(Duration::from_millis(ms)).await;
            order
                .borrow_mut()
                .push(format!("{name} ({} ms)", start.elapsed().as_millis()));
        });
    }
    let answer = event_loop.block_on(async {
        let child = looplet::spawn(async { 6 * 7 });
        sleep(Duration::from_millis(40)).await;
        child.await.unwrap()
    });
    let m = event_loop.metrics();
    println!("  three tasks slept 30, 10 and 20 ms; they woke in deadline order:");
    println!("    {}", order.borrow().join(", "));
    println!("  block_on returned {answer} (a child task's output, via its JoinHandle)");
    println!(
        "  the loop took {} turns, polled {} times, and slept in epoll {} times (no busy-waiting)\n",
        m.turns, m.polls, m.sleeps
    );
    Ok(())
}

/// Pitfall P2: call_soon vs call_soon_threadsafe.
fn stop_2_call_soon_vs_threadsafe() -> std::io::Result<()> {
    header("2. call_soon vs call_soon_threadsafe (pitfall P2)");
    println!("  asyncio: loop.call_soon() from another thread enqueues but never wakes a");
    println!("  sleeping loop, so the callback may wait forever. looplet: call_soon exists");
    println!("  only on the loop thread (EventLoop is !Send: misuse does not compile), and");
    println!("  Handle::call_soon_threadsafe queues *and* wakes, with the wake syscall made");
    println!("  only when the loop is actually asleep.\n");

    let mut event_loop = EventLoop::new()?;
    let ran = Rc::new(Cell::new(0u32));
    let before = event_loop.metrics();
    for _ in 0..10_000 {
        let ran = Rc::clone(&ran);
        event_loop.call_soon(move || ran.set(ran.get() + 1));
    }
    event_loop.run_until_stalled();
    let (syscalls, _) = delta(&before, &event_loop.metrics());
    println!(
        "  10,000 call_soon on the loop thread      → {} ran, {syscalls} wake syscalls",
        ran.get()
    );

    // A sleeping loop: one submission, one wake.
    let handle = event_loop.handle();
    let (done_tx, done_rx) = mpsc::channel();
    let before = event_loop.metrics();
    let producer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20)); // let the loop fall asleep
        let sent = Instant::now();
        handle
            .call_soon_threadsafe(move || done_tx.send(sent.elapsed()).unwrap())
            .unwrap();
    });
    event_loop.turn(Some(Duration::from_secs(5)));
    producer.join().unwrap();
    let latency = done_rx.recv_timeout(Duration::from_secs(5)).unwrap();
    let (syscalls, sleeps) = delta(&before, &event_loop.metrics());
    println!(
        "  1 call_soon_threadsafe to a sleeping loop → ran after {} µs, {syscalls} wake syscall, {sleeps} sleep",
        latency.as_micros()
    );

    // A busy loop: a burst from 4 threads while a task keeps the loop awake.
    let producers = 4;
    let per_producer = 50_000;
    let total = producers * per_producer;
    let counter = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let handle = event_loop.handle();
    let before = event_loop.metrics();
    let started = std::sync::Arc::new(std::sync::Barrier::new(producers + 1));
    let threads: Vec<_> = (0..producers)
        .map(|_| {
            let handle = handle.clone();
            let counter = std::sync::Arc::clone(&counter);
            let started = std::sync::Arc::clone(&started);
            std::thread::spawn(move || {
                started.wait();
                for _ in 0..per_producer {
                    let counter = std::sync::Arc::clone(&counter);
                    handle
                        .call_soon_threadsafe(move || {
                            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        })
                        .unwrap();
                }
            })
        })
        .collect();
    let busy_counter = std::sync::Arc::clone(&counter);
    let t0 = Instant::now();
    event_loop.block_on(async move {
        started.wait();
        // The loop stays busy (yielding) until every callback has run.
        while busy_counter.load(std::sync::atomic::Ordering::Relaxed) < total {
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "tour: burst did not finish"
            );
            looplet::yield_now().await;
        }
    });
    for t in threads {
        t.join().unwrap();
    }
    let (syscalls, _) = delta(&before, &event_loop.metrics());
    println!(
        "  {total} call_soon_threadsafe from {producers} threads, loop busy → all ran, {syscalls} wake syscalls ({:.4} per call; asyncio and tokio: 1.0)\n",
        syscalls as f64 / total as f64
    );
    Ok(())
}

/// A remote spawn awaited from a foreign thread.
fn stop_3_remote_spawn() -> std::io::Result<()> {
    header("3. Remote spawn: submit from a worker thread, wait there");
    let mut event_loop = EventLoop::new()?;
    let handle = event_loop.handle();
    let worker = std::thread::spawn(move || {
        let t0 = Instant::now();
        let remote = handle.spawn(async {
            sleep(Duration::from_millis(5)).await;
            "computed on the loop thread"
        });
        let outcome = remote.wait_timeout(Duration::from_secs(5));
        handle.stop();
        (outcome, t0.elapsed())
    });
    event_loop.run();
    let (outcome, took) = worker.join().unwrap();
    println!(
        "  worker: handle.spawn(..).wait_timeout(5 s) → {:?} after {:.1} ms\n",
        outcome.expect("resolved"),
        took.as_secs_f64() * 1e3
    );
    Ok(())
}

/// Pitfall P1: a remote submission always completes.
fn stop_4_remote_always_completes() -> std::io::Result<()> {
    header("4. A remote submission always completes (pitfall P1)");
    println!("  asyncio: if the coroutine given to run_coroutine_threadsafe raises");
    println!("  SystemExit, the caller's future is never completed: result() hangs.");
    println!("  looplet: the completer resolves the RemoteHandle in its Drop, on every path.\n");
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));

    let mut event_loop = EventLoop::new()?;
    let handle = event_loop.handle();
    let (tx, rx) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        let t0 = Instant::now();
        let outcome = handle
            .spawn(async { panic!("SystemExit-like failure") })
            .wait_timeout(Duration::from_secs(5));
        tx.send(()).unwrap();
        (outcome, t0.elapsed())
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    while rx.try_recv().is_err() && Instant::now() < deadline {
        event_loop.turn(Some(Duration::from_millis(10)));
    }
    let (outcome, took) = worker.join().unwrap();
    println!(
        "  a panicking remote task → {:?} after {} µs; the loop keeps running",
        outcome.expect("resolved"),
        took.as_micros()
    );

    // A pending task whose loop is dropped.
    let handle = event_loop.handle();
    let (submitted_tx, submitted_rx) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        let remote = handle.spawn(std::future::pending::<()>());
        submitted_tx.send(()).unwrap();
        let outcome = remote.wait_timeout(Duration::from_secs(5));
        (outcome, Instant::now())
    });
    submitted_rx.recv_timeout(Duration::from_secs(5)).unwrap();
    event_loop.run_until_stalled(); // the task starts and waits forever…
    let dropped_at = Instant::now();
    drop(event_loop); // …until its loop is dropped
    let (outcome, resolved_at) = worker.join().unwrap();
    println!(
        "  a pending remote task whose loop is dropped → {:?}, {} µs after the drop began",
        outcome.expect("resolved"),
        resolved_at
            .saturating_duration_since(dropped_at)
            .as_micros()
    );
    let handle = EventLoop::new()?.handle(); // a loop that is gone at once
    let late = handle.spawn(async { 1 });
    println!(
        "  a submission after the loop closed → {:?} at once\n",
        late.wait_timeout(Duration::ZERO).expect("resolved at once")
    );
    std::panic::set_hook(quiet);
    Ok(())
}

/// Pitfall P4 (its foundation): a handle's outcome is a value.
fn stop_5_join_errors_are_values() -> std::io::Result<()> {
    header("5. Join errors are values (the ground for pitfall P4)");
    println!("  asyncio: after task.cancel(); await task, a CancelledError may be the");
    println!("  target's or the waiter's own. looplet: awaiting a JoinHandle yields");
    println!("  Result<T, JoinError> as a value; the waiter's own cancellation is a drop.\n");
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut event_loop = EventLoop::new()?;
    let target_finished = Rc::new(Cell::new(false));
    let flag = Rc::clone(&target_finished);
    let report = event_loop.block_on(async move {
        let target = looplet::spawn(std::future::pending::<()>());
        target.abort();
        let aborted: Result<(), JoinError> = target.await;
        let panicked = looplet::spawn(async { panic!("boom") }).await;
        let waiter = looplet::spawn(async {
            let target = looplet::spawn(async move {
                sleep(Duration::from_millis(5)).await;
                flag.set(true);
            });
            target.await
        });
        looplet::yield_now().await; // let the waiter start awaiting its target
        waiter.abort(); // cancel the *waiter*: its target is unaffected
        let waiter_outcome = waiter.await;
        sleep(Duration::from_millis(10)).await;
        (aborted, panicked.map(|_: ()| ()), waiter_outcome)
    });
    std::panic::set_hook(quiet);
    println!("  await an aborted task         → {:?}", report.0);
    println!("  await a panicking task        → {:?}", report.1);
    println!(
        "  abort the waiter, not target  → waiter: {:?}; target still ran to the end: {}",
        report.2.map(|r| r.ok()),
        target_finished.get()
    );
    println!(
        "  loop still healthy: {} panics caught, {} tasks alive",
        event_loop.metrics().panics,
        event_loop.metrics().tasks_alive
    );
    println!();
    Ok(())
}

/// Pitfall P4: soft cancellation, async cleanup, and cancel_and_wait.
fn stop_6_cancel_and_wait() -> std::io::Result<()> {
    header("6. cancel_and_wait: async cleanup, then a deadline (pitfall P4)");
    println!("  asyncio has no cancel_and_wait, and Rust's drop cannot .await. looplet's");
    println!("  JoinHandle::cancel asks; the task hears it in looplet::cancelled(), cleans up");
    println!("  (with .await), and returns; cancel_and_wait(grace) aborts it if it does not.\n");
    let mut event_loop = EventLoop::new()?;
    let start = Instant::now();
    let at = move || start.elapsed().as_secs_f64() * 1000.0;
    let steps = Rc::new(RefCell::new(Vec::new()));
    let log = Rc::clone(&steps);
    let polite = event_loop.spawn(async move {
        looplet::cancelled().await;
        log.borrow_mut()
            .push(format!("{:6.2} ms  the task hears the cancel", at()));
        sleep(Duration::from_millis(5)).await; // say goodbye, flush a file…
        log.borrow_mut()
            .push(format!("{:6.2} ms  its async cleanup is done", at()));
        "goodbye sent"
    });
    let stubborn = event_loop.spawn(std::future::pending::<&str>());
    let log = Rc::clone(&steps);
    event_loop.block_on(async move {
        log.borrow_mut().push(format!(
            "{:6.2} ms  cancel_and_wait(1 s) on a polite task",
            at()
        ));
        let outcome = polite.cancel_and_wait(Duration::from_secs(1)).await;
        log.borrow_mut()
            .push(format!("{:6.2} ms  it returned {outcome:?}", at()));
        log.borrow_mut().push(format!(
            "{:6.2} ms  cancel_and_wait(20 ms) on one that never looks",
            at()
        ));
        let outcome = stubborn.cancel_and_wait(Duration::from_millis(20)).await;
        log.borrow_mut().push(format!(
            "{:6.2} ms  aborted after the grace: {outcome:?}",
            at()
        ));
    });
    for step in steps.borrow().iter() {
        println!("  {step}");
    }
    println!("  (the waiter's own cancellation would be its own: is_cancelled() in the waiter)\n");
    Ok(())
}

/// Pitfall P3: blocking work on the pool, told to stop through its token.
fn stop_7_blocking_work_that_can_be_told_to_stop() -> std::io::Result<()> {
    header("7. Blocking work that can be told to stop (pitfall P3)");
    println!("  asyncio: cancelling a task that awaits to_thread(f) cancels the task, but");
    println!("  the thread runs on: nothing can kill it, nothing tells f to stop, and at");
    println!("  exit asyncio.run waits for it. looplet: spawn_blocking hands every job a");
    println!("  CancelToken; a job sleeps in token.wait_timeout, which a cancel ends at once;");
    println!("  a shutdown waits a bounded time, then names the jobs still running.\n");
    let mut event_loop = EventLoop::new()?;
    let quick = event_loop.spawn_blocking(|_token| (1..=1000_u64).sum::<u64>());
    println!(
        "  a quick job, (1..=1000).sum() on a pool thread → {:?}",
        event_loop.block_on(quick)
    );

    let (started, job_started) = mpsc::channel();
    let (returned, job_returned) = mpsc::channel();
    let task = event_loop.spawn(async move {
        looplet::spawn_blocking(move |token| {
            started.send(()).unwrap();
            while !token.wait_timeout(Duration::from_secs(1)) {} // poll a device, pause 1 s…
            returned.send(Instant::now()).unwrap();
            "stopped when told"
        })
        .await
    });
    event_loop.run_until_stalled(); // the task submits its job…
    job_started.recv_timeout(Duration::from_secs(5)).unwrap(); // …and a pool thread runs it
    let cancelled_at = Instant::now();
    task.cancel(); // soft-cancel the *task*; its await on the BlockingHandle passes it on
    let outcome = event_loop.block_on(task).expect("the task ends by itself");
    let returned_at = job_returned.recv_timeout(Duration::from_secs(5)).unwrap();
    println!(
        "  an endless job, while !token.wait_timeout(1 s) {{}}, awaited by a task; task.cancel():"
    );
    println!(
        "    the job's thread returned {} µs after the cancel (not up to 1 s later)",
        returned_at
            .saturating_duration_since(cancelled_at)
            .as_micros()
    );
    println!("    and the task returned the job's own value: {outcome:?}");

    // One pool thread: a job that never looks at its token, and one queued behind it.
    let mut event_loop = EventLoop::builder().blocking_threads(1).build()?;
    let (started, job_started) = mpsc::channel();
    let (release, released) = mpsc::channel::<()>();
    let stubborn = event_loop.spawn_blocking_named("stubborn", move |_token| {
        started.send(()).unwrap();
        let _ = released.recv(); // a blocking read that knows nothing of tokens
        "done at last"
    });
    let queued = event_loop.spawn_blocking_named("queued", |_token| "never runs");
    job_started.recv_timeout(Duration::from_secs(5)).unwrap();
    let report = event_loop.shutdown_blocking(Duration::from_millis(50));
    println!("  a job that ignores its token, one queued behind it (one pool thread);");
    println!("  shutdown_blocking(50 ms) cancels both, waits 50 ms, and reports:");
    for line in report.to_string().lines() {
        println!("    {line}");
    }
    release.send(()).unwrap(); // what the stubborn job was waiting for arrives
    println!(
        "  the queued job → {:?}; the stubborn one ran on, and when released → {:?}",
        event_loop.block_on(queued),
        event_loop.block_on(stubborn)
    );
    Ok(())
}

/// Embedding: a manual clock, timers to the microsecond, jank reports.
fn stop_8_embedding_time_and_jank() -> std::io::Result<()> {
    header("8. In a host's loop: time you control, timers on time, jank named");
    println!("  A game or a test decides what time it is; a frame cannot afford a timer");
    println!("  that fires a millisecond late; a task that blocks the loop must be named.\n");

    let clock = looplet::Clock::manual();
    clock.auto_advance(true);
    let mut event_loop = EventLoop::builder().clock(clock.clone()).build()?;
    let (clock_start, real_start) = (clock.now(), Instant::now());
    event_loop.block_on(async {
        sleep(Duration::from_secs(3600)).await; // an hour-long cooldown, say
    });
    println!(
        "  a manual clock with auto-advance: sleep(1 h) took {:.1?} on the loop's clock, {:.2?} real",
        clock.now() - clock_start,
        real_start.elapsed()
    );

    let mut event_loop = EventLoop::new()?;
    let mut late = Vec::new();
    for _ in 0..50 {
        let due = Instant::now() + Duration::from_micros(250);
        event_loop.block_on(sleep(Duration::from_micros(250)));
        late.push(Instant::now().saturating_duration_since(due));
    }
    late.sort();
    println!(
        "  50 sleeps of 250 µs (epoll_wait alone would take ≥ 1 ms each): lateness p50 {:.0?}, max {:.0?}",
        late[late.len() / 2],
        late[late.len() - 1]
    );

    let reports = Rc::new(RefCell::new(Vec::new()));
    let seen = Rc::clone(&reports);
    let mut event_loop = EventLoop::builder()
        .slow_poll_threshold(Duration::from_millis(2))
        .on_slow_poll(move |slow| seen.borrow_mut().push(slow.to_string()))
        .build()?;
    let hog = event_loop.spawn_named("pathfinding", async {
        let end = Instant::now() + Duration::from_millis(3);
        while Instant::now() < end {} // blocks the loop: should be spawn_blocking
    });
    event_loop.block_on(hog).expect("it ends");
    println!(
        "  slow_poll_threshold(2 ms) reported: {}",
        reports.borrow()[0]
    );
    println!(
        "  (examples/game_loop.rs and examples/calloop/ drive looplet from real host loops.)\n"
    );
    Ok(())
}

/// I/O: sockets served from the same `mio::Poll` the loop sleeps on.
fn stop_9_sockets_on_the_same_poll() -> std::io::Result<()> {
    use futures::{AsyncReadExt, AsyncWriteExt};
    use looplet::net::{TcpListener, TcpStream};
    header("9. Sockets on the loop's own Poll");
    println!("  No reactor thread: the loop's epoll_wait that sleeps for timers and wakes");
    println!("  also reports the sockets, and wakes the tasks waiting on them.\n");
    let mut event_loop = EventLoop::new()?;
    let (round_trips, elapsed) = event_loop.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap())?;
        let addr = listener.local_addr()?;
        let _echo = looplet::spawn(async move {
            let (mut stream, _) = listener.accept().await?;
            let mut buf = [0; 64];
            loop {
                let n = stream.read(&mut buf).await?;
                if n == 0 {
                    return std::io::Result::Ok(());
                }
                stream.write_all(&buf[..n]).await?;
            }
        });
        let mut client = TcpStream::connect(addr).await?;
        client.set_nodelay(true)?;
        let start = Instant::now();
        let mut buf = [0; 64];
        for _ in 0..1_000 {
            client.write_all(&[1; 64]).await?;
            client.read_exact(&mut buf).await?;
        }
        std::io::Result::Ok((1_000, start.elapsed()))
    })?;
    println!(
        "  a TCP echo over loopback, server and client on one loop: {round_trips} round trips \
         of 64 B in {elapsed:.1?} ({:.1?} each)",
        elapsed / round_trips
    );
    println!(
        "  sleeps in epoll_wait meanwhile: {}\n",
        event_loop.metrics().sleeps
    );
    Ok(())
}
