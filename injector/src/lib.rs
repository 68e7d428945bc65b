//! # looplet-injector: the one door into the loop from other threads
//!
//! An event loop owns its tasks on one thread. Other threads still need to
//! hand it work ("run this callback", "this task is ready again", "spawn this
//! future"). This crate is the *only* place where that crossing happens, so the
//! only place where a reader has to think about threads at all.
//!
//! It combines three things:
//!
//! 1. an unbounded MPSC queue ([`crossbeam_channel`]) carrying messages of a
//!    type the executor chooses;
//! 2. a [`mio::Waker`] — an `eventfd` on Linux — that makes the loop's
//!    `epoll_wait` return;
//! 3. a [`SleepState`], one atomic byte that tells a producer whether the loop
//!    could be asleep. The wake *syscall* is issued only when it could; a loop
//!    that is busy running tasks will drain the queue on its next turn anyway.
//!    This is what makes a burst of cross-thread submissions cost a handful
//!    of syscalls instead of one each.
//!
//! ```text
//!   producer threads                         loop thread
//!   ───────────────                          ───────────
//!   Injector::push(msg)                      Inbox::try_recv()…  ◄─ start of every turn
//!     ├─ queue.send(msg)        ──────────►    (while not is_empty)
//!     ├─ fence(SeqCst)                       Inbox::prepare_to_sleep()
//!     └─ if state == SLEEPING                  ├─ state = SLEEPING, fence(SeqCst)
//!          state = NOTIFIED                    └─ queue empty? ─ yes ─► Poll::poll(timeout)
//!          mio::Waker::wake()   ── eventfd ──►                          (returns on eventfd)
//!                                            Inbox::woke_up()    ◄─ state = AWAKE
//! ```
//!
//! The loop owns the receiving half ([`Inbox`]). Dropping it closes the door:
//! every message still queued is dropped on the spot, and every later
//! [`Injector::push`] hands its message straight back as [`Refused`], so a
//! message is never silently stranded in a queue nobody reads.
//!
//! ```
//! use looplet_injector::{channel, Refused};
//!
//! let poll = mio::Poll::new()?;
//! let (injector, inbox) = channel::<&str>(poll.registry(), mio::Token(0), None)?;
//!
//! injector.push("hello").unwrap();         // the loop is awake: no syscall
//! assert_eq!(injector.wake_syscalls(), 0);
//! assert_eq!(inbox.try_recv(), Some("hello"));
//!
//! assert!(inbox.prepare_to_sleep());       // nothing queued: the loop may sleep
//! injector.push("wake up").unwrap();       // now the producer must wake it
//! assert_eq!(injector.wake_syscalls(), 1);
//! inbox.woke_up();
//!
//! drop(inbox);                             // the loop is gone
//! assert_eq!(injector.push("too late"), Err(Refused("too late")));
//! # Ok::<(), std::io::Error>(())
//! ```
#![forbid(unsafe_code)]

mod channel;
mod sleep_state;
mod sync;

pub use channel::{channel, Inbox, Injector, Refused, WakeHook};
pub use sleep_state::{SleepState, Wake};
