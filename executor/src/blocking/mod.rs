//! Blocking work on threads of the loop's own pool, and how to tell it to
//! stop: docs/06-blocking.md tells the whole story. Bottom-up:
//! `token.rs` (the request to stop), `report.rs` (what a shutdown says),
//! `pool.rs` (threads and the FIFO queue), `handle.rs` (`BlockingHandle`
//! and `spawn_blocking`).

pub(crate) mod handle;
pub(crate) mod pool;
pub(crate) mod report;
pub(crate) mod token;
