//! `UnixListener` and `UnixStream` on the current loop (unix only).

use crate::io::Async;
use std::fmt;
use std::io;
use std::net::Shutdown;
use std::os::unix::net::SocketAddr;
use std::path::Path;

/// A Unix-domain socket listener on the current loop.
///
/// ```
/// # use looplet_executor as looplet;
/// # let mut event_loop = looplet::EventLoop::new()?;
/// # event_loop.block_on(async {
/// let path = std::env::temp_dir().join(format!("looplet-doc-{}.sock", std::process::id()));
/// # let _ = std::fs::remove_file(&path);
/// let listener = looplet::net::UnixListener::bind(&path)?;
/// let _client = looplet::net::UnixStream::connect(&path).await?;
/// let (_stream, _addr) = listener.accept().await?;
/// # std::fs::remove_file(&path)?;
/// # std::io::Result::Ok(()) })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UnixListener {
    inner: Async<mio::net::UnixListener>,
}

impl UnixListener {
    /// Binds to the socket file at `path` (which must not exist).
    ///
    /// # Errors
    /// The bind's error, or: outside a running loop.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// assert!(looplet::net::UnixListener::bind("/tmp/never-bound.sock").is_err(), "no loop here");
    /// ```
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        let listener = mio::net::UnixListener::bind(path)?;
        Ok(UnixListener {
            inner: Async::new(listener)?,
        })
    }

    /// Waits for the next connection.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// # let mut event_loop = looplet::EventLoop::new()?;
    /// # event_loop.block_on(async {
    /// let path = std::env::temp_dir().join(format!("looplet-accept-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let listener = looplet::net::UnixListener::bind(&path)?;
    /// let _client = std::os::unix::net::UnixStream::connect(&path)?;
    /// let (_stream, _addr) = listener.accept().await?;
    /// # std::fs::remove_file(&path)?;
    /// # std::io::Result::Ok(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let (stream, addr) = self.inner.read_with(|listener| listener.accept()).await?;
        Ok((
            UnixStream {
                inner: Async::new(stream)?,
            },
            addr,
        ))
    }

    /// The address it listens on.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// # let mut event_loop = looplet::EventLoop::new()?;
    /// # event_loop.block_on(async {
    /// let path = std::env::temp_dir().join(format!("looplet-addr-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let listener = looplet::net::UnixListener::bind(&path)?;
    /// assert_eq!(listener.local_addr()?.as_pathname(), Some(path.as_path()));
    /// # std::fs::remove_file(&path)?;
    /// # std::io::Result::Ok(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }
}

/// A Unix-domain stream on the current loop: `futures_io::AsyncRead` and
/// `AsyncWrite`.
///
/// ```
/// # use looplet_executor as looplet;
/// # let mut event_loop = looplet::EventLoop::new()?;
/// # event_loop.block_on(async {
/// use futures::{AsyncReadExt, AsyncWriteExt};
/// let (mut a, mut b) = looplet::net::UnixStream::pair()?;
/// a.write_all(b"over a socketpair").await?;
/// let mut buf = [0; 17];
/// b.read_exact(&mut buf).await?;
/// assert_eq!(&buf, b"over a socketpair");
/// # std::io::Result::Ok(()) })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UnixStream {
    inner: Async<mio::net::UnixStream>,
}

impl UnixStream {
    /// Connects to the socket file at `path`.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// # let mut event_loop = looplet::EventLoop::new()?;
    /// # event_loop.block_on(async {
    /// let nobody = std::env::temp_dir().join("looplet-nobody-listens.sock");
    /// assert!(looplet::net::UnixStream::connect(&nobody).await.is_err());
    /// # std::io::Result::Ok(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        let stream = UnixStream {
            inner: Async::new(mio::net::UnixStream::connect(path)?)?,
        };
        stream.inner.writable().await?;
        if let Some(error) = stream.inner.get_ref().take_error()? {
            return Err(error);
        }
        Ok(stream)
    }

    /// A connected pair (`socketpair(2)`).
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// # let mut event_loop = looplet::EventLoop::new()?;
    /// # event_loop.block_on(async {
    /// let (_a, _b) = looplet::net::UnixStream::pair()?;
    /// # std::io::Result::Ok(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = mio::net::UnixStream::pair()?;
        Ok((
            UnixStream {
                inner: Async::new(a)?,
            },
            UnixStream {
                inner: Async::new(b)?,
            },
        ))
    }

    /// Shuts down the read side, the write side, or both.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// # let mut event_loop = looplet::EventLoop::new()?;
    /// # event_loop.block_on(async {
    /// use futures::AsyncReadExt;
    /// let (a, mut b) = looplet::net::UnixStream::pair()?;
    /// a.shutdown(std::net::Shutdown::Write)?;
    /// assert_eq!(b.read(&mut [0; 4]).await?, 0, "EOF");
    /// # std::io::Result::Ok(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.get_ref().shutdown(how)
    }
}

stream_io_traits!(UnixStream);

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixListener").finish_non_exhaustive()
    }
}

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixStream").finish_non_exhaustive()
    }
}
