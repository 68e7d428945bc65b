//! Sockets on the loop's own `Poll`: TCP, UDP and (on unix) Unix sockets,
//! built on [`Async`](crate::io::Async). Each must be created inside a
//! running loop (a task, a callback, or the future given to `block_on`);
//! outside one, creating it is an `io::Error` that says so. A socket
//! belongs to that loop: it is `!Send`, so a future that holds one cannot
//! be given to `Handle::spawn`; from another thread, `Handle::spawn_with`
//! builds such a future on the loop's thread.
//!
//! ```
//! # use looplet_executor as looplet;
//! use futures::{AsyncReadExt, AsyncWriteExt};
//! use looplet::net::{TcpListener, TcpStream};
//! let mut event_loop = looplet::EventLoop::new()?;
//! let echoed = event_loop.block_on(async {
//!     let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap())?;
//!     let addr = listener.local_addr()?;
//!     let server = looplet::spawn(async move {
//!         let (mut stream, _peer) = listener.accept().await?;
//!         let mut buf = [0; 4];
//!         stream.read_exact(&mut buf).await?;
//!         stream.write_all(&buf).await?;
//!         std::io::Result::Ok(())
//!     });
//!     let mut client = TcpStream::connect(addr).await?;
//!     client.write_all(b"ping").await?;
//!     let mut buf = [0; 4];
//!     client.read_exact(&mut buf).await?;
//!     server.await.unwrap()?;
//!     std::io::Result::Ok(buf)
//! })?;
//! assert_eq!(&echoed, b"ping");
//! # Ok::<(), std::io::Error>(())
//! ```

mod tcp;
mod udp;
#[cfg(unix)]
mod unix;

pub use tcp::{TcpListener, TcpStream};
pub use udp::UdpSocket;
#[cfg(unix)]
pub use unix::{UnixListener, UnixStream};
