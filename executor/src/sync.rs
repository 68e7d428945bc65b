//! The thread-safe primitives behind `RemoteHandle`: std's, or loom's
//! instrumented copies of them under `cfg(loom)`, so the model checker can
//! explore the handle's cross-thread protocol (cancel against completion,
//! handle drop against completion, submit against loop drop).
//!
//! Why std and not `parking_lot`: loom mirrors std's API, so one thin shim
//! serves both builds; and std's futex calls run under Miri, while
//! `parking_lot_core`'s are rejected by it (it passes an `&AtomicI32` where
//! the `futex` syscall takes a `*mut u32`), which would keep the remote tests
//! out of Miri. The shim gives both the small API the code wants:
//! `lock()` without a `Result` (a poisoned lock is still usable: the state
//! it guards is a plain enum that every writer leaves whole) and
//! `wait(&mut guard)`.

#[cfg(loom)]
use loom::sync as imp;
#[cfg(not(loom))]
use std::sync as imp;

pub(crate) use imp::atomic::AtomicBool;
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

#[derive(Debug)]
pub(crate) struct Condvar(imp::Condvar);

impl Condvar {
    pub fn new() -> Self {
        Condvar(imp::Condvar::new())
    }

    pub fn wait<T>(&self, guard: &mut MutexGuard<'_, T>) {
        let inner = guard.0.take().expect("guard present");
        guard.0 = Some(
            self.0
                .wait(inner)
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
    }

    /// Waits until notified or `deadline`; returns `true` if it timed out.
    /// (Under loom there is no clock: it never times out.)
    pub fn wait_until<T>(&self, guard: &mut MutexGuard<'_, T>, deadline: Instant) -> bool {
        let inner = guard.0.take().expect("guard present");
        let timeout = deadline.saturating_duration_since(Instant::now());
        let (inner, result) = self
            .0
            .wait_timeout(inner, timeout)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        guard.0 = Some(inner);
        result.timed_out()
    }

    pub fn notify_all(&self) {
        self.0.notify_all();
    }
}
