//! The table: rows of measures, a column per runtime (and one for the raw
//! controls), and for each of looplet's targets the checked figure, the
//! target and whether it is met. Rendered as markdown (stdout and
//! `docs/benchmarks-table.md`) and CSV (`docs/benchmarks.csv`).

use looplet_bench::live_tasks::FUTURE_SIZES;
use looplet_bench::measure::{paired_ratio, ratio, Sampled};
use looplet_bench::runtimes::{self, LOOPLET, RAW, TOKIO_CT, TOKIO_LOCAL_RUNTIME};
use looplet_bench::workloads::timer_lateness::{self, Lateness};
use looplet_bench::workloads::{self, Workload};
use std::fmt::Write as _;

/// The value columns: the runtimes, then the controls.
pub const COLUMNS: [&str; 7] = [
    runtimes::ALL[0],
    runtimes::ALL[1],
    runtimes::ALL[2],
    runtimes::ALL[3],
    runtimes::ALL[4],
    runtimes::ALL[5],
    RAW,
];

/// What one live task costs on one runtime.
#[derive(Debug, Clone)]
pub struct Footprint {
    /// The runtime id.
    pub runtime: &'static str,
    /// The pending future's size.
    pub future_bytes: usize,
    /// Live heap growth per task.
    pub bytes_per_task: f64,
    /// Allocations per task.
    pub allocations_per_task: f64,
}

/// A cell of a value column.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Does not apply (a runtime's cell in a control row, and so on).
    Blank,
    /// The runtime cannot do this; the footnote says why.
    Missing(&'static str),
    /// A measured number.
    Value(f64),
    /// A known figure, not measured here.
    Known(f64, &'static str),
}

/// A target check: `figure` (a ratio, or looplet's own value) against `max`.
#[derive(Debug, Clone)]
pub struct Check {
    /// What `figure` is, e.g. "looplet / tokio_ct".
    pub what: String,
    /// The checked figure (`None`: not measured in this run).
    pub figure: Option<f64>,
    /// The target: `figure ≤ max`, or no target.
    pub max: Option<f64>,
}

impl Check {
    /// "yes", "NO", or "" when there is no target or no figure.
    pub fn met(&self) -> &'static str {
        match (self.figure, self.max) {
            (Some(figure), Some(max)) if figure <= max => "yes",
            (Some(_), Some(_)) => "NO",
            _ => "",
        }
    }
}

/// One row of the table.
#[derive(Debug, Clone)]
pub struct Row {
    /// What is measured.
    pub measure: String,
    /// The unit of the value columns.
    pub unit: String,
    /// One cell per [`COLUMNS`] entry.
    pub cells: [Cell; COLUMNS.len()],
    /// The target check, if the row has a figure to check.
    pub check: Option<Check>,
}

/// Who and when: printed above the table.
#[derive(Debug, Clone)]
pub struct Meta {
    /// One line: date, machine, commit, sampling.
    pub line: String,
}

/// The whole table.
#[derive(Debug, Clone)]
pub struct Table {
    /// Who and when.
    pub meta: Meta,
    /// The rows, in order.
    pub rows: Vec<Row>,
}

/// The time targets: workload, what looplet's time is divided by, max.
/// (`None` max: shown, not checked.)
const TIME_TARGETS: &[(&str, Baseline, Option<f64>)] = &[
    ("spawn_many_local", Baseline::TokioCt, Some(0.35)),
    ("chained_spawn", Baseline::TokioCt, Some(0.40)),
    ("yield_many", Baseline::TokioCt, Some(0.70)),
    ("ping_pong", Baseline::TokioCt, Some(0.70)),
    ("channel_ring", Baseline::TokioCt, None),
    ("spawn_many_remote_idle", Baseline::TokioCt, Some(0.15)),
    ("spawn_many_remote_busy", Baseline::TokioCt, Some(0.20)),
    (
        "call_soon_threadsafe_1p",
        Baseline::Raw("raw crossbeam send"),
        Some(2.5),
    ),
    (
        "call_soon_threadsafe_2p",
        Baseline::Raw("raw crossbeam send"),
        Some(2.5),
    ),
    (
        "remote_round_trip",
        Baseline::Raw("raw eventfd+futex ping-pong"),
        Some(1.1),
    ),
    ("timers", Baseline::TokioCt, Some(0.70)),
    ("spawn_many_local_tracked", Baseline::TokioCt, None),
    ("soft_cancel", Baseline::TokioCt, None),
    ("cancel_and_wait", Baseline::TokioCt, None),
    ("spawn_blocking_idle", Baseline::TokioCt, Some(0.70)),
    ("spawn_blocking_100_in_flight", Baseline::TokioCt, None),
    ("tcp_echo_1conn", Baseline::TokioCt, Some(0.90)),
    ("tcp_echo_64conn", Baseline::TokioCt, Some(0.90)),
    ("hyper_hello", Baseline::TokioCt, Some(0.91)),
    ("spawn_at_1k_live", Baseline::TokioCtMedians, None),
    ("spawn_at_1m_live", Baseline::TokioCtMedians, None),
];

/// Second targets, against the workload's `raw` case, for workloads whose
/// row checks a target against tokio_ct: workload, the control described,
/// max of looplet / raw. Each gets a row of ratios of its own, right under
/// the workload's row ([`raw_ratio_row`]), since a row has one check.
const RAW_TARGETS: &[(&str, &str, f64)] = &[("tcp_echo_1conn", "raw mio echo loop", 1.10)];

/// What looplet's time is divided by.
#[derive(Debug, Clone, Copy)]
enum Baseline {
    /// tokio_ct's, in the same workload, round by round.
    TokioCt,
    /// tokio_ct's median, in the same workload: for the spawn-growth
    /// workloads, whose runtimes are sampled one after another (each with
    /// its own 1K and 1M runners), not in the same rounds.
    TokioCtMedians,
    /// The workload's `raw` case (a control sampled with it), described.
    Raw(&'static str),
}

/// The sampled case of `workload` on `runtime`, if any.
fn find<'a>(sampled: &'a [Sampled], workload: &str, runtime: &str) -> Option<&'a Sampled> {
    sampled
        .iter()
        .find(|s| s.case.workload == workload && s.case.runtime == runtime)
}

/// The median of `workload` on `runtime`, if it was sampled.
fn median(sampled: &[Sampled], workload: &str, runtime: &str) -> Option<f64> {
    find(sampled, workload, runtime).map(|s| s.median_ns)
}

/// `runtime`'s time over tokio_ct's in `workload`, round by round (see
/// [`paired_ratio`]).
pub fn ratio_to_tokio_ct(sampled: &[Sampled], workload: &str, runtime: &str) -> Option<f64> {
    paired_ratio(
        find(sampled, workload, runtime)?,
        find(sampled, workload, TOKIO_CT)?,
    )
}

fn time_row(sampled: &[Sampled], workload: &Workload) -> Row {
    let cells = COLUMNS.map(|column| match median(sampled, workload.name, column) {
        Some(ns) => Cell::Value(ns),
        None => match looplet_bench::missing_reason(workload.name, column) {
            Some(reason) if column != RAW && !workload.name.starts_with("control_") => {
                Cell::Missing(reason)
            }
            _ => Cell::Blank,
        },
    });
    let check = TIME_TARGETS
        .iter()
        .find(|(name, ..)| *name == workload.name)
        .map(|&(_, baseline, max)| {
            let (what, base) = match baseline {
                Baseline::TokioCt => ("looplet / tokio_ct", TOKIO_CT),
                Baseline::TokioCtMedians => ("looplet / tokio_ct, medians", TOKIO_CT),
                Baseline::Raw(what) => (what, RAW),
            };
            let looplet = find(sampled, workload.name, LOOPLET);
            let base_case = find(sampled, workload.name, base);
            let figure = match baseline {
                Baseline::TokioCtMedians => looplet
                    .zip(base_case)
                    .and_then(|(l, b)| ratio(l.median_ns, b.median_ns)),
                _ => looplet.zip(base_case).and_then(|(l, b)| paired_ratio(l, b)),
            };
            Check {
                what: match baseline {
                    Baseline::Raw(_) => format!("looplet / {what}"),
                    _ => what.to_string(),
                },
                figure,
                max,
            }
        });
    Row {
        measure: workload.name.to_string(),
        unit: format!("ns/{}", workload.unit),
        cells,
        check,
    }
}

/// The row under `workload`'s for its second target (see [`RAW_TARGETS`]):
/// each runtime's time over the `raw` control's, round by round; looplet's
/// checked against `max`. `None` if the control was not sampled.
fn raw_ratio_row(sampled: &[Sampled], workload: &str, what: &str, max: f64) -> Option<Row> {
    let raw = find(sampled, workload, RAW)?;
    let over_raw = |runtime: &str| paired_ratio(find(sampled, workload, runtime)?, raw);
    let cells = COLUMNS.map(|column| match over_raw(column) {
        _ if column == RAW => Cell::Blank,
        Some(ratio) => Cell::Value(ratio),
        None => match looplet_bench::missing_reason(workload, column) {
            Some(reason) => Cell::Missing(reason),
            None => Cell::Blank,
        },
    });
    Some(Row {
        measure: format!("{workload} / raw"),
        unit: "ratio".into(),
        cells,
        check: Some(Check {
            what: format!("looplet / {what}"),
            figure: over_raw(LOOPLET),
            max: Some(max),
        }),
    })
}

fn wake_rows(sampled: &[Sampled]) -> Vec<Row> {
    let measured = [
        ("spawn_many_remote_busy", Some(0.01)),
        ("spawn_many_remote_idle", None),
        ("call_soon_threadsafe_1p", None),
        ("call_soon_threadsafe_2p", None),
        ("remote_round_trip", None),
    ];
    measured
        .iter()
        .filter_map(|&(workload, max)| {
            let looplet = sampled
                .iter()
                .find(|s| s.case.workload == workload && s.case.runtime == LOOPLET)?;
            let per_submission = looplet.wakes_per_submission;
            // tokio's current-thread scheduler unparks its I/O driver on
            // every remote schedule: one eventfd write per submission. A
            // LocalRuntime is that scheduler too (tokio's docs: "internally
            // identical to `current_thread`", but for `spawn_local`).
            let known_one = |runtime: &str| {
                [TOKIO_CT, TOKIO_LOCAL_RUNTIME].contains(&runtime)
                    && median(sampled, workload, runtime).is_some()
                    && !workload.starts_with("call_soon")
            };
            let cells = COLUMNS.map(|column| match column {
                LOOPLET => per_submission.map_or(Cell::Blank, Cell::Value),
                _ if known_one(column) => Cell::Known(1.0, "known"),
                _ => Cell::Blank,
            });
            Some(Row {
                measure: format!("wake syscalls, {workload}"),
                unit: "per submission".into(),
                cells,
                check: max.map(|max| Check {
                    what: "looplet".into(),
                    figure: per_submission,
                    max: Some(max),
                }),
            })
        })
        .collect()
}

/// looplet's target for the p99 of a sleep's lateness, µs (both lengths).
const LATENESS_P99_MAX_US: f64 = 100.0;

/// Two rows per sleep length measured: the p50 and the p99 of the
/// lateness, each runtime's own; the p99 checked against looplet's target.
fn lateness_rows(lateness: &[Lateness]) -> Vec<Row> {
    let mut rows = Vec::new();
    for sleeps in timer_lateness::ALL {
        let of = |runtime: &str| {
            lateness
                .iter()
                .find(|l| l.sleeps.name == sleeps.name && l.runtime == runtime)
        };
        let Some(looplet) = of(LOOPLET) else {
            continue;
        };
        for (unit, p, max) in [
            ("µs late, p50", 0.50, None),
            ("µs late, p99", 0.99, Some(LATENESS_P99_MAX_US)),
        ] {
            let cells = COLUMNS.map(|column| match of(column) {
                Some(measured) => Cell::Value(measured.percentile(p)),
                None => match looplet_bench::missing_reason(sleeps.name, column) {
                    Some(reason) if column != RAW => Cell::Missing(reason),
                    _ => Cell::Blank,
                },
            });
            rows.push(Row {
                measure: format!("timer lateness, {} sleeps", sleeps.label),
                unit: unit.into(),
                cells,
                check: max.map(|max| Check {
                    what: "looplet".into(),
                    figure: Some(looplet.percentile(p)),
                    max: Some(max),
                }),
            });
        }
    }
    rows
}

fn memory_rows(footprints: &[Footprint]) -> Vec<Row> {
    let mut rows = Vec::new();
    for (unit, bytes) in [("bytes per task", true), ("allocations per task", false)] {
        for future_bytes in FUTURE_SIZES {
            let value = |runtime: &str| {
                footprints
                    .iter()
                    .find(|f| f.runtime == runtime && f.future_bytes == future_bytes)
                    .map(|f| {
                        if bytes {
                            f.bytes_per_task
                        } else {
                            f.allocations_per_task
                        }
                    })
            };
            if value(LOOPLET).is_none() {
                continue;
            }
            let cells = COLUMNS.map(|column| value(column).map_or(Cell::Blank, Cell::Value));
            let check = (bytes && future_bytes == 0).then(|| Check {
                what: "looplet".into(),
                figure: value(LOOPLET),
                max: Some(64.0),
            });
            rows.push(Row {
                measure: format!(
                    "live task, {future_bytes} B future",
                    future_bytes = future_bytes
                ),
                unit: unit.into(),
                cells,
                check,
            });
        }
    }
    rows
}

fn growth_row(sampled: &[Sampled]) -> Option<Row> {
    // The two workloads of a runtime are sampled in the same rounds (see
    // `sample_growth` in main.rs): the growth is the median of per-round
    // ratios, as for every other ratio here.
    let growth = |runtime: &str| {
        let at_1k = find(sampled, "spawn_at_1k_live", runtime)?;
        let at_1m = find(sampled, "spawn_at_1m_live", runtime)?;
        paired_ratio(at_1m, at_1k)
    };
    growth(LOOPLET)?;
    let cells = COLUMNS.map(|column| growth(column).map_or(Cell::Blank, Cell::Value));
    Some(Row {
        measure: "spawn cost growth, 1M live / 1K live".into(),
        unit: "ratio".into(),
        cells,
        check: Some(Check {
            what: "looplet".into(),
            figure: growth(LOOPLET),
            max: Some(1.5),
        }),
    })
}

/// Builds the table from the samples, the sleeps' lateness and the
/// footprints.
pub fn build(
    meta: Meta,
    sampled: &[Sampled],
    lateness: &[Lateness],
    footprints: &[Footprint],
) -> Table {
    let all = workloads::all();
    let (controls, timed): (Vec<&Workload>, Vec<&Workload>) =
        all.iter().partition(|w| w.name.starts_with("control_"));
    let mut rows = Vec::new();
    for workload in timed.iter().chain(controls.iter()) {
        if sampled.iter().any(|s| s.case.workload == workload.name) {
            rows.push(time_row(sampled, workload));
            for &(_, what, max) in RAW_TARGETS.iter().filter(|(w, ..)| *w == workload.name) {
                rows.extend(raw_ratio_row(sampled, workload.name, what, max));
            }
        }
    }
    rows.extend(wake_rows(sampled));
    rows.extend(lateness_rows(lateness));
    rows.extend(memory_rows(footprints));
    rows.extend(growth_row(sampled));
    Table { meta, rows }
}

/// A number for the table: three significant digits or so, no exponent.
pub fn number(x: f64) -> String {
    if !x.is_finite() {
        return "—".into();
    }
    let magnitude = x.abs();
    if magnitude == 0.0 {
        "0".into()
    } else if magnitude >= 100.0 {
        format!("{x:.0}")
    } else if magnitude >= 10.0 {
        format!("{x:.1}")
    } else if magnitude >= 0.1 {
        format!("{x:.2}")
    } else {
        format!("{x:.4}")
    }
}

const HEADER: [&str; 4] = ["checked", "of", "target", "met"];

impl Table {
    /// The footnotes: each distinct reason of a missing cell, numbered.
    fn footnotes(&self) -> Vec<&'static str> {
        let mut notes = Vec::new();
        for row in &self.rows {
            for cell in &row.cells {
                if let Cell::Missing(reason) = cell {
                    if !notes.contains(reason) {
                        notes.push(*reason);
                    }
                }
            }
        }
        notes
    }

    /// The table as markdown, with the meta line above and notes below.
    pub fn markdown(&self) -> String {
        let notes = self.footnotes();
        let mut out = String::new();
        let _ = writeln!(out, "{}\n", self.meta.line);
        let mut header = vec!["measure", "unit"];
        header.extend(COLUMNS);
        header.extend(HEADER);
        let _ = writeln!(out, "| {} |", header.join(" | "));
        let align: Vec<&str> = header
            .iter()
            .enumerate()
            .map(|(i, _)| if i < 2 { ":--" } else { "--:" })
            .collect();
        let _ = writeln!(out, "|{}|", align.join("|"));
        for row in &self.rows {
            let measure = if row.measure.contains(' ') {
                row.measure.clone()
            } else {
                format!("`{}`", row.measure)
            };
            let mut cells = vec![measure, row.unit.clone()];
            for cell in &row.cells {
                cells.push(match cell {
                    Cell::Blank => String::new(),
                    Cell::Missing(reason) => {
                        let n = notes.iter().position(|r| r == reason).unwrap() + 1;
                        format!("—<sup>{n}</sup>")
                    }
                    Cell::Value(x) => number(*x),
                    Cell::Known(x, why) => format!("{} ({why})", number(*x)),
                });
            }
            cells.extend(check_cells(row.check.as_ref()));
            let _ = writeln!(out, "| {} |", cells.join(" | "));
        }
        out.push('\n');
        for (i, note) in notes.iter().enumerate() {
            let _ = writeln!(out, "<sup>{}</sup> {note}  ", i + 1);
        }
        let _ = writeln!(
            out,
            "Values are medians of interleaved samples; ns per operation unless the unit says \
             otherwise. `raw`: the control of the row (no runtime). `checked`: the figure the \
             target is about; for a time, the median over rounds of looplet's sample divided by \
             the baseline's sample of the same round, so it can differ from the ratio of the \
             medians. tokio_local_runtime is tokio's `LocalRuntime`: its tasks are spawned with \
             `spawn_local` where tokio_ct's are spawned with `tokio::spawn`, and from another \
             thread through `Handle::spawn`, as tokio_ct's. futures' LocalPool has no join \
             handle: its tasks are awaited through `spawn_local_with_handle` (a oneshot per \
             task), and its live tasks keep no handle."
        );
        if self.rows.iter().any(|row| row.unit.starts_with("µs late")) {
            let _ = writeln!(
                out,
                "Timer lateness: a sleep's wake-up minus its deadline, sleeps one after another \
                 on an idle loop, in batches interleaved like the samples; p50 and p99 over all \
                 of a runtime's sleeps, not medians; `raw`: `std::thread::sleep` of the same \
                 length, no runtime (the machine's own tail)."
            );
        }
        out
    }

    /// The table as CSV (the same columns; numbers unformatted; `—` for a
    /// runtime that cannot do the workload, empty for "does not apply").
    pub fn csv(&self) -> String {
        let mut out = String::new();
        let mut header = vec!["measure", "unit"];
        header.extend(COLUMNS);
        header.extend(HEADER);
        let _ = writeln!(out, "{}", header.join(","));
        for row in &self.rows {
            let mut cells = vec![row.measure.clone(), row.unit.clone()];
            for cell in &row.cells {
                cells.push(match cell {
                    Cell::Blank => String::new(),
                    Cell::Missing(_) => "—".into(),
                    Cell::Value(x) | Cell::Known(x, _) => format!("{x:.4}"),
                });
            }
            cells.extend(check_cells(row.check.as_ref()));
            let cells: Vec<String> = cells.iter().map(|c| csv_field(c)).collect();
            let _ = writeln!(out, "{}", cells.join(","));
        }
        out
    }
}

fn check_cells(check: Option<&Check>) -> [String; 4] {
    match check {
        None => Default::default(),
        Some(check) => [
            check.figure.map(number).unwrap_or_default(),
            check.what.clone(),
            check
                .max
                .map(|m| format!("≤ {}", number(m)))
                .unwrap_or_default(),
            check.met().to_string(),
        ],
    }
}

fn csv_field(field: &str) -> String {
    if field.contains([',', '"', '\n']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use looplet_bench::runtimes::{ASYNC_EXECUTOR_LOCAL, TOKIO_LOCALSET};

    /// The index of `runtime`'s cell in a row.
    fn column(runtime: &str) -> usize {
        COLUMNS.iter().position(|c| *c == runtime).unwrap()
    }

    #[test]
    fn numbers_keep_about_three_digits() {
        assert_eq!(number(1234.6), "1235");
        assert_eq!(number(42.26), "42.3");
        assert_eq!(number(0.346), "0.35");
        assert_eq!(number(0.0012), "0.0012");
        assert_eq!(number(0.0), "0");
    }

    #[test]
    fn a_check_is_met_at_or_under_its_target() {
        let check = |figure| Check {
            what: String::new(),
            figure: Some(figure),
            max: Some(0.35),
        };
        assert_eq!(check(0.35).met(), "yes");
        assert_eq!(check(0.36).met(), "NO");
    }

    #[test]
    fn lateness_rows_check_looplets_p99_and_footnote_runtimes_without_timers() {
        let measured = |runtime, us| Lateness {
            sleeps: timer_lateness::SLEEP_1MS,
            runtime,
            lateness_us: vec![us; 10],
        };
        let rows = lateness_rows(&[measured(LOOPLET, 40.0), measured(TOKIO_CT, 1100.0)]);
        let units: Vec<&str> = rows.iter().map(|row| row.unit.as_str()).collect();
        assert_eq!(units, ["µs late, p50", "µs late, p99"], "1 ms only");
        let p99 = &rows[1];
        assert_eq!(p99.measure, "timer lateness, 1 ms sleeps");
        assert_eq!(p99.cells[column(LOOPLET)], Cell::Value(40.0));
        assert_eq!(p99.cells[column(TOKIO_CT)], Cell::Value(1100.0));
        for can_sleep in [TOKIO_LOCALSET, TOKIO_LOCAL_RUNTIME] {
            assert_eq!(p99.cells[column(can_sleep)], Cell::Blank, "not measured");
        }
        assert!(matches!(
            p99.cells[column(ASYNC_EXECUTOR_LOCAL)],
            Cell::Missing(_)
        ));
        assert_eq!(p99.cells[column(RAW)], Cell::Blank);
        assert_eq!(p99.check.as_ref().map(Check::met), Some("yes"));
        assert!(rows[0].check.is_none());
    }

    #[test]
    fn tcp_echo_checks_tokio_in_its_row_and_raw_in_the_row_under_it() {
        let sampled = |runtime, ns: f64| Sampled {
            case: looplet_bench::Case {
                workload: "tcp_echo_1conn",
                runtime,
                elements_per_iter: 1,
                build: || -> Box<dyn looplet_bench::Runner> { unreachable!() },
            },
            iters_per_sample: 1,
            samples_ns: vec![ns; 3],
            median_ns: ns,
            wakes_per_submission: None,
        };
        let samples = [
            sampled(LOOPLET, 11.0),
            sampled(TOKIO_CT, 20.0),
            sampled(RAW, 10.0),
        ];
        let meta = Meta {
            line: String::new(),
        };
        let table = build(meta, &samples, &[], &[]);
        let measures: Vec<&str> = table.rows.iter().map(|r| r.measure.as_str()).collect();
        assert_eq!(measures, ["tcp_echo_1conn", "tcp_echo_1conn / raw"]);
        let (row, under) = (&table.rows[0], &table.rows[1]);
        assert_eq!(
            row.cells[column(RAW)],
            Cell::Value(10.0),
            "the control's time"
        );
        assert!(
            matches!(row.cells[column(ASYNC_EXECUTOR_LOCAL)], Cell::Missing(_)),
            "no sockets"
        );
        assert_eq!(
            row.cells[column(TOKIO_LOCAL_RUNTIME)],
            Cell::Blank,
            "not sampled"
        );
        let check = row.check.as_ref().unwrap();
        assert_eq!(
            (check.what.as_str(), check.figure),
            ("looplet / tokio_ct", Some(0.55))
        );
        assert_eq!(check.met(), "yes");
        assert_eq!(under.cells[column(LOOPLET)], Cell::Value(1.1));
        assert_eq!(under.cells[column(TOKIO_CT)], Cell::Value(2.0));
        assert_eq!(under.cells[column(RAW)], Cell::Blank);
        let check = under.check.as_ref().unwrap();
        assert_eq!(check.what, "looplet / raw mio echo loop");
        assert_eq!(check.met(), "yes", "1.10 is at the target");
    }

    /// tokio's "one eventfd write per remote spawn" is shown for tokio_ct
    /// and tokio_local_runtime (one scheduler) where they were sampled, and
    /// only in rows of spawns (not of tokio's channel, `call_soon_*`).
    #[test]
    fn wake_rows_show_tokios_known_figure_where_a_tokio_scheduler_was_sampled() {
        let sampled = |workload, runtime| Sampled {
            case: looplet_bench::Case {
                workload,
                runtime,
                elements_per_iter: 1,
                build: || -> Box<dyn looplet_bench::Runner> { unreachable!() },
            },
            iters_per_sample: 1,
            samples_ns: vec![1.0; 3],
            median_ns: 1.0,
            wakes_per_submission: Some(0.5),
        };
        let mut samples = Vec::new();
        for workload in ["remote_round_trip", "call_soon_threadsafe_1p"] {
            for runtime in [LOOPLET, TOKIO_CT, TOKIO_LOCAL_RUNTIME] {
                samples.push(sampled(workload, runtime));
            }
        }
        let rows = wake_rows(&samples);
        let [call_soon, round_trip] = [&rows[0], &rows[1]];
        assert_eq!(round_trip.measure, "wake syscalls, remote_round_trip");
        assert_eq!(round_trip.cells[column(LOOPLET)], Cell::Value(0.5));
        for tokio in [TOKIO_CT, TOKIO_LOCAL_RUNTIME] {
            assert_eq!(round_trip.cells[column(tokio)], Cell::Known(1.0, "known"));
            assert_eq!(call_soon.cells[column(tokio)], Cell::Blank);
        }
        assert_eq!(round_trip.cells[column(TOKIO_LOCALSET)], Cell::Blank);
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("plain"), "plain");
    }
}
