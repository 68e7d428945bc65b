//! How a task ends, as a value: the user's output, or a [`JoinError`].
//!
//! This is the leaf every other file stands on. A task's outcome travels
//! from the task (where `run_to_outcome` produces it) through the loop's
//! slab (type-erased, as [`Outcome`]) to whoever awaits it (a `JoinHandle`
//! downcasts it back; a `RemoteHandle` gets it typed). A panic is part of
//! the outcome, as a [`Payload`], never an unwinding loop.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;

/// A panic payload, as `std::panic::catch_unwind` returns it.
pub type Payload = Box<dyn Any + Send + 'static>;

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

/// Why a task has no output.
pub enum JoinError {
    /// The task was aborted (or cancelled) before it finished.
    Cancelled,
    /// The task panicked; the payload is the one given to `panic!`.
    Panicked(Payload),
    /// The loop was dropped (or unwound) before the task finished.
    LoopClosed,
}

impl JoinError {
    /// True for [`JoinError::Cancelled`].
    pub fn is_cancelled(&self) -> bool {
        matches!(self, JoinError::Cancelled)
    }

    /// True for [`JoinError::Panicked`].
    pub fn is_panic(&self) -> bool {
        matches!(self, JoinError::Panicked(_))
    }

    /// True for [`JoinError::LoopClosed`].
    pub fn is_loop_closed(&self) -> bool {
        matches!(self, JoinError::LoopClosed)
    }

    /// The panic payload, e.g. to `std::panic::resume_unwind` it.
    ///
    /// # Panics
    /// If the error is not [`JoinError::Panicked`].
    pub fn into_panic(self) -> Payload {
        match self.try_into_panic() {
            Ok(payload) => payload,
            Err(other) => panic!("JoinError::into_panic called on {other:?}"),
        }
    }

    /// The panic payload, or the error itself if it is not a panic.
    pub fn try_into_panic(self) -> Result<Payload, JoinError> {
        match self {
            JoinError::Panicked(payload) => Ok(payload),
            other => Err(other),
        }
    }

    /// The panic message, if this is a panic with a string payload.
    pub fn panic_message(&self) -> Option<&str> {
        match self {
            JoinError::Panicked(payload) => Some(panic_message(payload)),
            _ => None,
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::Cancelled => f.write_str("Cancelled"),
            JoinError::Panicked(payload) => f
                .debug_tuple("Panicked")
                .field(&panic_message(payload))
                .finish(),
            JoinError::LoopClosed => f.write_str("LoopClosed"),
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::Cancelled => f.write_str("task was cancelled"),
            JoinError::Panicked(payload) => {
                write!(f, "task panicked: {}", panic_message(payload))
            }
            JoinError::LoopClosed => f.write_str("event loop closed before the task finished"),
        }
    }
}

impl std::error::Error for JoinError {}

/// How a task ended, as the loop stores it: the user's output, still
/// type-erased, or why not. The output is boxed as `dyn Any` so one slab can
/// hold tasks of every output type; for `()` the box is zero-sized and costs
/// no allocation.
pub(crate) type Outcome = Result<Box<dyn Any>, JoinError>;

/// The type-erased future the loop polls: the user's future wrapped by
/// `run_to_outcome`, producing the task's [`Outcome`].
pub(crate) type BoxFuture = Pin<Box<dyn Future<Output = Outcome>>>;
