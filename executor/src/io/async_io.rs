//! `Async<T>`: a mio source registered with the current loop.

use crate::context;
use crate::core::Core;
use crate::io::reactor::{Direction, SourceKey};
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

/// A mio source (`T: mio::event::Source`: a socket, a pipe) registered with
/// the current loop, whose operations a task can await.
///
/// An operation that would block returns `WouldBlock` from the source;
/// [`read_with`](Self::read_with) and [`write_with`](Self::write_with) run
/// such an operation, and when it would block, clear the source's readiness
/// and wait for the loop to report it ready again. `Async<T>` also
/// implements `futures_io::AsyncRead`/`AsyncWrite` when `T` reads/writes.
///
/// `Async` is `!Send`, and it belongs to the loop it was registered with:
/// awaiting it on another loop (one built later on the same thread, say) is
/// an error, not a wait that never ends. Dropping it deregisters the source
/// (the source itself is dropped with it).
///
/// ```
/// # use looplet_executor as looplet;
/// use looplet::io::Async;
/// let mut event_loop = looplet::EventLoop::new()?;
/// event_loop.block_on(async {
///     let (a, _b) = mio::net::UnixStream::pair()?;
///     let a = Async::new(a)?;
///     a.writable().await?; // a fresh socket can be written
///     std::io::Result::Ok(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Async<T: mio::event::Source> {
    source: Option<T>,
    key: SourceKey,
    core: Rc<Core>,
}

impl<T: mio::event::Source> Async<T> {
    /// Registers `source` with the current loop.
    ///
    /// # Errors
    /// Outside a running loop (there is no `Poll` to register with): an
    /// error of kind `Other` saying so; or the registration's own error.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// use looplet::io::Async;
    /// let (a, _b) = mio::net::UnixStream::pair()?;
    /// let outside = Async::new(a).unwrap_err();
    /// assert!(outside.to_string().contains("outside a running loop"), "{outside}");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new(mut source: T) -> io::Result<Async<T>> {
        let Some(core) = context::try_current() else {
            return Err(io::Error::other(
                "looplet: an I/O source was registered outside a running loop; \
                 create it inside a task, a callback or the future given to \
                 EventLoop::block_on",
            ));
        };
        let key = core.register_source(&mut source)?;
        Ok(Async {
            source: Some(source),
            key,
            core,
        })
    }

    /// The source.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// # let mut event_loop = looplet::EventLoop::new()?;
    /// # event_loop.block_on(async {
    /// let (a, _b) = mio::net::UnixStream::pair()?;
    /// let a = looplet::io::Async::new(a)?;
    /// assert!(a.get_ref().peer_addr().is_ok());
    /// # std::io::Result::Ok(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn get_ref(&self) -> &T {
        self.source.as_ref().expect("present until dropped")
    }

    /// The source, mutably.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// # let mut event_loop = looplet::EventLoop::new()?;
    /// # event_loop.block_on(async {
    /// let (a, _b) = mio::net::UnixStream::pair()?;
    /// let mut a = looplet::io::Async::new(a)?;
    /// let _source: &mut mio::net::UnixStream = a.get_mut();
    /// # std::io::Result::Ok(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.source.as_mut().expect("present until dropped")
    }

    /// Deregisters the source and hands it back.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// # let mut event_loop = looplet::EventLoop::new()?;
    /// # event_loop.block_on(async {
    /// let (a, _b) = mio::net::UnixStream::pair()?;
    /// let plain: mio::net::UnixStream = looplet::io::Async::new(a)?.into_inner();
    /// # drop(plain);
    /// # std::io::Result::Ok(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn into_inner(mut self) -> T {
        let mut source = self.source.take().expect("present until dropped");
        self.core.deregister_source(&mut source, self.key);
        source
    }

    /// Waits until the source is readable (or its read side closed).
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// # let mut event_loop = looplet::EventLoop::new()?;
    /// # event_loop.block_on(async {
    /// use std::io::Write;
    /// let (a, mut b) = mio::net::UnixStream::pair()?;
    /// let a = looplet::io::Async::new(a)?;
    /// b.write_all(b"x")?;
    /// a.readable().await?;
    /// # std::io::Result::Ok(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn readable(&self) -> Readable<'_, T> {
        Readable(self)
    }

    /// Waits until the source is writable (or its write side closed).
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// # let mut event_loop = looplet::EventLoop::new()?;
    /// # event_loop.block_on(async {
    /// let (a, _b) = mio::net::UnixStream::pair()?;
    /// looplet::io::Async::new(a)?.writable().await?;
    /// # std::io::Result::Ok(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn writable(&self) -> Writable<'_, T> {
        Writable(self)
    }

    /// Runs `op` until it does not return `WouldBlock`, waiting for
    /// readability in between: a read, an accept, a `recv_from`.
    ///
    /// `op` is run again from the start after each `WouldBlock`, so it
    /// must be *one* operation that either happens or not: a single `read`,
    /// not `read_exact` (which may take some bytes, then hit `WouldBlock`
    /// and lose them). For whole messages use `futures::AsyncReadExt`
    /// (`read_exact`) on the `Async` itself.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// # let mut event_loop = looplet::EventLoop::new()?;
    /// # event_loop.block_on(async {
    /// use std::io::{Read, Write};
    /// let (a, mut b) = mio::net::UnixStream::pair()?;
    /// let a = looplet::io::Async::new(a)?;
    /// b.write_all(b"hello")?;
    /// let mut buf = [0; 16];
    /// let n = a.read_with(|mut s| s.read(&mut buf)).await?; // one read: what is there
    /// assert_eq!(&buf[..n], b"hello");
    /// # std::io::Result::Ok(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn read_with<R>(&self, mut op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        loop {
            match op(self.get_ref()) {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    self.core.clear_io_ready(self.key, Direction::Read);
                    self.readable().await?;
                }
                other => return other,
            }
        }
    }

    /// Runs `op` until it does not return `WouldBlock`, waiting for
    /// writability in between: a write, a `send_to`. Like
    /// [`read_with`](Self::read_with), `op` must be one operation (a single
    /// `write`, not `write_all`, which could send a part twice).
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// # let mut event_loop = looplet::EventLoop::new()?;
    /// # event_loop.block_on(async {
    /// use std::io::Write;
    /// let (a, _b) = mio::net::UnixStream::pair()?;
    /// let a = looplet::io::Async::new(a)?;
    /// assert_eq!(a.write_with(|mut s| s.write(b"hi")).await?, 2);
    /// # std::io::Result::Ok(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn write_with<R>(&self, mut op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        loop {
            match op(self.get_ref()) {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    self.core.clear_io_ready(self.key, Direction::Write);
                    self.writable().await?;
                }
                other => return other,
            }
        }
    }

    /// Ready in `direction`? The current loop must be the source's own: its
    /// readiness is reported only by the `Poll` it was registered with.
    fn poll_ready(&self, direction: Direction, cx: &Context<'_>) -> Poll<io::Result<()>> {
        let current = context::try_current().map(|core| core.loop_id());
        if current.is_some_and(|id| id != self.core.loop_id()) {
            return Poll::Ready(Err(io::Error::other(
                "looplet: this socket belongs to another event loop (the one that was \
                 running when it was created); only that loop hears its readiness",
            )));
        }
        self.core.poll_io_ready(self.key, direction, cx).map(Ok)
    }

    /// One step of a read-like operation for a `poll_*` method: `op` once
    /// the source is ready; on `WouldBlock`, clear and wait again.
    fn poll_op<R>(
        &mut self,
        direction: Direction,
        cx: &mut Context<'_>,
        mut op: impl FnMut(&mut T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            match self.poll_ready(direction, cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                Poll::Ready(Ok(())) => {}
            }
            match op(self.get_mut()) {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    self.core.clear_io_ready(self.key, direction);
                }
                other => return Poll::Ready(other),
            }
        }
    }
}

// No pin projection: the source is only used through `&`/`&mut`.
impl<T: mio::event::Source> Unpin for Async<T> {}

/// The future of [`Async::readable`].
#[must_use = "futures do nothing unless awaited"]
pub struct Readable<'a, T: mio::event::Source>(&'a Async<T>);

/// The future of [`Async::writable`].
#[must_use = "futures do nothing unless awaited"]
pub struct Writable<'a, T: mio::event::Source>(&'a Async<T>);

impl<T: mio::event::Source> Future for Readable<'_, T> {
    type Output = io::Result<()>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.poll_ready(Direction::Read, cx)
    }
}

impl<T: mio::event::Source> Future for Writable<'_, T> {
    type Output = io::Result<()>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.poll_ready(Direction::Write, cx)
    }
}

impl<T: mio::event::Source + io::Read> futures_io::AsyncRead for Async<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = Pin::into_inner(self);
        let want = buf.len();
        let read = this.poll_op(Direction::Read, cx, |source| source.read(buf));
        if let Poll::Ready(Ok(n)) = read {
            if 0 < n && n < want {
                // A short read drained the socket's buffer: the next read
                // would block, so wait for the next edge instead of trying
                // (one syscall fewer per message, as tokio does).
                this.core.clear_io_ready(this.key, Direction::Read);
            }
        }
        read
    }
}

impl<T: mio::event::Source + io::Write> futures_io::AsyncWrite for Async<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::into_inner(self).poll_op(Direction::Write, cx, |source| source.write(buf))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::into_inner(self).poll_op(Direction::Write, cx, |source| source.flush())
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

impl<T: mio::event::Source> Drop for Async<T> {
    fn drop(&mut self) {
        if let Some(mut source) = self.source.take() {
            self.core.deregister_source(&mut source, self.key);
        }
    }
}

impl<T: mio::event::Source + fmt::Debug> fmt::Debug for Async<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Async")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl<T: mio::event::Source> fmt::Debug for Readable<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Readable")
    }
}

impl<T: mio::event::Source> fmt::Debug for Writable<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Writable")
    }
}

/// tokio's I/O traits (feature `tokio-io`), for tokio-util codecs and
/// hyper-util's `TokioIo`: the same operations as the futures-io ones.
#[cfg(feature = "tokio-io")]
mod tokio_traits {
    use super::Async;
    use std::io;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    impl<T: mio::event::Source + io::Read> tokio::io::AsyncRead for Async<T> {
        fn poll_read(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            let unfilled = buf.initialize_unfilled();
            match futures_io::AsyncRead::poll_read(self, cx, unfilled) {
                Poll::Ready(Ok(n)) => {
                    buf.advance(n);
                    Poll::Ready(Ok(()))
                }
                Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
                Poll::Pending => Poll::Pending,
            }
        }
    }

    impl<T: mio::event::Source + io::Write> tokio::io::AsyncWrite for Async<T> {
        fn poll_write(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            futures_io::AsyncWrite::poll_write(self, cx, buf)
        }

        fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            futures_io::AsyncWrite::poll_flush(self, cx)
        }

        fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            futures_io::AsyncWrite::poll_close(self, cx)
        }
    }
}
