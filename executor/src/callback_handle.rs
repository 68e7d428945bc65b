//! `CallbackHandle`: cancelling a callback that has not run yet.
//!
//! `call_soon`, `call_later` and `call_at` (on the `EventLoop`, or the free
//! functions inside a task) store the callback in the loop's callback slab
//! and return this handle, which names it by key. Cancelling takes the
//! closure out wherever it is, queued or still waiting in a timer, and drops
//! it; dropping the handle does nothing to the callback.

use crate::callbacks::{CallbackKey, LocalCallback};
use crate::clock::deadline_after;
use crate::context::{self, current};
use crate::core::Core;
use crate::timers::TimerKey;
use std::fmt;
use std::rc::{Rc, Weak};
use std::time::{Duration, Instant};

/// Cancels a callback scheduled with `call_soon`, `call_later` or `call_at`.
/// Dropping the handle does *not* cancel: the callback still runs.
///
/// ```
/// # use looplet_executor as looplet;
/// use std::time::Duration;
/// let mut event_loop = looplet::EventLoop::new()?;
/// let reminder = event_loop.call_later(Duration::from_secs(60), || println!("never"));
/// assert!(reminder.cancel(), "it had not run yet");
/// assert!(!reminder.cancel(), "cancelling twice is harmless");
/// assert_eq!(event_loop.next_deadline(), None, "its timer is gone too");
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct CallbackHandle {
    key: CallbackKey,
    /// The timer of a `call_later`/`call_at` callback, removed on cancel so
    /// it neither lingers in the heap nor shows in `next_deadline`.
    timer: Option<TimerKey>,
    /// Weak: a handle kept after its loop is gone must not keep the loop's
    /// state alive.
    core: Weak<Core>,
}

impl CallbackHandle {
    /// Queues `callback` on `core` for its next run phase.
    pub(crate) fn call_soon(core: &Rc<Core>, callback: LocalCallback) -> CallbackHandle {
        CallbackHandle {
            key: core.call_soon(callback),
            timer: None,
            core: Rc::downgrade(core),
        }
    }

    /// Parks `callback` in a timer of `core` until `deadline`.
    pub(crate) fn call_at(
        core: &Rc<Core>,
        deadline: Instant,
        callback: LocalCallback,
    ) -> CallbackHandle {
        let (key, timer) = core.call_at(deadline, callback);
        CallbackHandle {
            key,
            timer: Some(timer),
            core: Rc::downgrade(core),
        }
    }

    /// Cancels the callback. Returns `true` if it had not run yet (it never
    /// will now); `false` if it already ran, was cancelled, or the loop is gone.
    pub fn cancel(&self) -> bool {
        let Some(core) = self.core.upgrade() else {
            return false;
        };
        let Some(callback) = core.cancel_callback(self.key, self.timer) else {
            return false;
        };
        // The closure's captures are user code, dropped with the loop as the
        // current one (their destructors may talk to it), and a panic in
        // their `Drop` is reported like one in an aborted task's future,
        // never propagated to the caller.
        context::as_current_if_none(&core, || {
            core.drop_user_value(|| "a callback (while cancelling it)".into(), callback);
        });
        true
    }
}

impl fmt::Debug for CallbackHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackHandle")
            .field("key", &self.key)
            .finish()
    }
}

// ----- the free functions: callbacks on the current loop ---------------------

/// Queues `callback` on the current loop (FIFO, no wake).
///
/// # Panics
/// Outside a task or callback of a running loop.
///
/// ```
/// # use looplet_executor as looplet;
/// let mut event_loop = looplet::EventLoop::new()?;
/// event_loop.block_on(async {
///     looplet::call_soon(|| println!("after this task's poll, this turn or the next"));
/// });
/// event_loop.run_until_stalled();
/// # Ok::<(), std::io::Error>(())
/// ```
#[track_caller]
pub fn call_soon(callback: impl FnOnce() + 'static) -> CallbackHandle {
    let core = current(
        "looplet::call_soon called",
        "on the loop's thread, use EventLoop::call_soon; from another thread, \
         Handle::call_soon_threadsafe",
    );
    CallbackHandle::call_soon(&core, Box::new(callback))
}

/// Runs `callback` on the current loop after `delay`.
///
/// # Panics
/// Outside a task or callback of a running loop.
///
/// ```
/// # use looplet_executor as looplet;
/// use std::time::Duration;
/// let mut event_loop = looplet::EventLoop::new()?;
/// let retry = event_loop.block_on(async {
///     looplet::call_later(Duration::from_secs(30), || println!("retry"))
/// });
/// assert!(retry.cancel());
/// # Ok::<(), std::io::Error>(())
/// ```
#[track_caller]
pub fn call_later(delay: Duration, callback: impl FnOnce() + 'static) -> CallbackHandle {
    let core = current(
        "looplet::call_later called",
        "on the loop's thread, use EventLoop::call_later",
    );
    let deadline = deadline_after(core.now(), delay);
    CallbackHandle::call_at(&core, deadline, Box::new(callback))
}

/// Runs `callback` on the current loop at `deadline`.
///
/// # Panics
/// Outside a task or callback of a running loop.
///
/// ```
/// # use looplet_executor as looplet;
/// use std::time::{Duration, Instant};
/// let mut event_loop = looplet::EventLoop::new()?;
/// let at = Instant::now() + Duration::from_millis(1);
/// event_loop.block_on(async move { drop(looplet::call_at(at, || ())) });
/// event_loop.turn(None); // sleeps until `at`, then runs it
/// assert_eq!(event_loop.metrics().callbacks_run, 1);
/// # Ok::<(), std::io::Error>(())
/// ```
#[track_caller]
pub fn call_at(deadline: Instant, callback: impl FnOnce() + 'static) -> CallbackHandle {
    let core = current(
        "looplet::call_at called",
        "on the loop's thread, use EventLoop::call_at",
    );
    CallbackHandle::call_at(&core, deadline, Box::new(callback))
}
