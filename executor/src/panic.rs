//! Panics never escape a task or callback into the loop.
//!
//! Every poll and every callback runs under `catch_unwind`. A caught panic
//! becomes a value: the task's handle resolves `JoinError::Panicked(payload)`;
//! if nobody holds the handle, the payload goes to the unhandled-panic hook
//! (asyncio's "Task exception was never retrieved"). User values dropped by
//! the loop itself (a finished task's output nobody collected, an aborted
//! future) are dropped under `catch_unwind` too, because a `Drop` can panic.
//! What a caught panic does to the loop is the [`PanicPolicy`]'s choice.

use crate::outcome::Payload;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// What the unhandled-panic hook receives.
///
/// ```
/// # use looplet_executor as looplet;
/// use std::sync::{Arc, Mutex};
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let log = Arc::clone(&seen);
/// let mut event_loop = looplet::EventLoop::builder()
///     .on_unhandled_panic(move |p| log.lock().unwrap().push(format!("{}: {}", p.task, p.message)))
///     .build()?;
/// drop(event_loop.spawn_named("worker", async { panic!("lost") })); // nobody awaits it
/// event_loop.run_until_stalled();
/// assert_eq!(*seen.lock().unwrap(), ["worker: lost"]);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct UnhandledPanic<'a> {
    /// Whose panic: the task's name (or `task #N`), or a description such
    /// as `"callback"` or `"a timer (dropped with its loop)"`.
    pub task: &'a str,
    /// The panic message: the payload if it was a string, else
    /// `"<non-string panic payload>"` (see [`payload`](Self::payload)).
    pub message: &'a str,
    /// The payload itself, for downcasting custom payloads.
    pub payload: &'a Payload,
}

/// What the loop does when a task panics. In every case the panic is caught
/// and the task's handle resolves `JoinError::Panicked`; the policy only
/// decides what happens to the loop.
///
/// ```
/// # use looplet_executor as looplet;
/// use looplet::{EventLoop, PanicPolicy};
/// let mut event_loop = EventLoop::builder().panic_policy(PanicPolicy::StopLoop).build()?;
/// let _task = event_loop.spawn(async { panic!("fatal") });
/// event_loop.run(); // returns: the panic stopped the loop
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PanicPolicy {
    /// Keep running (the default). A detached task's panic goes to the
    /// unhandled-panic hook.
    #[default]
    Continue,
    /// Stop the loop after the current turn, as if `stop()` had been called.
    StopLoop,
    /// Re-raise out of `run`/`block_on` (after the task's handle got
    /// `Panicked`); unwinding past the loop drops it, resolving every other
    /// pending `RemoteHandle` `LoopClosed`.
    Propagate,
}

/// The hook type of [`Builder::on_unhandled_panic`](crate::Builder::on_unhandled_panic).
pub type PanicHook = Box<dyn Fn(&UnhandledPanic<'_>)>;

/// The default hook: one line on stderr, like asyncio's "exception was never retrieved".
pub(crate) fn print_unhandled(p: &UnhandledPanic<'_>) {
    eprintln!(
        "looplet: {} panicked and nobody awaited it: {}",
        p.task, p.message
    );
}

/// Runs `f`, turning a panic into `Err(payload)`.
pub(crate) fn catch<R>(f: impl FnOnce() -> R) -> Result<R, Payload> {
    catch_unwind(AssertUnwindSafe(f))
}

/// Drops `value`, returning the payload if its `Drop` panicked.
pub(crate) fn drop_caught<T>(value: T) -> Result<(), Payload> {
    catch(move || drop(value))
}
