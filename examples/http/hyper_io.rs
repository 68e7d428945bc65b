//! hyper 1.x on looplet: the adapter from looplet's sockets (futures-io
//! traits) to hyper's own I/O traits (`hyper::rt::Read`/`Write`), and a
//! hello-world server. Shared by `examples/http/main.rs` and the test
//! `tests/hyper.rs`.
//!
//! hyper needs no runtime of its own for an HTTP/1 connection: it asks
//! for an object that reads and writes, and the connection is a future.
//! looplet runs that future as a task; its socket reads and writes wait
//! on the loop's own `Poll`.

use bytes::Bytes;
use futures::{AsyncRead, AsyncWrite};
use http_body_util::Full;
use hyper::{Request, Response};
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A looplet socket as hyper's I/O.
pub struct HyperIo<S>(pub S);

impl<S: AsyncRead + Unpin> hyper::rt::Read for HyperIo<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        // Read into a stack buffer and copy: hyper's cursor can only be
        // written without a copy through `unsafe`.
        let mut chunk = [0_u8; 8192];
        let room = buf.remaining().min(chunk.len());
        match Pin::new(&mut self.0).poll_read(cx, &mut chunk[..room]) {
            Poll::Ready(Ok(n)) => {
                buf.put_slice(&chunk[..n]);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: AsyncWrite + Unpin> hyper::rt::Write for HyperIo<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_close(cx)
    }
}

/// The service: "Hello, world!" for every request.
pub async fn hello(
    _request: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(
        b"Hello, world!",
    ))))
}

/// Accepts connections on `listener` and serves each as a looplet task.
pub async fn serve(listener: looplet::net::TcpListener) -> std::io::Result<()> {
    loop {
        let (stream, _peer) = listener.accept().await?;
        stream.set_nodelay(true)?;
        let connection = hyper::server::conn::http1::Builder::new()
            .serve_connection(HyperIo(stream), hyper::service::service_fn(hello));
        drop(looplet::spawn(async move {
            let _ = connection.await; // a client that hangs up mid-request is not our error
        }));
    }
}
