//! I/O on the loop's own `mio::Poll`: any mio source, awaited by a task.
//!
//! [`Async<T>`](Async) registers a `mio` source (a socket, a pipe) with the
//! current loop; its task then awaits readiness instead of blocking. The
//! loop learns that a source is ready from the same `epoll_wait` it sleeps
//! in for its wakes and timers (docs/09-io.md tells how), so one thread and
//! one `Poll` serve tasks, timers, wakes from other threads and sockets
//! alike. `looplet::net` builds TCP, UDP and Unix sockets on it. The
//! examples use `futures::{AsyncReadExt, AsyncWriteExt}` and `mio`'s
//! sources: add `futures = "0.3"` and `mio = { version = "1", features =
//! ["net", "os-ext"] }` to your `Cargo.toml` to write the same.
//!
//! ```
//! # use looplet_executor as looplet;
//! use looplet::io::Async;
//! use std::io::{Read, Write};
//! let mut event_loop = looplet::EventLoop::new()?;
//! let echoed = event_loop.block_on(async {
//!     let (a, b) = mio::net::UnixStream::pair()?;
//!     let (mut a, mut b) = (Async::new(a)?, Async::new(b)?);
//!     a.write_with(|mut s| s.write(b"ping")).await?;
//!     let mut buf = [0; 4];
//!     let n = b.read_with(|mut s| s.read(&mut buf)).await?;
//!     std::io::Result::Ok(buf[..n].to_vec())
//! })?;
//! assert_eq!(echoed, b"ping");
//! # Ok::<(), std::io::Error>(())
//! ```

pub(crate) mod async_io;
pub(crate) mod reactor;

pub use async_io::{Async, Readable, Writable};
