//! The thread-safe primitives behind `RemoteHandle`, the blocking pool and
//! its `CancelToken`: std's, or loom's
//! instrumented copies of them under `cfg(loom)`, so the model checker can
//! explore the handle's cross-thread protocol (abort against completion, a
//! cancel or an abort against a task registering its waker, a waiter
//! against completion, handle drop against completion, submit against loop
//! drop). Why std's and not `parking_lot`'s: docs/04. The shim gives both
//! the small API the code wants:
//! `lock()` without a `Result` (a poisoned lock is still usable: the state
//! it guards is a plain enum that every writer leaves whole),
//! `wait(&mut guard)`, and a `Condvar` that skips the notify when no
//! thread waits.

#[cfg(loom)]
use loom::sync as imp;
#[cfg(not(loom))]
use std::sync as imp;

pub(crate) use imp::atomic::{AtomicBool, AtomicU32};
use imp::atomic::{AtomicUsize, Ordering::Relaxed};
pub(crate) use imp::Arc;

use std::ops::{Deref, DerefMut};
use std::time::Instant;

#[derive(Debug)]
pub(crate) struct Mutex<T>(imp::Mutex<T>);

/// Holds the guard in an `Option`, so that `Condvar::wait` can hand it to
/// the underlying condvar by value while the caller keeps a `&mut`.
pub(crate) struct MutexGuard<'a, T>(Option<imp::MutexGuard<'a, T>>);

impl<T> Mutex<T> {
    pub fn new(value: T) -> Self {
        Mutex(imp::Mutex::new(value))
    }

    pub fn lock(&self) -> MutexGuard<'_, T> {
        MutexGuard(Some(
            self.0
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        ))
    }
}

impl<T> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.0.as_ref().expect("guard present outside wait")
    }
}

impl<T> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.0.as_mut().expect("guard present outside wait")
    }
}

/// A condition variable that skips the notify when nobody waits.
///
/// std's futex-based condvar makes a `futex_wake` syscall on *every*
/// notify, waiter or not; a remote task whose handle is awaited (or simply
/// dropped) would pay it on each completion. So the waiters count
/// themselves: `sleepers` is raised *under the mutex* before a waiter
/// sleeps and lowered after it wakes. The notifier changes the guarded
/// state under the same mutex and only then reads `sleepers`; a waiter that
/// checked the state before that change was counted before it released the
/// lock, and the lock hand-over makes its count visible to the notifier
/// (a waiter that comes later sees the new state and never sleeps). The
/// loom model `loom_waiter_and_completer_never_miss_each_other` checks it.
#[derive(Debug)]
pub(crate) struct Condvar {
    inner: imp::Condvar,
    sleepers: AtomicUsize,
}

impl Condvar {
    pub fn new() -> Self {
        Condvar {
            inner: imp::Condvar::new(),
            sleepers: AtomicUsize::new(0),
        }
    }

    /// Sleeps until notified (or spuriously). The caller holds `guard` and
    /// re-checks its condition in a loop.
    pub fn wait<T>(&self, guard: &mut MutexGuard<'_, T>) {
        let inner = guard.0.take().expect("guard present");
        self.sleepers.fetch_add(1, Relaxed);
        let inner = self
            .inner
            .wait(inner)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        self.sleepers.fetch_sub(1, Relaxed);
        guard.0 = Some(inner);
    }

    /// Waits until notified or `deadline`; returns `true` if it timed out.
    /// (Under loom there is no clock: it never times out.)
    pub fn wait_until<T>(&self, guard: &mut MutexGuard<'_, T>, deadline: Instant) -> bool {
        let inner = guard.0.take().expect("guard present");
        let timeout = deadline.saturating_duration_since(Instant::now());
        self.sleepers.fetch_add(1, Relaxed);
        let (inner, result) = self
            .inner
            .wait_timeout(inner, timeout)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        self.sleepers.fetch_sub(1, Relaxed);
        guard.0 = Some(inner);
        result.timed_out()
    }

    /// Wakes one waiter, if there is any. Same rule as `notify_all`.
    pub fn notify_one(&self) {
        if self.sleepers.load(Relaxed) > 0 {
            self.inner.notify_one();
        }
    }

    /// Wakes every waiter, if there is any. Call it after changing the
    /// guarded state under the mutex (during or after that critical section).
    pub fn notify_all(&self) {
        if self.sleepers.load(Relaxed) > 0 {
            self.inner.notify_all();
        }
    }
}
