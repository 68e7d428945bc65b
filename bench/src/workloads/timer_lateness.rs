//! `timer_lateness_250us` and `timer_lateness_1ms`: on an idle loop, sleeps
//! of 250 µs (resp. 1 ms) one after another, each awaited before the next
//! starts; for each sleep, its **lateness**: the instant the sleeping future
//! resumes minus its deadline. The table shows the p50 and the p99 over all
//! the sleeps of a run, in µs; looplet's target is a p99 of at most 100 µs
//! for both lengths.
//!
//! What a timer is worth to a program that paces itself (a frame, a poll
//! interval, a retry): how close to its deadline a sleep ends. Not a
//! throughput, so unlike every other workload this one has no [`Case`] and
//! no [`Runner`]: a run time says nothing about the tail of the wake-ups.
//! For the same reason it is **not in the criterion bench**
//! (`benches/compare.rs`): criterion times iterations and reports their
//! mean time per element, which for a sleep is its length plus its *mean*
//! lateness — the p99 is not there to be had. The table command samples it
//! through [`sample_interleaved`] instead.
//!
//! One sleep, the same on every runtime, in the shape its users write it:
//!
//! ```text
//! let due = Instant::now() + length;
//! sleep(length).await;                       // the runtime's own sleep
//! record(Instant::now() - due);
//! ```
//!
//! `due` is read just before the sleep is made, so the sleep's own deadline
//! (now + length, read inside `sleep`) is at or a few ns after it: nothing
//! the runtime does is left out, and nothing is added. A sleep that ended
//! early would show a negative lateness.
//!
//! Fairness: each runtime is built once per length and sleeps inside its
//! own `block_on` — one `block_on` per batch of [`Sleeps::per_batch`]
//! sleeps, the sleeps awaited by the `block_on` future itself, no task
//! spawned, nothing else on the loop: an idle loop whose thread blocks in
//! the kernel between the sleeps (looplet in `epoll_wait`, with its timerfd
//! armed for the deadline; tokio in its I/O driver's `epoll_wait`, with the
//! timeout its time driver computes). So every runtime pays the same
//! wake-up of a sleeping thread, and the difference is what each asks the
//! kernel for: a deadline to the nanosecond (the timerfd) or a timeout in
//! whole milliseconds (`epoll_wait`), on top of tokio's timer wheel, whose
//! ticks are a millisecond. The batches are interleaved as in
//! [`crate::measure`]: one batch of each runtime per round, the first
//! runtime rotating, so a noisy phase of the machine lands on all of them;
//! [`Settings::warmup_samples`] untimed batches first. With the table's 101
//! rounds that is 1,010 sleeps of 250 µs and 505 of 1 ms per runtime (the
//! p99 is then about the 11th, resp. the 6th, largest lateness). The
//! percentiles are taken over all of a runtime's sleeps pooled
//! ([`percentile`]: the linear interpolation whose p50 is
//! [`crate::measure::median`]).
//!
//! The control (`raw`, sampled in the same rounds) is the thread sleeping
//! by itself: `std::thread::sleep` of the same length, no runtime. Its p99
//! is the machine's own tail: on a shared VM a thread woken on time now and
//! then runs a millisecond or more later (its vCPU is not running, another
//! thread has its CPU), and no timer can do better than that; a looplet
//! p99 near `raw`'s is the machine's, not the loop's. Its p50 is not a
//! floor for the loop: `clock_nanosleep` may end up to the thread's timer
//! slack late (50 µs by default) while a timerfd has no slack, so looplet's
//! p50 is normally *below* `raw`'s.
//!
//! tokio_ct is the runtime `#[tokio::main(flavor = "current_thread")]`
//! builds (`enable_all`), tokio_localset the same sleeping inside a
//! `LocalSet` and tokio_local_runtime in tokio's `LocalRuntime` (the same
//! timer: a cheap check that the set, or the local runtime, changes
//! nothing).
//! No peer benchmark has this shape: tokio's `benches/time_*` time
//! registering and cancelling timers, not when they fire. async-executor
//! and LocalPool have no timers of their own (see
//! [`crate::missing_reason`]).
//!
//! [`Case`]: crate::Case
//! [`Runner`]: crate::Runner

use crate::looplet;
use crate::measure::{percentile, Settings};
use crate::runtimes::{self, BlockOn, TokioLocalSet};
use std::time::{Duration, Instant};

/// Sleeps of one length, one after another: a pair of rows (p50, p99).
#[derive(Debug, Clone, Copy)]
pub struct Sleeps {
    /// The name (for `--only`), e.g. `timer_lateness_250us`.
    pub name: &'static str,
    /// The length as the table writes it, e.g. `250 µs`.
    pub label: &'static str,
    /// How long each sleep is.
    pub length: Duration,
    /// Sleeps per batch (one `block_on`, one per round).
    pub per_batch: usize,
}

/// Sleeps of 250 µs: below a millisecond, what `epoll_wait` cannot time.
pub const SLEEP_250US: Sleeps = Sleeps {
    name: "timer_lateness_250us",
    label: "250 µs",
    length: Duration::from_micros(250),
    per_batch: 10,
};

/// Sleeps of 1 ms: a whole millisecond, the finest `epoll_wait` timeout.
pub const SLEEP_1MS: Sleeps = Sleeps {
    name: "timer_lateness_1ms",
    label: "1 ms",
    length: Duration::from_millis(1),
    per_batch: 5,
};

/// Both lengths, in the table's order.
pub const ALL: [Sleeps; 2] = [SLEEP_250US, SLEEP_1MS];

/// The lengths by name.
pub fn by_name(name: &str) -> Option<Sleeps> {
    ALL.into_iter().find(|sleeps| sleeps.name == name)
}

/// A runtime ready to sleep: owns it, built once.
pub trait Sleeper {
    /// Sleeps `count` times for `length`, one after another (a runtime:
    /// inside one `block_on`), and appends each sleep's lateness (µs) to
    /// `lateness_us`.
    fn sleep_batch(&mut self, length: Duration, count: usize, lateness_us: &mut Vec<f64>);
}

/// A runtime that can sleep, by id.
#[derive(Debug, Clone, Copy)]
pub struct SleeperCase {
    /// The runtime's id.
    pub runtime: &'static str,
    /// Builds the runtime.
    pub build: fn() -> Box<dyn Sleeper>,
}

/// Every runtime with timers of its own, in the table's column order, and
/// the control ([`runtimes::RAW`]: `std::thread::sleep`).
pub fn cases() -> Vec<SleeperCase> {
    let case = |runtime, build| SleeperCase { runtime, build };
    vec![
        case(runtimes::LOOPLET, || {
            Batches::boxed(runtimes::looplet(), looplet)
        }),
        case(runtimes::TOKIO_CT, || {
            Batches::boxed(runtimes::tokio_ct(), tokio)
        }),
        case(runtimes::TOKIO_LOCALSET, || {
            Batches::boxed(TokioLocalSet::new(), tokio)
        }),
        case(runtimes::TOKIO_LOCAL_RUNTIME, || {
            Batches::boxed(runtimes::tokio_local_runtime(), tokio)
        }),
        case(runtimes::RAW, || Batches::boxed((), raw)),
    ]
}

/// The lateness of every sleep of one length on one runtime.
#[derive(Debug, Clone)]
pub struct Lateness {
    /// The sleeps.
    pub sleeps: Sleeps,
    /// The runtime's id.
    pub runtime: &'static str,
    /// Every sleep's lateness in µs, in the order taken.
    pub lateness_us: Vec<f64>,
}

impl Lateness {
    /// The `p`-quantile (0 ≤ p ≤ 1) of the lateness, µs.
    pub fn percentile(&self, p: f64) -> f64 {
        percentile(&self.lateness_us, p)
    }
}

/// Samples `sleeps` on every runtime of [`cases`], interleaved (see the
/// module docs): `settings.samples` rounds of one batch per runtime.
/// `note` receives a line of progress per runtime.
pub fn sample_interleaved(
    sleeps: &Sleeps,
    settings: &Settings,
    mut note: impl FnMut(&str),
) -> Vec<Lateness> {
    let cases = cases();
    let mut sleepers: Vec<Box<dyn Sleeper>> = cases.iter().map(|case| (case.build)()).collect();
    let mut untimed = Vec::new();
    for sleeper in &mut sleepers {
        for _ in 0..settings.warmup_samples {
            sleeper.sleep_batch(sleeps.length, sleeps.per_batch, &mut untimed);
        }
    }

    let per_runtime = settings.samples * sleeps.per_batch;
    let mut lateness = vec![Vec::with_capacity(per_runtime); cases.len()];
    for round in 0..settings.samples {
        for k in 0..cases.len() {
            let i = (round + k) % cases.len();
            sleepers[i].sleep_batch(sleeps.length, sleeps.per_batch, &mut lateness[i]);
        }
    }
    drop(sleepers);

    cases
        .iter()
        .zip(lateness)
        .map(|(case, lateness_us)| {
            let measured = Lateness {
                sleeps: *sleeps,
                runtime: case.runtime,
                lateness_us,
            };
            note(&format!(
                "{:<28} {:<22} p50 {:>8.1} µs, p99 {:>8.1} µs late  ({} sleeps)",
                sleeps.name,
                case.runtime,
                measured.percentile(0.50),
                measured.percentile(0.99),
                measured.lateness_us.len()
            ));
            measured
        })
        .collect()
}

/// A runtime and the function that sleeps a batch on it.
struct Batches<S> {
    state: S,
    batch: fn(&mut S, Duration, usize, &mut Vec<f64>),
}

impl<S: 'static> Batches<S> {
    fn boxed(state: S, batch: fn(&mut S, Duration, usize, &mut Vec<f64>)) -> Box<dyn Sleeper> {
        Box::new(Batches { state, batch })
    }
}

impl<S> Sleeper for Batches<S> {
    fn sleep_batch(&mut self, length: Duration, count: usize, lateness_us: &mut Vec<f64>) {
        (self.batch)(&mut self.state, length, count, lateness_us);
    }
}

/// How late `woke` is for `due`, in µs; negative if it is early.
pub fn lateness_us(due: Instant, woke: Instant) -> f64 {
    let us = |d: Duration| d.as_nanos() as f64 / 1_000.0;
    match woke.checked_duration_since(due) {
        Some(late) => us(late),
        None => -us(due.duration_since(woke)),
    }
}

fn looplet(rt: &mut looplet::EventLoop, length: Duration, count: usize, out: &mut Vec<f64>) {
    rt.block_on(async {
        for _ in 0..count {
            let due = Instant::now() + length;
            looplet::sleep(length).await;
            out.push(lateness_us(due, Instant::now()));
        }
    });
}

/// tokio_ct, tokio_localset or tokio_local_runtime: the same timer, the
/// same sleep.
fn tokio<R: BlockOn>(rt: &mut R, length: Duration, count: usize, out: &mut Vec<f64>) {
    rt.block_on(async {
        for _ in 0..count {
            let due = Instant::now() + length;
            tokio::time::sleep(length).await;
            out.push(lateness_us(due, Instant::now()));
        }
    });
}

/// The control: the thread itself sleeps, no runtime.
fn raw(_: &mut (), length: Duration, count: usize, out: &mut Vec<f64>) {
    for _ in 0..count {
        let due = Instant::now() + length;
        std::thread::sleep(length);
        out.push(lateness_us(due, Instant::now()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lateness_is_signed() {
        let due = Instant::now();
        let us = Duration::from_micros(1);
        assert_eq!(lateness_us(due, due + 250 * us), 250.0);
        assert_eq!(lateness_us(due + 3 * us, due), -3.0);
    }

    /// Every runtime sleeps the batch it is asked for, never ends a sleep
    /// early, and keeps nothing of the warm-up. (How late is a measure, not
    /// a test: this machine may be busy.)
    #[test]
    fn every_runtime_records_one_lateness_per_sleep_never_negative() {
        let settings = Settings {
            samples: 3,
            sample_time: Duration::ZERO,
            warmup_samples: 1,
        };
        let measured = sample_interleaved(&SLEEP_250US, &settings, |_| {});
        let runtimes: Vec<_> = measured.iter().map(|m| m.runtime).collect();
        assert_eq!(
            runtimes,
            [
                runtimes::LOOPLET,
                runtimes::TOKIO_CT,
                runtimes::TOKIO_LOCALSET,
                runtimes::TOKIO_LOCAL_RUNTIME,
                runtimes::RAW
            ]
        );
        for m in &measured {
            assert_eq!(m.lateness_us.len(), 3 * SLEEP_250US.per_batch);
            assert!(
                m.lateness_us.iter().all(|&us| us >= 0.0),
                "{}: {:?}",
                m.runtime,
                m.lateness_us
            );
        }
    }

    #[test]
    fn names_find_their_lengths() {
        assert_eq!(
            by_name("timer_lateness_1ms").map(|s| s.length),
            Some(Duration::from_millis(1))
        );
        assert!(by_name("timers").is_none());
    }

    #[test]
    fn runtimes_without_timers_have_the_timers_footnote() {
        for sleeps in ALL {
            assert_eq!(crate::missing_reason(sleeps.name, runtimes::LOOPLET), None);
            assert_eq!(
                crate::missing_reason(sleeps.name, runtimes::TOKIO_LOCALSET),
                None
            );
            assert_eq!(
                crate::missing_reason(sleeps.name, runtimes::TOKIO_LOCAL_RUNTIME),
                None
            );
            assert_eq!(
                crate::missing_reason(sleeps.name, runtimes::FUTURES_LOCALPOOL),
                crate::missing_reason("timers", runtimes::FUTURES_LOCALPOOL)
            );
        }
    }
}
