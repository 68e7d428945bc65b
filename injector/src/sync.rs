//! The atomics this crate uses, swapped for loom's instrumented ones under
//! `cfg(loom)` so the model checker can explore every interleaving of the
//! sleep/notify protocol.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{fence, AtomicU8};

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{fence, AtomicU8};
