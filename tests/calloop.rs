//! looplet inside a real calloop event loop, headless: the integration of
//! `examples/calloop/host.rs` (the same file), checked. Remote submissions
//! and looplet's timers run, and calloop does not busy-poll: it dispatches
//! about once per event, not thousands of times.

#[path = "../examples/calloop/host.rs"]
mod host;

use host::Host;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BOUND: Duration = Duration::from_secs(10);

fn calloop_with_looplet() -> (calloop::EventLoop<'static, Host>, Host) {
    let calloop = calloop::EventLoop::try_new().unwrap();
    let host = Host {
        looplet: looplet::EventLoop::new().unwrap(),
        dispatches: 0,
        looplet_calls: 0,
    };
    host::insert_looplet(&calloop.handle(), &host).unwrap();
    (calloop, host)
}

#[test]
fn remote_submissions_run_inside_calloop_without_busy_polling() {
    let (mut calloop, mut host) = calloop_with_looplet();
    let ran = Arc::new(AtomicUsize::new(0));
    let handle = host.looplet.handle();
    let counter = Arc::clone(&ran);
    const SUBMISSIONS: usize = 20;
    let worker = std::thread::spawn(move || {
        for _ in 0..SUBMISSIONS {
            std::thread::sleep(Duration::from_millis(5));
            let counter = Arc::clone(&counter);
            drop(handle.spawn(async move {
                counter.fetch_add(1, Ordering::SeqCst);
            }));
        }
    });
    host::run_until(&mut calloop, &mut host, BOUND, |_| {
        ran.load(Ordering::SeqCst) == SUBMISSIONS
    })
    .unwrap();
    worker.join().unwrap();
    assert_eq!(ran.load(Ordering::SeqCst), SUBMISSIONS);
    // One dispatch per submission, give or take a spurious one each: a
    // busy-polling host would count thousands in these ~100 ms.
    assert!(
        host.dispatches <= 3 * SUBMISSIONS as u64,
        "{} dispatches for {SUBMISSIONS} submissions",
        host.dispatches
    );
    assert!(host.looplet_calls >= 1);
}

#[test]
fn a_looplet_timer_wakes_calloop_on_time_and_the_fd_is_quiet_after() {
    let (mut calloop, mut host) = calloop_with_looplet();
    let napper = host.looplet.spawn(async {
        let start = Instant::now();
        looplet::sleep(Duration::from_millis(30)).await;
        start.elapsed()
    });
    host::run_until(&mut calloop, &mut host, BOUND, |_| napper.is_finished()).unwrap();
    let slept = host.looplet.block_on(napper).unwrap();
    assert!(slept >= Duration::from_millis(30));
    assert!(slept < BOUND);
    assert!(
        host.dispatches <= 4,
        "{} dispatches for one timer",
        host.dispatches
    );
    // Nothing pending: a dispatch now waits for its whole timeout.
    let calls_before = host.looplet_calls;
    let start = Instant::now();
    calloop
        .dispatch(Some(Duration::from_millis(20)), &mut host)
        .unwrap();
    assert!(
        start.elapsed() >= Duration::from_millis(20),
        "the fd stayed readable"
    );
    assert_eq!(
        host.looplet_calls, calls_before,
        "looplet was not run for nothing"
    );
}
