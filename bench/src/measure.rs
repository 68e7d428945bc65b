//! Interleaved sampling: how the table command times the runtimes of one
//! workload so that machine noise hits all of them alike.
//!
//! All runners of a workload are built first. Each is warmed up and
//! calibrated (how many iterations fill one sample). Then the samples are
//! taken round-robin — one sample of each runtime per round, the starting
//! runtime rotating from round to round — and each runtime's result is the
//! **median** of its samples, in ns per operation. A burst of noise (another
//! process, a frequency change) lands in one round and so touches every
//! runtime about equally, and the median throws it away.
//!
//! A ratio between two cases of one workload (looplet / tokio_ct, looplet /
//! its raw control) is taken **per round** and then the median of those
//! ([`paired_ratio`]): samples of one round are taken back to back, so a
//! slow phase of the machine — on a VM, cross-vCPU wakeups swing between
//! phases an order of magnitude apart — slows both sides of the ratio.

use crate::{Case, Runner, WakeCounts};
use std::time::Duration;

/// How much to sample.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Samples per case (rounds).
    pub samples: usize,
    /// The aimed-for duration of one sample.
    pub sample_time: Duration,
    /// Untimed runs of one sample's length before sampling.
    pub warmup_samples: u32,
}

impl Settings {
    /// The default run: 101 samples of ~10 ms per case.
    pub const DEFAULT: Settings = Settings {
        samples: 101,
        sample_time: Duration::from_millis(10),
        warmup_samples: 2,
    };

    /// A smoke run: 5 samples of ~2 ms.
    pub const QUICK: Settings = Settings {
        samples: 5,
        sample_time: Duration::from_millis(2),
        warmup_samples: 1,
    };
}

/// The result of sampling one case.
#[derive(Debug, Clone)]
pub struct Sampled {
    /// The case.
    pub case: Case,
    /// Iterations per sample (calibrated).
    pub iters_per_sample: u64,
    /// Every sample, in ns per operation, in the order taken.
    pub samples_ns: Vec<f64>,
    /// The median of `samples_ns`.
    pub median_ns: f64,
    /// For looplet runners fed from other threads: wake syscalls per remote
    /// submission over the sampled runs.
    pub wakes_per_submission: Option<f64>,
}

/// Samples `cases` (normally the runtimes of one workload) interleaved, as
/// the module docs describe. `note` receives a line of progress per case.
pub fn sample_interleaved(
    cases: &[Case],
    settings: &Settings,
    mut note: impl FnMut(&str),
) -> Vec<Sampled> {
    let mut runners: Vec<Box<dyn Runner>> = cases.iter().map(|case| (case.build)()).collect();
    let iters: Vec<u64> = runners
        .iter_mut()
        .map(|runner| calibrate(runner.as_mut(), settings))
        .collect();
    let before: Vec<Option<WakeCounts>> = runners.iter_mut().map(|r| r.wake_counts()).collect();

    let mut samples = vec![Vec::with_capacity(settings.samples); cases.len()];
    for round in 0..settings.samples {
        for k in 0..cases.len() {
            let i = (round + k) % cases.len();
            let elapsed = runners[i].run(iters[i]);
            samples[i].push(per_op_ns(elapsed, iters[i], cases[i].elements_per_iter));
        }
    }

    let mut results = Vec::with_capacity(cases.len());
    for (i, case) in cases.iter().enumerate() {
        let after = runners[i].wake_counts();
        let wakes = match (before[i], after) {
            (Some(before), Some(after)) => after.per_submission_since(&before),
            _ => None,
        };
        let median_ns = median(&samples[i]);
        note(&format!(
            "{:<28} {:<22} {:>12.1} ns/op  ({} × {} iters)",
            case.workload, case.runtime, median_ns, settings.samples, iters[i]
        ));
        results.push(Sampled {
            case: *case,
            iters_per_sample: iters[i],
            samples_ns: std::mem::take(&mut samples[i]),
            median_ns,
            wakes_per_submission: wakes,
        });
    }
    // The runners (and their threads) are dropped here, after every sample.
    drop(runners);
    results
}

/// The median over rounds of `a`'s sample / `b`'s sample in the same
/// round (see the module docs); `None` without common rounds.
pub fn paired_ratio(a: &Sampled, b: &Sampled) -> Option<f64> {
    let ratios: Vec<f64> = a
        .samples_ns
        .iter()
        .zip(&b.samples_ns)
        .filter_map(|(&x, &y)| ratio(x, y))
        .collect();
    let median = median(&ratios);
    median.is_finite().then_some(median)
}

/// Warms a runner up and returns how many iterations fill one sample:
/// doubles the iterations of a run until it lasts a quarter of a sample
/// (one iteration alone says little: the first pays for page faults, queue
/// growth, lazy initialisation, a sleeping partner thread), then runs
/// `warmup_samples` untimed samples.
fn calibrate(runner: &mut dyn Runner, settings: &Settings) -> u64 {
    let mut iters = 1u64;
    let per_iter = loop {
        let took = runner.run(iters);
        if took >= settings.sample_time / 4 || iters >= 1 << 24 {
            break took / iters as u32;
        }
        iters *= 2;
    };
    let iters = iterations_for(settings.sample_time, per_iter);
    for _ in 0..settings.warmup_samples {
        runner.run(iters);
    }
    iters
}

/// Iterations of `one` each that fill `target` (at least 1).
pub fn iterations_for(target: Duration, one: Duration) -> u64 {
    (target.as_nanos() / one.as_nanos().max(1)).clamp(1, u64::MAX as u128) as u64
}

/// Nanoseconds per operation.
pub fn per_op_ns(elapsed: Duration, iters: u64, elements_per_iter: u64) -> f64 {
    elapsed.as_nanos() as f64 / (iters * elements_per_iter).max(1) as f64
}

/// The median (the mean of the middle two for an even count; NaN if empty).
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

/// The `p`-quantile (0 ≤ p ≤ 1) of `values`, interpolated linearly
/// between the two nearest ranks (so `percentile(v, 0.5)` is
/// [`median`]`(v)`); NaN if empty.
pub fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = p.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (below, above) = (rank.floor() as usize, rank.ceil() as usize);
    sorted[below] + (sorted[above] - sorted[below]) * (rank - below as f64)
}

/// `a / b`, when both are finite and `b` is positive.
pub fn ratio(a: f64, b: f64) -> Option<f64> {
    (a.is_finite() && b.is_finite() && b > 0.0).then(|| a / b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn percentiles_interpolate_between_ranks() {
        let values: Vec<f64> = (1..=101).rev().map(f64::from).collect();
        assert_eq!(percentile(&values, 0.5), 51.0);
        assert_eq!(percentile(&values, 0.99), 100.0);
        assert_eq!(percentile(&values, 1.0), 101.0);
        assert_eq!(percentile(&[4.0, 1.0, 3.0, 2.0], 0.5), 2.5);
        assert_eq!(percentile(&[1.0, 2.0], 0.25), 1.25);
        assert!(percentile(&[], 0.99).is_nan());
    }

    #[test]
    fn ratio_refuses_meaningless_divisions() {
        assert_eq!(ratio(1.0, 4.0), Some(0.25));
        assert_eq!(ratio(1.0, 0.0), None);
        assert_eq!(ratio(f64::NAN, 1.0), None);
    }

    #[test]
    fn calibration_fills_a_sample_and_runs_at_least_once() {
        let ms = Duration::from_millis(1);
        assert_eq!(iterations_for(20 * ms, ms), 20);
        assert_eq!(iterations_for(ms, 20 * ms), 1);
        assert_eq!(per_op_ns(Duration::from_micros(2), 2, 1_000), 1.0);
    }

    #[test]
    fn paired_ratio_is_the_median_of_per_round_ratios() {
        let case = Case {
            workload: "w",
            runtime: "r",
            elements_per_iter: 1,
            build: || -> Box<dyn Runner> { unreachable!() },
        };
        let sampled = |samples_ns: Vec<f64>| Sampled {
            case,
            iters_per_sample: 1,
            median_ns: median(&samples_ns),
            samples_ns,
            wakes_per_submission: None,
        };
        // Rounds 2-4 are a slow phase for both: each round's ratio is still 0.5.
        let looplet = sampled(vec![1.0, 1.0, 10.0, 10.0, 10.0]);
        let tokio = sampled(vec![2.0, 2.0, 20.0, 20.0, 20.0]);
        assert_eq!(paired_ratio(&looplet, &tokio), Some(0.5));
    }

    #[test]
    fn wake_counts_per_submission() {
        let before = WakeCounts {
            wake_syscalls: 1,
            submissions: 10,
        };
        let after = WakeCounts {
            wake_syscalls: 3,
            submissions: 210,
        };
        assert_eq!(after.per_submission_since(&before), Some(0.01));
        assert_eq!(before.per_submission_since(&before), None);
    }
}
