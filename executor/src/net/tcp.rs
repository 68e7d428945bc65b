//! `TcpListener` and `TcpStream` on the current loop.

use crate::io::Async;
use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr};

/// A TCP listener on the current loop.
///
/// ```
/// # use looplet_executor as looplet;
/// # let mut event_loop = looplet::EventLoop::new()?;
/// # event_loop.block_on(async {
/// let listener = looplet::net::TcpListener::bind("127.0.0.1:0".parse().unwrap())?;
/// assert!(listener.local_addr()?.port() > 0);
/// # std::io::Result::Ok(()) })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TcpListener {
    inner: Async<mio::net::TcpListener>,
}

impl TcpListener {
    /// Binds to `addr` (port 0: any free port) and listens.
    ///
    /// # Errors
    /// The bind's error, or: outside a running loop.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// let outside = looplet::net::TcpListener::bind("127.0.0.1:0".parse().unwrap());
    /// assert!(outside.is_err(), "no loop is running here");
    /// ```
    pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
        let listener = mio::net::TcpListener::bind(addr)?;
        Ok(TcpListener {
            inner: Async::new(listener)?,
        })
    }

    /// Waits for the next connection.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// # let mut event_loop = looplet::EventLoop::new()?;
    /// # event_loop.block_on(async {
    /// let listener = looplet::net::TcpListener::bind("127.0.0.1:0".parse().unwrap())?;
    /// let _client = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// let (_stream, peer) = listener.accept().await?;
    /// assert!(peer.ip().is_loopback());
    /// # std::io::Result::Ok(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (stream, peer) = self.inner.read_with(|listener| listener.accept()).await?;
        Ok((TcpStream::from_mio(stream)?, peer))
    }

    /// The address it listens on.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// # let mut event_loop = looplet::EventLoop::new()?;
    /// # event_loop.block_on(async {
    /// let listener = looplet::net::TcpListener::bind("127.0.0.1:0".parse().unwrap())?;
    /// assert!(listener.local_addr()?.ip().is_loopback());
    /// # std::io::Result::Ok(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }
}

/// A TCP connection on the current loop: `futures_io::AsyncRead` and
/// `AsyncWrite` (use `futures::AsyncReadExt`/`AsyncWriteExt` for
/// `read_exact`, `write_all`, …; `AsyncReadExt::split` gives a read half
/// and a write half that two tasks can use at once).
///
/// ```
/// # use looplet_executor as looplet;
/// # let mut event_loop = looplet::EventLoop::new()?;
/// # event_loop.block_on(async {
/// use futures::AsyncWriteExt;
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// let mut stream = looplet::net::TcpStream::connect(listener.local_addr()?).await?;
/// stream.write_all(b"hello").await?;
/// # std::io::Result::Ok(()) })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TcpStream {
    inner: Async<mio::net::TcpStream>,
}

impl TcpStream {
    fn from_mio(stream: mio::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream {
            inner: Async::new(stream)?,
        })
    }

    /// Connects to `addr`. A refused connection is an error, not a hang.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// # let mut event_loop = looplet::EventLoop::new()?;
    /// # event_loop.block_on(async {
    /// let closed = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?; // dropped: nobody listens
    /// let refused = looplet::net::TcpStream::connect(closed).await.unwrap_err();
    /// assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    /// # std::io::Result::Ok(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
        let stream = TcpStream::from_mio(mio::net::TcpStream::connect(addr)?)?;
        // A non-blocking connect finishes when the socket turns writable;
        // then the socket's error (or a peer address) says how it ended.
        loop {
            stream.inner.writable().await?;
            if let Some(error) = stream.inner.get_ref().take_error()? {
                return Err(error);
            }
            match stream.inner.get_ref().peer_addr() {
                Ok(_) => return Ok(stream),
                Err(error) if error.kind() == io::ErrorKind::NotConnected => {
                    // Writable but not connected yet: wait for the next
                    // writability (the first attempt "would block", which
                    // clears the readiness seen so far).
                    let mut first = true;
                    stream
                        .inner
                        .write_with(|_| match std::mem::take(&mut first) {
                            true => Err(io::ErrorKind::WouldBlock.into()),
                            false => Ok(()),
                        })
                        .await?;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// The peer's address.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// # let mut event_loop = looplet::EventLoop::new()?;
    /// # event_loop.block_on(async {
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let stream = looplet::net::TcpStream::connect(listener.local_addr()?).await?;
    /// assert_eq!(stream.peer_addr()?, listener.local_addr()?);
    /// # std::io::Result::Ok(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().peer_addr()
    }

    /// The local address.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// # let mut event_loop = looplet::EventLoop::new()?;
    /// # event_loop.block_on(async {
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let stream = looplet::net::TcpStream::connect(listener.local_addr()?).await?;
    /// assert!(stream.local_addr()?.ip().is_loopback());
    /// # std::io::Result::Ok(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// Turns Nagle's algorithm off (`true`): small writes go out at once.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// # let mut event_loop = looplet::EventLoop::new()?;
    /// # event_loop.block_on(async {
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let stream = looplet::net::TcpStream::connect(listener.local_addr()?).await?;
    /// stream.set_nodelay(true)?;
    /// # std::io::Result::Ok(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.inner.get_ref().set_nodelay(nodelay)
    }

    /// Shuts down the read side, the write side, or both.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// # let mut event_loop = looplet::EventLoop::new()?;
    /// # event_loop.block_on(async {
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let stream = looplet::net::TcpStream::connect(listener.local_addr()?).await?;
    /// stream.shutdown(std::net::Shutdown::Write)?; // the peer reads EOF
    /// # std::io::Result::Ok(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.get_ref().shutdown(how)
    }
}

stream_io_traits!(TcpStream);

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener")
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("local_addr", &self.local_addr().ok())
            .field("peer_addr", &self.peer_addr().ok())
            .finish()
    }
}
