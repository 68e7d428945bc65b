//! `UdpSocket` on the current loop.

use crate::io::Async;
use std::fmt;
use std::io;
use std::net::SocketAddr;

/// A UDP socket on the current loop.
///
/// ```
/// # use looplet_executor as looplet;
/// # let mut event_loop = looplet::EventLoop::new()?;
/// # event_loop.block_on(async {
/// use looplet::net::UdpSocket;
/// let a = UdpSocket::bind("127.0.0.1:0".parse().unwrap())?;
/// let b = UdpSocket::bind("127.0.0.1:0".parse().unwrap())?;
/// a.send_to(b"hello", b.local_addr()?).await?;
/// let mut buf = [0; 16];
/// let (n, from) = b.recv_from(&mut buf).await?;
/// assert_eq!((&buf[..n], from), (&b"hello"[..], a.local_addr()?));
/// # std::io::Result::Ok(()) })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UdpSocket {
    inner: Async<mio::net::UdpSocket>,
}

impl UdpSocket {
    /// Binds to `addr` (port 0: any free port).
    ///
    /// # Errors
    /// The bind's error, or: outside a running loop.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// assert!(looplet::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).is_err(), "no loop here");
    /// ```
    pub fn bind(addr: SocketAddr) -> io::Result<UdpSocket> {
        let socket = mio::net::UdpSocket::bind(addr)?;
        Ok(UdpSocket {
            inner: Async::new(socket)?,
        })
    }

    /// The local address.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// # let mut event_loop = looplet::EventLoop::new()?;
    /// # event_loop.block_on(async {
    /// let socket = looplet::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap())?;
    /// assert!(socket.local_addr()?.port() > 0);
    /// # std::io::Result::Ok(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// Sends a datagram to `target`.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// # let mut event_loop = looplet::EventLoop::new()?;
    /// # event_loop.block_on(async {
    /// let socket = looplet::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap())?;
    /// let to = socket.local_addr()?;
    /// assert_eq!(socket.send_to(b"to myself", to).await?, 9);
    /// # std::io::Result::Ok(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        self.inner.write_with(|s| s.send_to(buf, target)).await
    }

    /// Receives a datagram: its length and sender.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// # let mut event_loop = looplet::EventLoop::new()?;
    /// # event_loop.block_on(async {
    /// let socket = looplet::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap())?;
    /// socket.send_to(b"echo", socket.local_addr()?).await?;
    /// let mut buf = [0; 8];
    /// assert_eq!(socket.recv_from(&mut buf).await?.0, 4);
    /// # std::io::Result::Ok(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.inner.read_with(|s| s.recv_from(buf)).await
    }

    /// Sets the default peer for [`send`](Self::send) and [`recv`](Self::recv).
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// # let mut event_loop = looplet::EventLoop::new()?;
    /// # event_loop.block_on(async {
    /// let a = looplet::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap())?;
    /// let b = looplet::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap())?;
    /// a.connect(b.local_addr()?)?;
    /// b.connect(a.local_addr()?)?;
    /// a.send(b"hi").await?;
    /// let mut buf = [0; 2];
    /// assert_eq!(b.recv(&mut buf).await?, 2);
    /// # std::io::Result::Ok(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn connect(&self, peer: SocketAddr) -> io::Result<()> {
        self.inner.get_ref().connect(peer)
    }

    /// Sends to the connected peer.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// # let mut event_loop = looplet::EventLoop::new()?;
    /// # event_loop.block_on(async {
    /// let socket = looplet::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap())?;
    /// socket.connect(socket.local_addr()?)?;
    /// assert_eq!(socket.send(b"x").await?, 1);
    /// # std::io::Result::Ok(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write_with(|s| s.send(buf)).await
    }

    /// Receives from the connected peer.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// # let mut event_loop = looplet::EventLoop::new()?;
    /// # event_loop.block_on(async {
    /// let socket = looplet::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap())?;
    /// socket.connect(socket.local_addr()?)?;
    /// socket.send(b"loop").await?;
    /// let mut buf = [0; 4];
    /// assert_eq!(socket.recv(&mut buf).await?, 4);
    /// # std::io::Result::Ok(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read_with(|s| s.recv(buf)).await
    }
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpSocket")
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}
