//! How a task ends, as a value: the user's output, or a [`JoinError`].
//!
//! This is the leaf every other file stands on. A task's outcome travels
//! from the task (where [`TaskFuture::poll_outcome`] produces it, or, for a
//! remote task, `run_to_outcome`) through the loop's
//! slab (type-erased, as [`Outcome`]) to whoever awaits it (a `JoinHandle`
//! downcasts it back; a `RemoteHandle` gets it typed). A panic is part of
//! the outcome, as a [`Payload`], never an unwinding loop.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A panic payload, as `std::panic::catch_unwind` returns it.
///
/// ```
/// # use looplet_executor as looplet;
/// let mut event_loop = looplet::EventLoop::new()?;
/// let task = event_loop.spawn(async { std::panic::panic_any(7_u8) });
/// let payload: looplet::Payload = event_loop.block_on(task).unwrap_err().into_panic();
/// assert_eq!(payload.downcast_ref::<u8>(), Some(&7));
/// # Ok::<(), std::io::Error>(())
/// ```
pub type Payload = Box<dyn Any + Send + 'static>;

/// The message of a panic payload: `&str` and `String` payloads, else a placeholder.
///
/// ```
/// # use looplet_executor as looplet;
/// let payload: looplet::Payload = Box::new("disk full");
/// assert_eq!(looplet::panic_message(&payload), "disk full");
/// let custom: looplet::Payload = Box::new(42);
/// assert_eq!(looplet::panic_message(&custom), "<non-string panic payload>");
/// ```
pub fn panic_message(payload: &Payload) -> &str {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "<non-string panic payload>"
    }
}

/// Why a task (or a blocking job, or a remote task) has no output.
///
/// ```
/// # use looplet_executor as looplet;
/// use looplet::JoinError;
/// let mut event_loop = looplet::EventLoop::new()?;
/// let aborted = event_loop.spawn(std::future::pending::<()>());
/// aborted.abort();
/// match event_loop.block_on(aborted) {
///     Err(JoinError::Cancelled) => {}
///     other => panic!("{other:?}"),
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
pub enum JoinError {
    /// The task was aborted before it finished (by `abort`, or by
    /// `cancel_and_wait` or a `TaskGroup` once the grace was over). A task
    /// that is soft-cancelled and returns has its own outcome instead.
    /// For a blocking job: it was cancelled before a thread started it (it
    /// never ran), or it was `abandon`ed. (Not to be confused with
    /// `looplet::Cancelled`, the error a *running* job's
    /// `CancelToken::check` returns, which is the job's own value.)
    Cancelled,
    /// The task panicked; the payload is the one given to `panic!`.
    Panicked(Payload),
    /// The loop was dropped (or unwound) before the task finished.
    LoopClosed,
}

impl JoinError {
    /// True for [`JoinError::Cancelled`].
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// let mut event_loop = looplet::EventLoop::new()?;
    /// let task = event_loop.spawn(std::future::pending::<()>());
    /// task.abort();
    /// assert!(event_loop.block_on(task).unwrap_err().is_cancelled());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self, JoinError::Cancelled)
    }

    /// True for [`JoinError::Panicked`].
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// let mut event_loop = looplet::EventLoop::new()?;
    /// let task = event_loop.spawn(async { panic!("x") });
    /// assert!(event_loop.block_on(task).unwrap_err().is_panic());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self, JoinError::Panicked(_))
    }

    /// True for [`JoinError::LoopClosed`].
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// let event_loop = looplet::EventLoop::new()?;
    /// let remote = event_loop.handle().spawn(async {});
    /// drop(event_loop); // before the task ran
    /// assert!(remote.wait().unwrap_err().is_loop_closed());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_loop_closed(&self) -> bool {
        matches!(self, JoinError::LoopClosed)
    }

    /// The panic payload, e.g. to `std::panic::resume_unwind` it.
    ///
    /// # Panics
    /// If the error is not [`JoinError::Panicked`].
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// let mut event_loop = looplet::EventLoop::new()?;
    /// let task = event_loop.spawn(async { panic!("again") });
    /// let error = event_loop.block_on(task).unwrap_err();
    /// // Re-raise it on this thread, as if the task had run here:
    /// let payload = error.into_panic();
    /// let raised = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
    ///     std::panic::resume_unwind(payload)
    /// }));
    /// assert!(raised.is_err());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn into_panic(self) -> Payload {
        match self.try_into_panic() {
            Ok(payload) => payload,
            Err(other) => panic!("JoinError::into_panic called on {other:?}"),
        }
    }

    /// The panic payload, or the error itself if it is not a panic.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// let mut event_loop = looplet::EventLoop::new()?;
    /// let task = event_loop.spawn(std::future::pending::<()>());
    /// task.abort();
    /// let error = event_loop.block_on(task).unwrap_err();
    /// assert!(error.try_into_panic().unwrap_err().is_cancelled(), "not a panic: handed back");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_into_panic(self) -> Result<Payload, JoinError> {
        match self {
            JoinError::Panicked(payload) => Ok(payload),
            other => Err(other),
        }
    }

    /// The panic message, if this is a panic with a string payload.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// let mut event_loop = looplet::EventLoop::new()?;
    /// let task = event_loop.spawn(async { panic!("bad input: {}", 3) });
    /// assert_eq!(event_loop.block_on(task).unwrap_err().panic_message(), Some("bad input: 3"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
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

/// A future the loop can poll without knowing its output type: its output
/// comes out as an [`Outcome`].
///
/// Every future is one (the blanket impl below), so a task's box holds the
/// user's future *itself*, with no wrapper around it: the box is exactly
/// as big as the future (an empty one allocates nothing), and polling it
/// goes straight to the user's `poll`. What a wrapper would add — catching a
/// poll's panic, dropping the future before anyone sees its outcome — the
/// loop does around the call (`Core::poll_task`), once for every task.
pub(crate) trait TaskFuture {
    /// Polls the future; once ready, its output boxed as `dyn Any`.
    fn poll_outcome(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Outcome>;
}

impl<F: Future> TaskFuture for F
where
    F::Output: 'static,
{
    #[inline]
    fn poll_outcome(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Outcome> {
        // `Pin<&mut Self>` *is* `Pin<&mut F>` here: no projection needed.
        self.poll(cx)
            .map(|output| Ok(Box::new(output) as Box<dyn Any>))
    }
}

/// The type-erased future the loop polls: the user's own future, boxed.
pub(crate) type BoxFuture = Pin<Box<dyn TaskFuture>>;
