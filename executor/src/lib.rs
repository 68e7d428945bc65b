//! # looplet-executor: the run loop
//!
//! This crate is the loop itself: tasks in a slab, a FIFO ready queue,
//! callbacks, timers, and the turn that ties them together. It builds on
//! `looplet-waker` (how a task gets back on the ready queue) and
//! `looplet-injector` (how other threads get work in).
//!
//! The files, bottom-up: each imports only from its own layer or a lower
//! one (the one loop left is `builder.rs` ↔ `event_loop.rs`), so a reader
//! can start at a leaf and climb.
//!
//! | layer | file | concept |
//! |---|---|---|
//! | L0 | `outcome.rs` | how a task ends: `JoinError`, `Payload`, the erased outcome |
//! | L0 | `panic.rs` | catching panics; the unhandled-panic hook; `PanicPolicy` |
//! | L0 | `metrics.rs` | the counters |
//! | L0 | `sync.rs` | cross-thread locks: std's, or loom's under `cfg(loom)` |
//! | L0 | `precise_timer.rs` | a timerfd: wake-ups to the microsecond, not the millisecond |
//! | L0 | `clock.rs` | `Clock` (system or manual); deadlines that saturate; host timeouts |
//! | L0 | `callbacks.rs` | the callback slab and its FIFO (data only) |
//! | L0 | `timers.rs` | the timer heap |
//! | L0 | `introspection.rs` | `SlowPoll`, `TaskInfo`: what the loop tells about its tasks |
//! | L0 | `yield_now.rs` | `yield_now`: step aside for one turn |
//! | L0 | `blocking/token.rs` | `CancelToken`: how a blocking job hears "stop" |
//! | L0 | `blocking/report.rs` | `BlockingReport`: what a pool shutdown says |
//! | L1 | `message.rs` | what crosses the injector |
//! | L1 | `task.rs` | a task's slab entry, its lifecycle, `TaskSlab` |
//! | L1 | `run_to_outcome.rs` | a remote task's run: its future to its end, dropped, then reported to its `RemoteHandle` |
//! | L1 | `blocking/pool.rs` | the blocking pool: threads, the FIFO queue, shutdown |
//! | L2 | `core.rs` | the loop's state: the queues, the policy; spawn, poll, finish |
//! | L3 | `context.rs` | "the current loop" of this thread; nested-loop detection |
//! | L3 | `cancel.rs` | soft cancellation: `cancelled()`, `is_cancelled()` |
//! | L3 | `join_handle.rs` | `JoinHandle`; `looplet::spawn` |
//! | L3 | `callback_handle.rs` | `CallbackHandle`; `looplet::call_soon` & co. |
//! | L3 | `time.rs` | `sleep`, `timeout`, `interval` |
//! | L3 | `group.rs` | `TaskGroup`: tasks that live and end together |
//! | L3 | `remote_handle.rs` | `RemoteHandle`: the outcome that always arrives |
//! | L3 | `handle.rs` | `Handle`: the loop from other threads |
//! | L1 | `io/reactor.rs` | the reactor: I/O readiness per source, by token |
//! | L3 | `io/async_io.rs` | `Async<T>`: a mio source a task can await |
//! | L3 | `net/tcp.rs` | `TcpListener`, `TcpStream` |
//! | L3 | `net/udp.rs` | `UdpSocket` |
//! | L3 | `net/unix.rs` | `UnixListener`, `UnixStream` (unix) |
//! | L3 | `blocking/handle.rs` | `BlockingHandle`; `looplet::spawn_blocking` |
//! | L4 | `event_loop.rs` | `EventLoop` and one turn of the loop |
//! | L4 | `builder.rs` | `Builder`: a loop with other settings |
//!
//! ```
//! use looplet_executor::EventLoop;
//! let mut event_loop = EventLoop::new()?;
//! let task = event_loop.spawn(async { 6 * 7 });
//! assert_eq!(event_loop.block_on(task).unwrap(), 42);
//! # Ok::<(), std::io::Error>(())
//! ```
#![forbid(unsafe_code)]

// Bottom-up, by layer (see the table above); `blocking/` spans L0 to L3.
mod blocking;
mod callbacks;
mod clock;
mod introspection;
mod metrics;
mod outcome;
mod panic;
mod precise_timer;
mod sync;
mod timers;
mod yield_now;

mod message;
mod run_to_outcome;
mod task;

mod core;

mod callback_handle;
mod cancel;
mod context;
mod group;
mod handle;
pub mod io;
mod join_handle;
pub mod net;
mod remote_handle;
mod time;

mod builder;
mod event_loop;

pub use blocking::handle::{spawn_blocking, spawn_blocking_named, BlockingHandle};
pub use blocking::report::{BlockingReport, BlockingReportHook, JobName, StillRunning};
pub use blocking::token::{CancelToken, Cancelled};
pub use builder::Builder;
pub use callback_handle::{call_at, call_later, call_soon, CallbackHandle};
pub use cancel::{cancel_requests, cancelled, is_cancelled, until_cancelled, WhenCancelled};
pub use clock::Clock;
pub use event_loop::{run, EventLoop, Tick, MAX_MESSAGES_PER_TURN};
pub use group::{GroupError, GroupSpawner, TaskGroup};
pub use handle::{Closed, Handle};
pub use introspection::{SlowPoll, SlowPollHook, TaskInfo, TaskState};
pub use join_handle::{spawn, spawn_named, JoinHandle};
pub use looplet_waker::TaskId;
pub use metrics::Metrics;
pub use outcome::{panic_message, JoinError, Payload};
pub use panic::{PanicPolicy, UnhandledPanic};
pub use remote_handle::RemoteHandle;
pub use time::{interval, sleep, sleep_until, timeout, Elapsed, Interval, Sleep};
pub use yield_now::{yield_now, YieldNow};
