//! `cargo run --release -p looplet-bench` — the whole-process comparison.
//!
//! Runs every workload of [`looplet_bench::workloads`] for every runtime in
//! this one process, the runtimes of a workload sampled **interleaved**
//! (round-robin, see [`looplet_bench::measure`]), then counts the heap of
//! 100,000 pending tasks per runtime with a counting global allocator, and
//! prints one table: ns per operation per runtime, looplet's ratio to
//! tokio_ct (or to the raw control), looplet's target and whether it is
//! met; wake syscalls per remote submission; how late sleeps of 250 µs and
//! 1 ms end (p50 and p99, batches of sleeps interleaved across the runtimes
//! like the samples); bytes and allocations per live task; spawn cost at 1M
//! live tasks against 1K (sampled one runtime at a time, its 1K and 1M
//! runners interleaved with each other).
//!
//! It writes the table to `docs/benchmarks.csv` and
//! `docs/benchmarks-table.md` and draws `docs/benchmarks.svg`.
//!
//! ```text
//! cargo run --release -p looplet-bench                 # full run, writes docs/
//! cargo run --release -p looplet-bench -- --quick      # smoke run: few, short samples; writes nothing
//! cargo run --release -p looplet-bench -- --quick --out /tmp/b   # ... and writes there
//! cargo run --release -p looplet-bench -- --only spawn_many_local,memory
//! cargo run --release -p looplet-bench -- --only timer_lateness_250us,timer_lateness_1ms --out /tmp/b
//! ```
#![deny(unsafe_code)] // except the allocator, which allows it for itself

mod alloc_count;
mod chart;
mod report;

use looplet_bench::live_tasks::{self, FUTURE_SIZES};
use looplet_bench::measure::{self, Sampled, Settings};
use looplet_bench::runtimes;
use looplet_bench::workloads::{self, live_spawn, timer_lateness};
use report::{Footprint, Meta, Table};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[global_allocator]
static ALLOCATOR: alloc_count::Counting = alloc_count::Counting;

/// Pending tasks per runtime for the memory rows.
const LIVE_TASKS: usize = 100_000;

const USAGE: &str = "\
usage: cargo run --release -p looplet-bench [-- OPTIONS]

  --quick          few, short samples (a smoke run); writes no files unless --out
  --out DIR        write benchmarks.csv, benchmarks-table.md, benchmarks.svg to DIR
                   (default: the workspace's docs/, for a full run)
  --only A,B,...   only these workloads (names as in the table; `memory` for the
                   live-task memory rows; `timer_lateness_250us`, `timer_lateness_1ms`
                   for the timer lateness rows)
  --help           this text";

#[derive(Debug, Default)]
struct Args {
    quick: bool,
    out: Option<PathBuf>,
    only: Option<Vec<String>>,
}

impl Args {
    fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
        let mut parsed = Args::default();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--quick" => parsed.quick = true,
                "--out" => parsed.out = Some(args.next().ok_or("--out needs a directory")?.into()),
                "--only" => {
                    let list = args.next().ok_or("--only needs a list of workloads")?;
                    parsed.only = Some(list.split(',').map(str::to_string).collect());
                }
                "--help" | "-h" => return Err(String::new()),
                // `cargo bench`-style harness flags are not ours.
                other => return Err(format!("unknown argument `{other}`")),
            }
        }
        Ok(parsed)
    }

    fn selected(&self, name: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|only| only.iter().any(|o| o == name))
    }
}

fn main() -> ExitCode {
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("looplet-bench: {message}\n");
            }
            eprintln!("{USAGE}");
            return if message.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            };
        }
    };
    let settings = if args.quick {
        Settings::QUICK
    } else {
        Settings::DEFAULT
    };
    let started = Instant::now();

    let mut sampled = Vec::new();
    let growth = [live_spawn::AT_1K_LIVE, live_spawn::AT_1M_LIVE];
    for workload in workloads::all() {
        if !args.selected(workload.name) || growth.iter().any(|g| g.name == workload.name) {
            continue;
        }
        eprintln!("== {}", workload.name);
        let cases = (workload.cases)();
        sampled.extend(measure::sample_interleaved(&cases, &settings, |line| {
            eprintln!("   {line}")
        }));
    }
    if growth.iter().any(|g| args.selected(g.name)) {
        sampled.extend(sample_growth(&growth, &settings));
    }
    let mut lateness = Vec::new();
    for sleeps in timer_lateness::ALL {
        if args.selected(sleeps.name) {
            eprintln!(
                "== {}: sleeps of {} one after another",
                sleeps.name, sleeps.label
            );
            lateness.extend(timer_lateness::sample_interleaved(
                &sleeps,
                &settings,
                |line| eprintln!("   {line}"),
            ));
        }
    }
    let footprints = if args.selected("memory") {
        eprintln!("== memory: {LIVE_TASKS} pending tasks per runtime");
        footprints(LIVE_TASKS)
    } else {
        Vec::new()
    };

    let meta = Meta {
        line: meta_line(&settings, args.quick, started.elapsed()),
    };
    let table = report::build(meta, &sampled, &lateness, &footprints);
    println!("{}", table.markdown());

    let out = args.out.clone().or_else(|| (!args.quick).then(docs_dir));
    if let Some(dir) = out {
        if let Err(error) = write_files(&dir, &table, &sampled) {
            eprintln!("looplet-bench: writing to {}: {error}", dir.display());
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

/// Spawn cost with 1K and with 1M live tasks, one runtime at a time: its
/// two runners (and only theirs: no other runtime's million tasks in
/// memory) are sampled interleaved with each other, so the growth can be
/// read round by round, like every other ratio in the table.
fn sample_growth(growth: &[workloads::Workload; 2], settings: &Settings) -> Vec<Sampled> {
    let [at_1k, at_1m] = growth.map(|workload| (workload.cases)());
    let mut sampled = Vec::new();
    for (small, big) in at_1k.into_iter().zip(at_1m) {
        eprintln!("== spawn growth, {}", small.runtime);
        sampled.extend(measure::sample_interleaved(
            &[small, big],
            settings,
            |line| eprintln!("   {line}"),
        ));
    }
    sampled
}

/// Live-heap growth and allocations per pending task, per runtime and
/// future size. Nothing else runs meanwhile (every runner was dropped).
fn footprints(n: usize) -> Vec<Footprint> {
    let mut results = Vec::new();
    for future_bytes in FUTURE_SIZES {
        for population in live_tasks::populations() {
            let mut live = (population.build)(n);
            let ((), before, after) = alloc_count::measure(|| live.spawn_pending(n, future_bytes));
            drop(live);
            let footprint = Footprint {
                runtime: population.runtime,
                future_bytes,
                bytes_per_task: after.live_bytes_since(&before) as f64 / n as f64,
                allocations_per_task: after.allocations_since(&before) as f64 / n as f64,
            };
            eprintln!(
                "   {:<22} {:>3} B future: {:>7.1} bytes, {:.2} allocations per task",
                footprint.runtime,
                future_bytes,
                footprint.bytes_per_task,
                footprint.allocations_per_task
            );
            results.push(footprint);
        }
    }
    results
}

fn write_files(
    dir: &Path,
    table: &Table,
    sampled: &[Sampled],
) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(dir)?;
    let csv = dir.join("benchmarks.csv");
    std::fs::write(&csv, table.csv())?;
    let markdown = dir.join("benchmarks-table.md");
    std::fs::write(
        &markdown,
        format!(
            "<!-- Generated by `cargo run --release -p looplet-bench`: do not edit. -->\n\n{}",
            table.markdown()
        ),
    )?;
    let svg = dir.join("benchmarks.svg");
    chart::draw(
        &svg,
        "looplet and its peers, relative to tokio current_thread",
        &runtimes::ALL,
        &chart_groups(table, sampled),
    )?;
    for path in [csv, markdown, svg] {
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

/// The chart's groups: the rows timed against tokio_ct, each runtime's
/// time over tokio_ct's taken round by round (as the table's check is).
fn chart_groups(table: &Table, sampled: &[Sampled]) -> Vec<chart::Group> {
    table
        .rows
        .iter()
        .filter_map(|row| {
            let check = row.check.as_ref()?;
            if check.what != "looplet / tokio_ct" || check.figure.is_none() {
                return None;
            }
            let ratios = runtimes::ALL
                .iter()
                .map(|runtime| report::ratio_to_tokio_ct(sampled, &row.measure, runtime))
                .collect();
            Some(chart::Group {
                label: row.measure.clone(),
                ratios,
                target: check.max,
            })
        })
        .collect()
}

/// The workspace's `docs/` directory.
fn docs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("docs")
}

/// When, where and how: the line above the table.
fn meta_line(settings: &Settings, quick: bool, took: Duration) -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into());
    format!(
        "Measured {date} on {cpu} ({cores} cores), Linux {kernel}, looplet {commit}; \
         {mode}: {samples} interleaved samples of ~{ms} ms per case, medians; the run took {secs} s.",
        date = utc_now(),
        cpu = cpu_model(),
        commit = git_commit(),
        mode = if quick { "quick run" } else { "full run" },
        samples = settings.samples,
        ms = settings.sample_time.as_millis(),
        secs = took.as_secs(),
    )
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "an unknown CPU".into())
}

fn git_commit() -> String {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(env!("CARGO_MANIFEST_DIR"))
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match git(&["rev-parse", "--short", "HEAD"]) {
        Some(commit) => {
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            if dirty {
                format!("{commit}+changes")
            } else {
                commit
            }
        }
        None => "(commit unknown)".into(),
    }
}

/// Now, as `YYYY-MM-DD HH:MM UTC`.
fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let in_day = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        in_day / 3600,
        in_day % 3600 / 60
    )
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes on the heap per live looplet task, with this binary's counting
    /// allocator: (bytes, allocations) per task.
    fn looplet_footprint(n: usize, future_bytes: usize) -> (f64, f64) {
        let mut live = live_tasks::looplet(n);
        let ((), before, after) = alloc_count::measure(|| live.spawn_pending(n, future_bytes));
        drop(live);
        let per_task = |x: f64| x / n as f64;
        (
            per_task(after.live_bytes_since(&before) as f64),
            per_task(after.allocations_since(&before) as f64),
        )
    }

    /// A regression guard for docs/08's memory row (memory is deterministic,
    /// unlike time, so it can be a test): a live task that never kept its
    /// waker costs its slab entry and its future's box, nothing else (no
    /// allocation at all for a zero-sized future), stores its future once
    /// (no wrapper around it), and a trivial one stays within 64 bytes.
    #[test]
    fn a_live_looplet_task_stores_its_future_once_and_fits_in_64_bytes() {
        let n = 20_000;
        let (small, small_allocations) = looplet_footprint(n, 0);
        let (big, big_allocations) = looplet_footprint(n, 256);
        assert!(small_allocations.abs() < 0.01, "{small_allocations}");
        assert!((big_allocations - 1.0).abs() < 0.01, "{big_allocations}");
        assert!(
            big - small <= 256.0 + 16.0,
            "{small} -> {big} bytes per task"
        );
        assert!(small <= 64.0, "{small} bytes per trivial task");
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }

    #[test]
    fn arguments() {
        let args = |s: &str| Args::parse(s.split_whitespace().map(String::from));
        let quick = args("--quick --only a,b").unwrap();
        assert!(quick.quick && quick.selected("a") && !quick.selected("c"));
        assert!(args("--bogus").is_err());
        assert!(args("").unwrap().selected("anything"));
    }
}
