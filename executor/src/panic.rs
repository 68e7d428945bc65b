//! Panics never escape a task or callback into the loop.
//!
//! Every poll and every callback runs under `catch_unwind`. A caught panic
//! becomes a value: the task's handle resolves `JoinError::Panicked(payload)`;
//! if nobody holds the handle, the payload goes to the unhandled-panic hook
//! (asyncio's "Task exception was never retrieved"). User values dropped by
//! the loop itself (a finished task's output nobody collected, an aborted
//! future) are dropped under `catch_unwind` too, because a `Drop` can panic.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// A panic payload, as `std::panic::catch_unwind` returns it.
pub type Payload = Box<dyn Any + Send + 'static>;

/// What the unhandled-panic hook receives.
#[derive(Debug)]
pub struct UnhandledPanic<'a> {
    /// The task's name (or `"callback"`).
    pub task: &'a str,
    /// The panic message, if the payload was a string.
    pub message: &'a str,
    /// The payload itself, for downcasting custom payloads.
    pub payload: &'a Payload,
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

/// The message of a panic payload: `&str` and `String` payloads, else a placeholder.
pub fn panic_message(payload: &Payload) -> &str {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "<non-string panic payload>"
    }
}

/// Runs `f`, turning a panic into `Err(payload)`.
pub(crate) fn catch<R>(f: impl FnOnce() -> R) -> Result<R, Payload> {
    catch_unwind(AssertUnwindSafe(f))
}

/// Drops `value`, returning the payload if its `Drop` panicked.
pub(crate) fn drop_caught<T>(value: T) -> Result<(), Payload> {
    catch(move || drop(value))
}
