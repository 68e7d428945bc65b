//! # looplet-executor: the run loop
//!
//! This crate is the loop itself: tasks in a slab, a FIFO ready queue,
//! callbacks, timers, and the turn that ties them together. It builds on
//! `looplet-waker` (how a task gets back on the ready queue) and
//! `looplet-injector` (how other threads get work in).
//!
//! | file              | concept |
//! |-------------------|---------|
//! | `event_loop.rs`   | `EventLoop` and one turn of the loop |
//! | `core.rs`         | the loop's shared state; spawn, poll, finish |
//! | `task.rs`         | a task's slab entry and its lifecycle |
//! | `run_to_outcome.rs`       | run a future to its end, drop it, then report |
//! | `join_handle.rs`  | `JoinHandle`, `JoinError` |
//! | `handle.rs`       | `Handle`: the loop from other threads |
//! | `remote_handle.rs`| `RemoteHandle`: the outcome that always arrives |
//! | `sync.rs`         | its locks: std's, or loom's under `cfg(loom)` |
//! | `callbacks.rs`    | `call_soon`, `call_later`, `CallbackHandle` |
//! | `timers.rs`       | the timer heap |
//! | `time.rs`         | `sleep`, `timeout`, `interval`, `yield_now` |
//! | `context.rs`      | "the current loop", nested-loop detection |
//! | `message.rs`      | what crosses the injector |
//! | `panic.rs`        | catching panics; the unhandled-panic hook |
//! | `metrics.rs`      | the counters |
//! | `clock.rs`        | deadlines that saturate; host timeouts in whole ms |
//! | `free.rs`         | `looplet::spawn` & co. |
//!
//! ```
//! use looplet_executor::EventLoop;
//! let mut event_loop = EventLoop::new()?;
//! let task = event_loop.spawn(async { 6 * 7 });
//! assert_eq!(event_loop.block_on(task).unwrap(), 42);
//! # Ok::<(), std::io::Error>(())
//! ```
#![forbid(unsafe_code)]

mod builder;
mod callbacks;
mod clock;
mod context;
mod core;
mod event_loop;
mod free;
mod handle;
mod join_handle;
mod message;
mod metrics;
mod panic;
mod remote_handle;
mod run_to_outcome;
mod sync;
mod task;
mod time;
mod timers;

pub use builder::{Builder, PanicPolicy};
pub use callbacks::CallbackHandle;
pub use event_loop::{run, EventLoop, Tick, MAX_MESSAGES_PER_TURN};
pub use free::{call_at, call_later, call_soon, spawn, spawn_named};
pub use handle::{Closed, Handle};
pub use join_handle::{JoinError, JoinHandle};
pub use looplet_waker::TaskId;
pub use metrics::Metrics;
pub use panic::{panic_message, Payload, UnhandledPanic};
pub use remote_handle::RemoteHandle;
pub use time::{
    interval, sleep, sleep_until, timeout, yield_now, Elapsed, Interval, Sleep, YieldNow,
};
