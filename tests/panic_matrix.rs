//! The panic matrix, in the shape of tokio's `task_combinations`:
//!
//! ```text
//!   side   ∈ {local: EventLoop::spawn + JoinHandle, remote: Handle::spawn + RemoteHandle}
//! × panic  ∈ {none, in poll, in the future's Drop, in the output's Drop}
//! × handle ∈ {kept (awaited / waited), dropped, aborted}
//! × loop   ∈ {kept (run until the handle resolves), dropped before the first poll,
//!             dropped while the task is pending, dropped after the task finished}
//! ```
//!
//! Every combination: the process survives (no panic escapes the loop or a
//! handle operation that must not panic), nothing hangs (every wait is
//! bounded), every kept handle resolves with an outcome allowed for it, the
//! future is dropped exactly once and every output exactly once.
//!
//! The remote side runs its loop on its own thread, stepped by commands, and
//! uses the `RemoteHandle` from the test thread; the local side runs its loop
//! on the test thread.

mod remote_support;

use futures::FutureExt;
use looplet::{EventLoop, Handle, JoinError, JoinHandle, RemoteHandle};
use remote_support::*;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::thread;
use std::time::{Duration, Instant};

// ----- the dimensions ---------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Local,
    Remote,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PanicAt {
    Nowhere,
    Poll,
    FutureDrop,
    OutputDrop,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HandleMode {
    Kept,
    Dropped,
    Cancelled,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LoopMode {
    Kept,
    DroppedBeforePoll,
    DroppedWhilePending,
    DroppedAfterFinish,
}

const SIDES: [Side; 2] = [Side::Local, Side::Remote];
const PANICS: [PanicAt; 4] = [
    PanicAt::Nowhere,
    PanicAt::Poll,
    PanicAt::FutureDrop,
    PanicAt::OutputDrop,
];
const HANDLES: [HandleMode; 3] = [HandleMode::Kept, HandleMode::Dropped, HandleMode::Cancelled];
const LOOPS: [LoopMode; 4] = [
    LoopMode::Kept,
    LoopMode::DroppedBeforePoll,
    LoopMode::DroppedWhilePending,
    LoopMode::DroppedAfterFinish,
];

#[derive(Clone, Copy, Debug)]
struct Combo {
    side: Side,
    panic: PanicAt,
    handle: HandleMode,
    event_loop: LoopMode,
}

fn combinations() -> Vec<Combo> {
    let mut all = Vec::new();
    for side in SIDES {
        for panic in PANICS {
            for handle in HANDLES {
                for event_loop in LOOPS {
                    all.push(Combo {
                        side,
                        panic,
                        handle,
                        event_loop,
                    });
                }
            }
        }
    }
    all
}

/// The outcomes a kept (or cancelled) handle may resolve to.
fn allowed(c: Combo) -> Vec<Kind> {
    use Kind::*;
    let finished = match c.panic {
        PanicAt::Nowhere | PanicAt::OutputDrop => Ok,
        PanicAt::Poll | PanicAt::FutureDrop => Panicked,
    };
    let before_finish = matches!(
        c.event_loop,
        LoopMode::DroppedBeforePoll | LoopMode::DroppedWhilePending
    );
    match (c.side, c.event_loop, c.handle) {
        (_, _, HandleMode::Dropped) => vec![],
        (_, LoopMode::Kept, HandleMode::Kept) => vec![finished],
        (Side::Local, LoopMode::Kept, HandleMode::Cancelled) => vec![Cancelled],
        // A cancelled remote task whose Drop panics: the panic is its outcome.
        (Side::Remote, LoopMode::Kept, HandleMode::Cancelled) if c.panic == PanicAt::FutureDrop => {
            vec![Cancelled, Panicked]
        }
        (Side::Remote, LoopMode::Kept, HandleMode::Cancelled) => vec![Cancelled],
        // A JoinHandle outliving its loop reads LoopClosed if the task was
        // unfinished, or the outcome it finished with (an abort finishes it).
        (Side::Local, _, HandleMode::Kept) if before_finish => vec![LoopClosed],
        (Side::Local, _, HandleMode::Cancelled) if before_finish => vec![Cancelled],
        (Side::Local, _, _) => vec![finished],
        (Side::Remote, _, HandleMode::Kept) if before_finish => vec![LoopClosed],
        (Side::Remote, _, HandleMode::Cancelled) if before_finish => vec![Cancelled],
        (Side::Remote, _, _) => vec![finished],
    }
}

// ----- the task ------------------------------------------------------------------------

const VALUE: u32 = 7;

/// What happened to the task's values, and to deliberate panics.
#[derive(Default)]
struct Counters {
    /// Deliberate panics raised.
    raised: AtomicUsize,
    /// Deliberate panics reported to `on_unhandled_panic`.
    hook: AtomicUsize,
    /// Any other report to `on_unhandled_panic` (there should be none).
    hook_other: AtomicUsize,
    future_drops: AtomicUsize,
    outputs_made: AtomicUsize,
    output_drops: AtomicUsize,
}

impl Counters {
    fn raise(&self, message: &'static str) {
        self.raised.fetch_add(1, SeqCst);
        panic!("{}", message);
    }

    fn get(counter: &AtomicUsize) -> usize {
        counter.load(SeqCst)
    }
}

/// Pending until its gate opens; then panics or returns an [`Output`].
struct MatrixFuture {
    gate: Gate,
    panic: PanicAt,
    counters: Arc<Counters>,
}

impl Future for MatrixFuture {
    type Output = Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Output> {
        if !self.gate.poll_open(cx) {
            return Poll::Pending;
        }
        if self.panic == PanicAt::Poll {
            self.counters.raise("deliberate: in poll");
        }
        self.counters.outputs_made.fetch_add(1, SeqCst);
        Poll::Ready(Output {
            value: VALUE,
            panic_on_drop: self.panic == PanicAt::OutputDrop,
            counters: Arc::clone(&self.counters),
        })
    }
}

impl Drop for MatrixFuture {
    fn drop(&mut self) {
        self.counters.future_drops.fetch_add(1, SeqCst);
        if self.panic == PanicAt::FutureDrop && !thread::panicking() {
            self.counters.raise("deliberate: in the future's Drop");
        }
    }
}

struct Output {
    value: u32,
    panic_on_drop: bool,
    counters: Arc<Counters>,
}

impl Drop for Output {
    fn drop(&mut self) {
        self.counters.output_drops.fetch_add(1, SeqCst);
        if self.panic_on_drop && !thread::panicking() {
            self.counters.raise("deliberate: in the output's Drop");
        }
    }
}

// ----- observing ------------------------------------------------------------------------

#[derive(Debug, Default)]
struct Observed {
    /// The outcome of a kept or cancelled handle.
    outcome: Option<Kind>,
    /// Deliberate panics delivered as `JoinError::Panicked`.
    panicked_outcomes: usize,
    /// Deliberate panics met on the test thread where they belong (dropping
    /// an output, or a `RemoteHandle` that holds one).
    test_thread: usize,
    /// Panics out of calls that must never panic (loop drop, abort, …).
    escaped: Vec<String>,
}

impl Observed {
    /// Runs `f`; a panic is fine only where `allowed` (a user value's Drop
    /// running on the test thread), otherwise it escaped containment.
    fn guarded<R>(&mut self, site: &str, allowed: bool, f: impl FnOnce() -> R) -> Option<R> {
        match catch_unwind(AssertUnwindSafe(f)) {
            Ok(value) => Some(value),
            Err(payload) => {
                if allowed && is_deliberate(&*payload) {
                    self.test_thread += 1;
                } else {
                    self.escaped
                        .push(format!("{site}: {}", payload_text(&*payload)));
                }
                None
            }
        }
    }

    fn settle(&mut self, outcome: Result<Output, JoinError>) {
        self.outcome = Some(kind(&outcome));
        match outcome {
            Ok(output) => {
                assert_eq!(output.value, VALUE, "the output arrived intact");
                self.guarded("dropping the output", true, move || drop(output));
            }
            Err(JoinError::Panicked(payload)) => {
                assert!(is_deliberate(&*payload), "{}", payload_text(&*payload));
                self.panicked_outcomes += 1;
            }
            Err(_) => {}
        }
    }
}

struct Report {
    observed: Observed,
    counters: Arc<Counters>,
}

fn counting_hook(counters: &Arc<Counters>) -> impl Fn(&looplet::UnhandledPanic<'_>) + 'static {
    let counters = Arc::clone(counters);
    move |report| {
        if is_deliberate(&**report.payload) {
            counters.hook.fetch_add(1, SeqCst);
        } else {
            counters.hook_other.fetch_add(1, SeqCst);
        }
    }
}

// ----- the local side: EventLoop::spawn + JoinHandle, loop on this thread -----------------

fn run_local(c: Combo) -> Report {
    let counters = Arc::new(Counters::default());
    let mut obs = Observed::default();
    let gate = Gate::new();
    let mut event_loop = Some(
        EventLoop::builder()
            .on_unhandled_panic(counting_hook(&counters))
            .build()
            .unwrap(),
    );
    let mut handle: Option<JoinHandle<Output>> =
        Some(event_loop.as_ref().unwrap().spawn(MatrixFuture {
            gate: gate.clone(),
            panic: c.panic,
            counters: Arc::clone(&counters),
        }));

    let act = |handle: &mut Option<JoinHandle<Output>>, obs: &mut Observed| match c.handle {
        HandleMode::Kept => {}
        HandleMode::Dropped => {
            let dropped = handle.take();
            obs.guarded("dropping the JoinHandle", false, move || drop(dropped));
        }
        HandleMode::Cancelled => {
            let handle = handle.as_ref().unwrap();
            obs.guarded("JoinHandle::abort", false, || handle.abort());
        }
    };
    let turn = |event_loop: &mut Option<EventLoop>, obs: &mut Observed| {
        let event_loop = event_loop.as_mut().unwrap();
        obs.guarded("run_until_stalled", false, || {
            event_loop.run_until_stalled()
        });
    };

    match c.event_loop {
        LoopMode::Kept => {
            turn(&mut event_loop, &mut obs);
            act(&mut handle, &mut obs);
            gate.open();
            if let Some(joined) = handle.take() {
                let event_loop = event_loop.as_mut().unwrap();
                let outcome = obs
                    .guarded("block_on(JoinHandle)", false, || {
                        event_loop.block_on(looplet::timeout(WAIT, joined))
                    })
                    .map(|r| r.expect("a kept JoinHandle never resolved"));
                if let Some(outcome) = outcome {
                    obs.settle(outcome);
                }
            } else {
                // The detached task runs to its end in one pass.
                turn(&mut event_loop, &mut obs);
            }
        }
        LoopMode::DroppedBeforePoll => act(&mut handle, &mut obs),
        LoopMode::DroppedWhilePending => {
            turn(&mut event_loop, &mut obs);
            act(&mut handle, &mut obs);
        }
        LoopMode::DroppedAfterFinish => {
            turn(&mut event_loop, &mut obs);
            gate.open();
            turn(&mut event_loop, &mut obs);
            act(&mut handle, &mut obs);
        }
    }
    let dropped = event_loop.take();
    obs.guarded("dropping the EventLoop", false, move || drop(dropped));
    if let Some(joined) = handle.take() {
        let outcome = joined
            .now_or_never()
            .expect("a JoinHandle resolves once its loop is gone");
        obs.settle(outcome);
    }
    Report {
        observed: obs,
        counters,
    }
}

// ----- the remote side: Handle::spawn + RemoteHandle, loop on its own thread ---------------

enum Step {
    /// `run_until_stalled`
    Turn,
    /// `run` until `Handle::stop`
    Run,
    /// drop the loop
    Drop,
}

/// A loop on its own thread, doing one step per command and acknowledging
/// each with `Err(message)` if a panic escaped it.
struct SteppedLoop {
    handle: Handle,
    steps: Sender<Step>,
    acks: Receiver<Result<(), String>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl SteppedLoop {
    fn start(counters: &Arc<Counters>) -> Self {
        let counters = Arc::clone(counters);
        let (steps, step_rx) = mpsc::channel();
        let (ack_tx, acks) = mpsc::channel();
        let (handle_tx, handle_rx) = mpsc::channel();
        let thread = thread::spawn(move || {
            let mut event_loop = Some(
                EventLoop::builder()
                    .on_unhandled_panic(counting_hook(&counters))
                    .build()
                    .unwrap(),
            );
            handle_tx
                .send(event_loop.as_ref().unwrap().handle())
                .unwrap();
            while let Ok(step) = step_rx.recv_timeout(WAIT) {
                let result = catch_unwind(AssertUnwindSafe(|| match step {
                    Step::Turn => {
                        event_loop.as_mut().unwrap().run_until_stalled();
                    }
                    Step::Run => event_loop.as_mut().unwrap().run(),
                    Step::Drop => drop(event_loop.take()),
                }));
                let _ = ack_tx.send(result.map_err(|p| payload_text(&*p)));
                if event_loop.is_none() {
                    break;
                }
            }
        });
        SteppedLoop {
            handle: recv(&handle_rx, "the loop"),
            steps,
            acks,
            thread: Some(thread),
        }
    }

    fn send(&self, step: Step) {
        self.steps.send(step).expect("loop thread alive");
    }

    fn ack(&self, obs: &mut Observed, what: &str) {
        if let Err(message) = recv(&self.acks, what) {
            obs.escaped.push(format!("{what}: {message}"));
        }
    }

    fn step(&self, step: Step, obs: &mut Observed, what: &str) {
        self.send(step);
        self.ack(obs, what);
    }
}

impl Drop for SteppedLoop {
    fn drop(&mut self) {
        self.handle.stop();
        let _ = self.steps.send(Step::Drop);
        if let Some(thread) = self.thread.take() {
            let deadline = Instant::now() + WAIT;
            while !thread.is_finished() && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(1));
            }
            if thread.is_finished() {
                let _ = thread.join();
            }
        }
    }
}

fn run_remote(c: Combo) -> Report {
    let counters = Arc::new(Counters::default());
    let mut obs = Observed::default();
    let gate = Gate::new();
    let stepped = SteppedLoop::start(&counters);
    let mut handle: Option<RemoteHandle<Output>> = obs.guarded("Handle::spawn", false, || {
        stepped.handle.spawn(MatrixFuture {
            gate: gate.clone(),
            panic: c.panic,
            counters: Arc::clone(&counters),
        })
    });

    let output_drop = c.panic == PanicAt::OutputDrop;
    let act = |handle: &mut Option<RemoteHandle<Output>>, obs: &mut Observed| match c.handle {
        HandleMode::Kept => {}
        HandleMode::Dropped => {
            let dropped = handle.take();
            // Dropping a handle that holds an output drops the output here.
            obs.guarded("dropping the RemoteHandle", output_drop, move || {
                drop(dropped)
            });
        }
        HandleMode::Cancelled => {
            let handle = handle.as_ref().unwrap();
            obs.guarded("RemoteHandle::abort", false, || handle.abort());
        }
    };

    match c.event_loop {
        LoopMode::Kept => {
            stepped.step(Step::Turn, &mut obs, "first turn");
            act(&mut handle, &mut obs);
            gate.open();
            stepped.send(Step::Run);
            match &handle {
                Some(waited) => {
                    let outcome = waited
                        .wait_timeout(WAIT)
                        .expect("a kept RemoteHandle never resolved");
                    obs.settle(outcome);
                    handle = None;
                }
                None => {
                    // The gate's wake went in first: a task submitted now is
                    // polled after the detached one has run to its end.
                    let marker = stepped.handle.spawn(async {});
                    let marked = marker.wait_timeout(WAIT).expect("marker never resolved");
                    assert!(marked.is_ok(), "{marked:?}");
                }
            }
            stepped.handle.stop();
            stepped.ack(&mut obs, "run");
        }
        LoopMode::DroppedBeforePoll => act(&mut handle, &mut obs),
        LoopMode::DroppedWhilePending => {
            stepped.step(Step::Turn, &mut obs, "first turn");
            act(&mut handle, &mut obs);
        }
        LoopMode::DroppedAfterFinish => {
            stepped.step(Step::Turn, &mut obs, "first turn");
            gate.open();
            stepped.step(Step::Turn, &mut obs, "second turn");
            act(&mut handle, &mut obs);
        }
    }
    stepped.step(Step::Drop, &mut obs, "dropping the EventLoop");
    if let Some(waited) = handle.take() {
        let outcome = waited
            .wait_timeout(WAIT)
            .expect("a RemoteHandle resolves once its loop is gone");
        obs.settle(outcome);
    }
    drop(stepped);
    Report {
        observed: obs,
        counters,
    }
}

// ----- the matrix ---------------------------------------------------------------------------

/// The matrix tests run one at a time: each swaps the process-wide panic
/// hook, and interleaved swaps would let deliberate panics print.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn run_combo(c: Combo) -> Result<Report, String> {
    catch_unwind(AssertUnwindSafe(|| match c.side {
        Side::Local => run_local(c),
        Side::Remote => run_remote(c),
    }))
    .map_err(|p| format!("the combination itself failed: {}", payload_text(&*p)))
}

/// Containment, resolution and no-leak violations of one combination.
fn violations(c: Combo, report: &Report) -> Vec<String> {
    let obs = &report.observed;
    let n = &report.counters;
    let mut found = Vec::new();
    for escaped in &obs.escaped {
        found.push(format!("panic escaped: {escaped}"));
    }
    if Counters::get(&n.hook_other) != 0 {
        found.push("a foreign panic reached the unhandled-panic hook".into());
    }
    let future_drops = Counters::get(&n.future_drops);
    if future_drops != 1 {
        found.push(format!("the future was dropped {future_drops} times"));
    }
    let (made, dropped) = (
        Counters::get(&n.outputs_made),
        Counters::get(&n.output_drops),
    );
    if dropped != made {
        found.push(format!("{made} outputs made, {dropped} dropped"));
    }
    let allowed = allowed(c);
    match (c.handle, obs.outcome) {
        (HandleMode::Dropped, _) => {}
        (_, None) => found.push("a kept handle never resolved".into()),
        (_, Some(kind)) if !allowed.contains(&kind) => {
            found.push(format!("resolved {kind:?}, expected one of {allowed:?}"))
        }
        _ => {}
    }
    found
}

/// Every deliberate panic observed exactly once: as a `Panicked` outcome,
/// an unhandled-panic report, or on the test thread where it belongs.
fn accounting(report: &Report) -> Option<String> {
    let obs = &report.observed;
    let raised = Counters::get(&report.counters.raised);
    let hook = Counters::get(&report.counters.hook);
    let seen = obs.panicked_outcomes + hook + obs.test_thread;
    (raised != seen).then(|| {
        format!(
            "{raised} panics raised, {seen} observed ({} as outcomes, {hook} by the hook, \
             {} on the test thread)",
            obs.panicked_outcomes, obs.test_thread
        )
    })
}

// Also a regression test for a fixed bug: a future whose Drop panicked at completion leaked
// its output (the user future was dropped inside an `async` wrapper's poll while the output
// was in flight, which rustc leaks on unwind: rust-lang/rust#47949).
#[test]
fn every_combination_is_contained_resolves_and_drops_everything_once() {
    let _serial = serial();
    let _quiet = QuietPanics::install();
    let combos = combinations();
    let mut failures = Vec::new();
    let (mut outcomes, mut hook, mut test_thread) = (0, 0, 0);
    for &c in &combos {
        match run_combo(c) {
            Ok(report) => {
                outcomes += report.observed.panicked_outcomes;
                hook += Counters::get(&report.counters.hook);
                test_thread += report.observed.test_thread;
                for v in violations(c, &report) {
                    failures.push(format!("{c:?}: {v}"));
                }
            }
            Err(message) => failures.push(format!("{c:?}: {message}")),
        }
    }
    eprintln!(
        "panic matrix: {} combinations run; deliberate panics seen as Panicked outcomes: \
         {outcomes}, by on_unhandled_panic: {hook}, on the test thread: {test_thread}",
        combos.len()
    );
    assert_eq!(combos.len(), 2 * 4 * 3 * 4);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// Regression test for a fixed bug: deliberate panics are lost (neither an outcome nor an
// on_unhandled_panic report) in three places: (a) a remote task whose RemoteHandle was dropped
// — the remote task completes into the orphaned Shared (remote_handle.rs, Completer::resolve); (b)
// a Drop panic of an unrun submission — EventLoop::drop's `let _ = drop_caught(message)`; (c)
// a local task that finished Panicked before the loop was dropped — Core::shutdown drops its
// Finished outcome unreported and the JoinHandle reads LoopClosed
#[test]
fn every_deliberate_panic_is_observed_exactly_once() {
    let _serial = serial();
    let _quiet = QuietPanics::install();
    let mut lost = Vec::new();
    for c in combinations() {
        let report = run_combo(c).unwrap_or_else(|message| panic!("{c:?}: {message}"));
        if let Some(problem) = accounting(&report) {
            lost.push(format!("{c:?}: {problem}"));
        }
    }
    assert!(lost.is_empty(), "{}", lost.join("\n"));
}
