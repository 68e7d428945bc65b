//! # looplet: a single-threaded async event loop you can read
//!
//! looplet runs `Future`s on one thread, takes work from other threads
//! through one injector, and sleeps in `epoll` when it has nothing to do.
//! It is small enough to read in an afternoon; the docs in `docs/` walk
//! through it chapter by chapter.
//!
//! ## The loop in one page
//!
//! ```text
//!   your thread (the loop thread)                 other threads
//!   ─────────────────────────────                 ─────────────
//!   EventLoop::spawn / looplet::spawn ─┐          Handle::spawn
//!   EventLoop::call_soon ──────────────┤          Handle::call_soon_threadsafe
//!   waker.wake() (same thread) ────────┤          waker.wake() (other thread)
//!                                      ▼                 │
//!                         ready queue / callbacks ◄── injector (queue + eventfd,
//!                                      │                 woken only if asleep)
//!                                      ▼
//!   EventLoop::run / block_on / turn:  drain injector → fire timers →
//!                                      (sleep in epoll if idle) → run snapshot
//! ```
//!
//! - **Tasks** live in a slab; a [`TaskId`] is `{slot, generation}`, so a
//!   waker that outlives its task is a harmless no-op.
//! - **`call_soon` never wakes** (it runs on the loop thread, which is
//!   awake); **`call_soon_threadsafe` queues and wakes** — with the wake
//!   syscall made only when the loop actually sleeps. [`Metrics`] shows it.
//! - **Panics are values**: a panicking task resolves its handle
//!   [`JoinError::Panicked`]; the loop keeps going.
//! - **Remote submissions always resolve**: a [`RemoteHandle`] gets `Ok`,
//!   `Panicked`, `Cancelled` or `LoopClosed`, whatever happens to the loop.
//!
//! ## Example
//!
//! ```
//! use looplet::{EventLoop, sleep};
//! use std::time::Duration;
//!
//! let mut event_loop = EventLoop::new()?;
//! let handle = event_loop.handle();
//!
//! // From another thread: submit a task, wait for its result.
//! let worker = std::thread::spawn(move || {
//!     handle.spawn(async { 2 + 2 }).wait_timeout(Duration::from_secs(10))
//! });
//!
//! let answer = event_loop.block_on(async {
//!     let child = looplet::spawn(async {
//!         sleep(Duration::from_millis(5)).await;
//!         40
//!     });
//!     child.await.unwrap() + 2
//! });
//! assert_eq!(answer, 42);
//! // The worker's task ran while block_on was running (or runs now).
//! event_loop.run_until_stalled();
//! # let _ = worker.join().unwrap();
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! The crates underneath, in reading order: `looplet-injector` (the one
//! cross-thread seam), `looplet-waker` (task ids and wakers),
//! `looplet-executor` (the loop).
#![forbid(unsafe_code)]

pub use looplet_executor::*;

/// The README's examples, compiled and run by `cargo test --doc` so that
/// what a newcomer copies first always works.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeExamples;
