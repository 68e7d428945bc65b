//! looplet inside a real calloop event loop, through its fd and
//! `host_timeout` (see `host.rs` for the integration itself).
//!
//! Run it with `cargo run --release --example calloop`. calloop runs a
//! 60 Hz "redraw" timer of its own; looplet runs a task that sleeps in
//! steps, and a worker thread submits tasks to looplet from outside. At the
//! end it prints how often calloop woke: a host that busy-polled would
//! dispatch thousands of times a second.

mod host;

use calloop::timer::{TimeoutAction, Timer};
use host::Host;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn main() -> std::io::Result<()> {
    let mut calloop: calloop::EventLoop<'static, Host> =
        calloop::EventLoop::try_new().map_err(|e| std::io::Error::other(e.to_string()))?;
    let mut host = Host {
        looplet: looplet::EventLoop::builder().name("in-calloop").build()?,
        dispatches: 0,
        looplet_calls: 0,
    };
    host::insert_looplet(&calloop.handle(), &host)?;

    // calloop's own work: a 60 Hz redraw.
    let redraws = std::rc::Rc::new(std::cell::Cell::new(0_u32));
    let counter = std::rc::Rc::clone(&redraws);
    calloop
        .handle()
        .insert_source(Timer::immediate(), move |_, _, _| {
            counter.set(counter.get() + 1);
            TimeoutAction::ToDuration(Duration::from_micros(16_667))
        })
        .map_err(|e| std::io::Error::other(e.to_string()))?;

    // looplet's work: a task with timers, and submissions from a worker.
    let start = Instant::now();
    let steps = host.looplet.spawn(async move {
        let mut lateness = Duration::ZERO;
        for _ in 0..10 {
            let due = Instant::now() + Duration::from_millis(50);
            looplet::sleep(Duration::from_millis(50)).await;
            lateness = lateness.max(Instant::now() - due);
        }
        lateness
    });
    let handle = host.looplet.handle();
    let worker_done = Arc::new(AtomicBool::new(false));
    let finished = Arc::clone(&worker_done);
    let worker = std::thread::spawn(move || {
        let mut latencies = Vec::new();
        for _ in 0..20 {
            std::thread::sleep(Duration::from_millis(20));
            let sent = Instant::now();
            let remote = handle.spawn(async move { sent.elapsed() });
            if let Some(Ok(latency)) = remote.wait_timeout(Duration::from_secs(5)) {
                latencies.push(latency);
            }
        }
        finished.store(true, Ordering::Release);
        handle.call_soon_threadsafe(|| ()).ok(); // wake the host to see it
        latencies
    });

    host::run_until(&mut calloop, &mut host, Duration::from_secs(5), |_host| {
        steps.is_finished() && worker_done.load(Ordering::Acquire)
    })?;
    let latencies = worker.join().expect("the worker panicked");
    let lateness = host
        .looplet
        .block_on(steps)
        .expect("the looplet task finished");
    let elapsed = start.elapsed();
    println!("ran {elapsed:.2?} inside calloop");
    println!(
        "calloop dispatched {} times ({:.0} per second), looplet ran {} times, {} redraws",
        host.dispatches,
        host.dispatches as f64 / elapsed.as_secs_f64(),
        host.looplet_calls,
        redraws.get()
    );
    println!(
        "20 remote submissions from a worker: all {} ran, worst latency {:.1?}",
        latencies.len(),
        latencies.iter().max().copied().unwrap_or_default()
    );
    println!("looplet timers (10 × 50 ms): worst lateness {lateness:.1?}");
    Ok(())
}
