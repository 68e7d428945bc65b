//! "The current loop": what the free functions (`looplet::spawn`,
//! `looplet::call_soon`, `looplet::sleep`, …) act on.
//!
//! For the whole of a driving call (`run`, `block_on`, `turn`, `run_for`,
//! `run_until_stalled`, every turn of it) the loop is this thread's current
//! loop (see [`CurrentLoopGuard`]); a task or callback then reaches it
//! through this thread-local: `looplet::spawn(fut)` inside a task is
//! `current_loop.spawn(fut)`. Between driving calls there is no current
//! loop, and the free functions panic with a message saying what to use
//! instead (the `EventLoop` method on the loop's thread, a `Handle` from
//! other threads). Each free function lives next to the handle it returns
//! (`looplet::spawn` in `join_handle.rs`, `looplet::call_soon` in
//! `callback_handle.rs`, `looplet::sleep` in `time.rs`). Entering twice on
//! one thread is the "nested loop" misuse: it would block the outer loop
//! forever, so it panics at once.
//!
//! ## Two thread-local slots, and why
//!
//! This file's slot, *the current loop*, holds the whole `Core`, for the
//! free functions. The waker crate keeps a second one, *the running loop*
//! (`looplet_waker::enter`): just the loop's id and its ready queue, which
//! is all a same-thread wake needs, in a crate that knows nothing of `Core`.
//! A driving call sets both ([`enter`]). They differ in one case:
//! [`as_current_if_none`] sets only the current loop, to drop a task's
//! future between driving calls with its loop at hand; a wake made by that
//! drop then finds no running loop and takes the inject path, as a wake
//! between driving calls must (the loop counts as asleep then).

use crate::core::Core;
use std::cell::RefCell;
use std::rc::Rc;

thread_local! {
    static CURRENT: RefCell<Option<Rc<Core>>> = const { RefCell::new(None) };
}

/// While alive, `core` is the current loop of this thread, and its ready
/// queue receives the same-thread wakes.
pub(crate) struct CurrentLoopGuard {
    _ready: looplet_waker::RunningGuard,
}

#[track_caller]
pub(crate) fn enter(core: &Rc<Core>) -> CurrentLoopGuard {
    // The panic is raised out here, not in the closure, so that it reports
    // the caller's line.
    if CURRENT.with(|current| current.borrow().is_some()) {
        panic!(
            "looplet: a loop is already running on this thread (run/block_on/turn \
             called from inside a task or callback?). Loops cannot be nested: \
             spawn the future with looplet::spawn and .await its JoinHandle instead"
        );
    }
    CURRENT.with(|current| *current.borrow_mut() = Some(Rc::clone(core)));
    CurrentLoopGuard {
        _ready: looplet_waker::enter(core.loop_id(), Rc::clone(core.ready_queue())),
    }
}

impl Drop for CurrentLoopGuard {
    fn drop(&mut self) {
        let _ = CURRENT.try_with(|current| current.borrow_mut().take());
    }
}

/// The current loop, if this thread is inside a driving call.
pub(crate) fn try_current() -> Option<Rc<Core>> {
    CURRENT.try_with(|c| c.borrow().clone()).ok().flatten()
}

/// The current loop; panics when there is none, with `instead`: advice
/// that names what to use in its place (an API that exists, always).
#[track_caller]
pub(crate) fn current(what: &str, instead: &str) -> Rc<Core> {
    // A `match`, not `unwrap_or_else`: a closure would hide the caller's
    // location (`#[track_caller]` does not reach into closures).
    match try_current() {
        Some(core) => core,
        None => panic!(
            "{what} outside a running loop (only a task or callback \
             of a running loop has a current loop); {instead}"
        ),
    }
}

/// Runs `f` with `core` as the current loop, unless some loop is current
/// already (then `f` just runs). Used to drop a task's future outside a turn:
/// its destructors may need their loop (a `Sleep` cancels its timer). Only
/// the current-loop slot is set, not the waker's running-loop slot, so a
/// wake during the drop takes the inject path, as between driving calls it should.
pub(crate) fn as_current_if_none<R>(core: &Rc<Core>, f: impl FnOnce() -> R) -> R {
    let installed = CURRENT
        .try_with(|current| {
            let mut current = current.borrow_mut();
            if current.is_some() {
                return false;
            }
            *current = Some(Rc::clone(core));
            true
        })
        .unwrap_or(false);
    let result = f();
    if installed {
        let _ = CURRENT.try_with(|current| current.borrow_mut().take());
    }
    result
}
