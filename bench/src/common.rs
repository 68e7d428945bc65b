//! Small runtime-neutral pieces the workloads share: the bounded wait, a
//! pending future of a chosen size, and the generic runner of workloads that
//! run on the calling thread.

use crate::Runner;
use std::cell::Cell;
use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

/// How long any cross-thread wait may take before the case panics. Generous:
/// a healthy wait is microseconds; this only turns a bug into a failure
/// instead of a hang.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// A workload that runs on the calling thread: a state (the runtime) and a
/// function doing one iteration on it.
pub struct Timed<S> {
    state: S,
    iteration: fn(&mut S),
}

impl<S: 'static> Timed<S> {
    /// A boxed runner doing `iteration(&mut state)` once per iteration.
    pub fn boxed(state: S, iteration: fn(&mut S)) -> Box<dyn Runner> {
        Box::new(Timed { state, iteration })
    }
}

impl<S> std::fmt::Debug for Timed<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Timed").finish_non_exhaustive()
    }
}

impl<S> Runner for Timed<S> {
    fn run(&mut self, iters: u64) -> Duration {
        let start = Instant::now();
        for _ in 0..iters {
            (self.iteration)(&mut self.state);
        }
        start.elapsed()
    }
}

/// Blocks the calling (foreign) thread on a future, parking between polls:
/// what `futures::executor::block_on` does, plus a deadline. Its waker is
/// made once and reused, so waiting costs no allocation.
#[derive(Debug)]
pub struct Parker {
    waker: Waker,
}

struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

impl Parker {
    /// A parker for the current thread (use it on this thread only).
    pub fn new() -> Self {
        Parker {
            waker: Waker::from(Arc::new(Unpark(thread::current()))),
        }
    }

    /// Runs `future` to completion, parking the thread until it is woken.
    ///
    /// # Panics
    /// If it takes longer than [`TIMEOUT`].
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let deadline = Instant::now() + TIMEOUT;
        let mut future = pin!(future);
        let mut cx = Context::from_waker(&self.waker);
        loop {
            if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                return output;
            }
            let now = Instant::now();
            assert!(now < deadline, "bench: no result within {TIMEOUT:?}");
            thread::park_timeout(deadline - now);
        }
    }
}

impl Default for Parker {
    fn default() -> Self {
        Self::new()
    }
}

/// A future of exactly `N` bytes that never completes: a live, pending task
/// whose future has a known size.
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct Pending<const N: usize>(pub [u8; N]);

impl<const N: usize> Pending<N> {
    /// A new pending future.
    pub fn new() -> Self {
        Pending([0; N])
    }
}

impl<const N: usize> Default for Pending<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Future for Pending<N> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}

thread_local! {
    static SINK: Cell<u64> = const { Cell::new(0) };
}

/// What a submitted callback does: adds `x` to a thread-local sum (so the
/// callback captures 8 bytes and its box is a real allocation, and the work
/// cannot be optimised away).
pub fn consume(x: u64) {
    SINK.with(|sum| sum.set(sum.get().wrapping_add(x)));
}

/// The callback every cross-thread submission carries (see [`consume`]).
pub type Job = Box<dyn FnOnce() + Send>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_futures_have_the_size_they_say() {
        assert_eq!(std::mem::size_of::<Pending<0>>(), 0);
        assert_eq!(std::mem::size_of::<Pending<64>>(), 64);
        assert_eq!(std::mem::size_of::<Pending<256>>(), 256);
    }

    #[test]
    fn parker_runs_a_future_woken_from_another_thread() {
        let (tx, rx) = futures::channel::oneshot::channel();
        let sender = thread::spawn(move || tx.send(7).unwrap());
        assert_eq!(Parker::new().block_on(rx), Ok(7));
        sender.join().unwrap();
    }
}
