//! The free functions: act on the loop running on this thread.
//!
//! Inside a task or callback, `looplet::spawn(fut)` is
//! `current_loop.spawn(fut)`. Outside one there is no current loop, and they
//! panic with a message saying what to use instead (the `EventLoop` method
//! on the loop's thread, a `Handle` from other threads).

use crate::callbacks::CallbackHandle;
use crate::clock::deadline_after;
use crate::context::current;
use crate::join_handle::JoinHandle;
use std::future::Future;
use std::time::{Duration, Instant};

/// Spawns a task on the current loop.
///
/// # Panics
/// Outside a task or callback of a running loop.
#[track_caller]
pub fn spawn<F: Future + 'static>(future: F) -> JoinHandle<F::Output> {
    current(
        "looplet::spawn called",
        "on the loop's thread, use EventLoop::spawn; from another thread, Handle::spawn",
    )
    .spawn(future, None)
}

/// Spawns a named task on the current loop.
///
/// # Panics
/// Outside a task or callback of a running loop.
#[track_caller]
pub fn spawn_named<F: Future + 'static>(name: &str, future: F) -> JoinHandle<F::Output> {
    current(
        "looplet::spawn_named called",
        "on the loop's thread, use EventLoop::spawn_named",
    )
    .spawn(future, Some(name.into()))
}

/// Queues `callback` on the current loop (FIFO, no wake).
///
/// # Panics
/// Outside a task or callback of a running loop.
#[track_caller]
pub fn call_soon(callback: impl FnOnce() + 'static) -> CallbackHandle {
    current(
        "looplet::call_soon called",
        "on the loop's thread, use EventLoop::call_soon; from another thread, \
         Handle::call_soon_threadsafe",
    )
    .call_soon(Box::new(callback))
}

/// Runs `callback` on the current loop after `delay`.
///
/// # Panics
/// Outside a task or callback of a running loop.
#[track_caller]
pub fn call_later(delay: Duration, callback: impl FnOnce() + 'static) -> CallbackHandle {
    let core = current(
        "looplet::call_later called",
        "on the loop's thread, use EventLoop::call_later",
    );
    let deadline = deadline_after(core.now(), delay);
    core.call_at(deadline, Box::new(callback))
}

/// Runs `callback` on the current loop at `deadline`.
///
/// # Panics
/// Outside a task or callback of a running loop.
#[track_caller]
pub fn call_at(deadline: Instant, callback: impl FnOnce() + 'static) -> CallbackHandle {
    current(
        "looplet::call_at called",
        "on the loop's thread, use EventLoop::call_at",
    )
    .call_at(deadline, Box::new(callback))
}
