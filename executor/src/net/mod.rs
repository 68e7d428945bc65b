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

/// The I/O traits of a stream type, each delegated to its `inner:
/// Async<_>`: futures-io's always, tokio's with the feature `tokio-io`.
/// Closing (futures' `poll_close`, tokio's `poll_shutdown`) shuts the
/// write side down: the peer reads EOF.
macro_rules! stream_io_traits {
    ($stream:ty) => {
        impl futures_io::AsyncRead for $stream {
            fn poll_read(
                mut self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                futures_io::AsyncRead::poll_read(std::pin::Pin::new(&mut self.inner), cx, buf)
            }
        }

        impl futures_io::AsyncWrite for $stream {
            fn poll_write(
                mut self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                futures_io::AsyncWrite::poll_write(std::pin::Pin::new(&mut self.inner), cx, buf)
            }

            fn poll_flush(
                mut self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                futures_io::AsyncWrite::poll_flush(std::pin::Pin::new(&mut self.inner), cx)
            }

            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                let shut = self.inner.get_ref().shutdown(std::net::Shutdown::Write);
                std::task::Poll::Ready(match shut {
                    Err(error) if error.kind() == std::io::ErrorKind::NotConnected => Ok(()),
                    other => other,
                })
            }
        }

        #[cfg(feature = "tokio-io")]
        impl tokio::io::AsyncRead for $stream {
            fn poll_read(
                mut self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                tokio::io::AsyncRead::poll_read(std::pin::Pin::new(&mut self.inner), cx, buf)
            }
        }

        #[cfg(feature = "tokio-io")]
        impl tokio::io::AsyncWrite for $stream {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                futures_io::AsyncWrite::poll_write(self, cx, buf)
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                futures_io::AsyncWrite::poll_flush(self, cx)
            }

            fn poll_shutdown(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                futures_io::AsyncWrite::poll_close(self, cx)
            }
        }
    };
}

mod tcp;
mod udp;
#[cfg(unix)]
mod unix;

pub use tcp::{TcpListener, TcpStream};
pub use udp::UdpSocket;
#[cfg(unix)]
pub use unix::{UnixListener, UnixStream};
