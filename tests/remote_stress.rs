//! Stress for P1: 8 producer threads submit to one loop (running `run()` on
//! its own thread) while, in half of the rounds, the loop is stopped and
//! dropped at a pseudo-random point. Every handle must resolve — `Ok` with
//! the right value, `Cancelled` or `LoopClosed` — and none may panic.
//!
//! Release: 8 × 100,000 submissions × 4 rounds; debug: 8 × 5,000 × 2.
//! Every wait is bounded.

mod remote_support;

use looplet::{JoinError, RemoteHandle};
use remote_support::*;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

const PRODUCERS: u64 = 8;
/// Every this-many-th submission is cancelled right after it is made.
const CANCEL_EVERY: u64 = 97;
/// Handles a producer keeps in flight before it waits for the oldest.
const IN_FLIGHT: usize = 8_192;

fn per_producer() -> u64 {
    if cfg!(debug_assertions) {
        5_000
    } else {
        100_000
    }
}

fn rounds() -> u64 {
    if cfg!(debug_assertions) {
        2
    } else {
        4
    }
}

/// The value task `(producer, seq)` must return: a wrong or swapped result
/// cannot match by accident.
fn expected(producer: u64, seq: u64) -> u64 {
    ((producer << 40) | seq).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5EED
}

/// xorshift64: a pseudo-random drop point without a `rand` dependency.
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> Self {
        XorShift(seed.wrapping_mul(0x2545_F491_4F6C_DD1D) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    submitted: u64,
    ok: u64,
    cancelled: u64,
    loop_closed: u64,
    panicked: u64,
    wrong: u64,
    longest_wait: Duration,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.submitted += other.submitted;
        self.ok += other.ok;
        self.cancelled += other.cancelled;
        self.loop_closed += other.loop_closed;
        self.panicked += other.panicked;
        self.wrong += other.wrong;
        self.longest_wait = self.longest_wait.max(other.longest_wait);
    }

    fn record(&mut self, producer: u64, seq: u64, task: RemoteHandle<u64>) {
        let started = Instant::now();
        let outcome = task.wait_timeout(WAIT).expect("handle never resolved");
        self.longest_wait = self.longest_wait.max(started.elapsed());
        match outcome {
            Ok(value) if value == expected(producer, seq) => self.ok += 1,
            Ok(_) => self.wrong += 1,
            Err(JoinError::Cancelled) => self.cancelled += 1,
            Err(JoinError::LoopClosed) => self.loop_closed += 1,
            Err(JoinError::Panicked(_)) => self.panicked += 1,
        }
    }
}

fn producer(
    producer: u64,
    handle: looplet::Handle,
    start: Arc<Barrier>,
    progress: Arc<AtomicU64>,
    stop_at: Option<u64>,
) -> Tally {
    let mut tally = Tally::default();
    let mut in_flight = VecDeque::with_capacity(IN_FLIGHT);
    start.wait();
    for seq in 0..per_producer() {
        let task = handle.spawn(async move {
            if seq % 3 == 0 {
                looplet::yield_now().await;
            }
            expected(producer, seq)
        });
        if seq % CANCEL_EVERY == 0 {
            task.abort();
        }
        tally.submitted += 1;
        // The producer making the `stop_at`-th submission stops the loop:
        // `run()` returns and the loop thread drops the loop while the
        // other producers keep submitting.
        if Some(progress.fetch_add(1, Relaxed) + 1) == stop_at {
            handle.stop();
        }
        in_flight.push_back((seq, task));
        if in_flight.len() >= IN_FLIGHT {
            let (seq, task) = in_flight.pop_front().unwrap();
            tally.record(producer, seq, task);
        }
    }
    for (seq, task) in in_flight {
        tally.record(producer, seq, task);
    }
    tally
}

#[test]
fn every_submission_resolves_under_load_while_the_loop_is_dropped_at_a_random_point() {
    quiet_deliberate_panics();
    let per_producer = per_producer();
    let total = PRODUCERS * per_producer;
    let mut grand = Tally::default();
    for round in 0..rounds() {
        let drop_mid_way = round % 2 == 1;
        let drop_at = 1 + XorShift::new(round + 1).next() % total;
        let stop_at = drop_mid_way.then_some(drop_at);
        let started = Instant::now();
        let mut event_loop = Some(LoopThread::start());
        let handle = event_loop.as_ref().unwrap().handle.clone();
        let start = Arc::new(Barrier::new(PRODUCERS as usize + 1));
        let progress = Arc::new(AtomicU64::new(0));
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let handle = handle.clone();
                let start = Arc::clone(&start);
                let progress = Arc::clone(&progress);
                thread::Builder::new()
                    .name(format!("producer-{p}"))
                    .spawn(move || producer(p, handle, start, progress, stop_at))
                    .unwrap()
            })
            .collect();
        start.wait();

        let mut dropped_after = None;
        if drop_mid_way {
            let mut stopping = event_loop.take().unwrap();
            let exit = stopping
                .exit_within(Duration::from_secs(60))
                .expect("the loop was not stopped and dropped");
            assert_eq!(exit, Ok(()), "loop thread");
            dropped_after = Some(progress.load(Relaxed));
        }

        let mut tally = Tally::default();
        for p in producers {
            tally.add(p.join().expect("producer thread"));
        }
        if let Some(event_loop) = event_loop.take() {
            assert_eq!(event_loop.stop_and_join(), Ok(()), "loop thread");
        }

        eprintln!(
            "round {round} ({}): submitted {}, Ok {}, Cancelled {}, LoopClosed {}, Panicked {}, \
             wrong {}; longest wait {:.3} ms; round took {:.2} s",
            match dropped_after {
                Some(n) =>
                    format!("stopped at submission {drop_at}; {n} made when the drop was seen"),
                None => "loop kept".to_string(),
            },
            tally.submitted,
            tally.ok,
            tally.cancelled,
            tally.loop_closed,
            tally.panicked,
            tally.wrong,
            tally.longest_wait.as_secs_f64() * 1e3,
            started.elapsed().as_secs_f64(),
        );

        assert_eq!(tally.submitted, total);
        assert_eq!(
            tally.ok + tally.cancelled + tally.loop_closed,
            tally.submitted,
            "every handle resolved Ok, Cancelled or LoopClosed: {tally:?}"
        );
        assert_eq!(tally.panicked, 0, "{tally:?}");
        assert_eq!(tally.wrong, 0, "{tally:?}");
        // Only the submissions cancelled right away can be `Cancelled` (one
        // may still have completed first: it is then `Ok`, never both).
        assert!(tally.cancelled <= PRODUCERS * per_producer.div_ceil(CANCEL_EVERY));
        if !drop_mid_way {
            assert_eq!(tally.loop_closed, 0, "the loop outlived every task");
        }
        grand.add(tally);
    }
    eprintln!("all rounds: {grand:?}");
}
