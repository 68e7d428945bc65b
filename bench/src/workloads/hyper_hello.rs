//! `hyper_hello`: a hyper 1.x HTTP/1 hello-world server on the runtime's
//! thread, loaded by a client on **another** thread. One operation = one
//! request and its full response, on a keep-alive connection.
//!
//! **The server** is the same program on every runtime: a listener on
//! loopback, [`CONNECTIONS`] connections accepted once when the runner is
//! built (so the row measures requests, not connection setup), `TCP_NODELAY`,
//! and one task per connection running
//! `hyper::server::conn::http1::Builder::new().serve_connection(io, service_fn(hello))`
//! (hyper's defaults: keep-alive, no timer), where `hello` answers every
//! request with `Full::new(Bytes::from_static(b"Hello, world!"))`. The
//! server thread blocks on its runtime until every connection has ended.
//!
//! - looplet: `looplet::net::{TcpListener, TcpStream}`, tasks by
//!   `looplet::spawn`, hyper's I/O through `FuturesIo` (the adapter of
//!   `examples/http`, copied: futures-io to `hyper::rt`).
//! - tokio_ct, tokio_localset and tokio_local_runtime:
//!   `tokio::net::{TcpListener, TcpStream}` on the runtime's I/O driver,
//!   tasks by `tokio::spawn` on tokio_ct, `spawn_local` on the other two,
//!   hyper's I/O through `TokioIo` (tokio's `AsyncRead`/`AsyncWrite` to
//!   `hyper::rt`; hyper-util's `TokioIo` is not a dependency).
//! - async-executor and futures' LocalPool have no sockets of their own
//!   (see [`crate::missing_reason`]).
//!
//! **Why it is fair.** The two adapters are the same code but for the
//! trait they call: a read goes into an 8 KiB stack buffer and is copied
//! into hyper's cursor with `ReadBufCursor::put_slice` (hyper's cursor can
//! be written in place only through `unsafe`); writes, flushes and
//! shutdowns are passed through, and neither adapter offers vectored
//! writes, so hyper flattens each response into one buffer on both. The
//! client is the same for every runtime: std's blocking sockets on the
//! thread that times the iterations.
//!
//! **The client** (the timing thread): [`CONNECTIONS`] keep-alive
//! `std::net::TcpStream`s (`TCP_NODELAY`, reads bounded by [`TIMEOUT`]).
//! A round writes `GET / HTTP/1.1\r\nHost: x\r\n\r\n` on every connection,
//! then reads each connection's whole response (the head up to its blank
//! line, then `Content-Length` bytes of body) and checks the status and the
//! body: 16 requests in flight, one per connection, so the server's turns
//! see many ready sockets, as a loaded server does. An iteration is
//! [`ROUNDS`] rounds. The time per request is the wall time of the rounds
//! over the requests: the server's work, and the client's, which is the
//! same for every runtime (the client's thread and the server's are not
//! pinned: the two run on two CPUs when the machine has them).
//!
//! No timer is pending on the server during the timed iterations (the
//! accepts are bounded by each runtime's `timeout`, which has ended by
//! then); the client's reads are bounded by [`TIMEOUT`], and dropping the
//! runner closes the connections and waits at most [`TIMEOUT`] for the
//! server thread to end.
//!
//! The row's `checked` figure is `looplet / tokio_ct` (target ≤ 0.91, i.e.
//! ≥ 1.10× tokio's requests per second).

use crate::common::TIMEOUT;
use crate::runtimes::{self, BlockOn, TokioLocalSet};
use crate::workloads::Workload;
use crate::{looplet, Case, Runner};
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use std::convert::Infallible;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::pin::Pin;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::task::{Context, Poll};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Keep-alive connections, each with one request in flight.
pub const CONNECTIONS: usize = 16;
/// Rounds per iteration (one request per connection each).
pub const ROUNDS: usize = 10;
/// The request every connection sends.
pub const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
/// The body of every response.
pub const BODY: &[u8] = b"Hello, world!";

/// hyper's hello world, served to a client on another thread.
pub const WORKLOAD: Workload = Workload {
    name: "hyper_hello",
    unit: "request",
    cases,
};

fn cases() -> Vec<Case> {
    let case = |runtime, build| Case {
        workload: WORKLOAD.name,
        runtime,
        elements_per_iter: (CONNECTIONS * ROUNDS) as u64,
        build,
    };
    vec![
        case(runtimes::LOOPLET, || start(looplet_server)),
        case(runtimes::TOKIO_CT, || start(tokio_ct_server)),
        case(runtimes::TOKIO_LOCALSET, || start(tokio_localset_server)),
        case(runtimes::TOKIO_LOCAL_RUNTIME, || {
            start(tokio_local_runtime_server)
        }),
    ]
}

/// The service: "Hello, world!" for every request.
async fn hello(
    _request: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(BODY))))
}

/// Serves one connection with hyper; a client that hangs up is not an error.
async fn serve<I: hyper::rt::Read + hyper::rt::Write + Unpin>(io: I) {
    let connection = hyper::server::conn::http1::Builder::new()
        .serve_connection(io, hyper::service::service_fn(hello));
    let _ = connection.await;
}

/// Any free port on loopback.
fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

// ---- the adapters ----------------------------------------------------------

/// A futures-io socket (looplet's) as hyper's I/O.
struct FuturesIo<S>(S);

impl<S: futures::AsyncRead + Unpin> hyper::rt::Read for FuturesIo<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        let mut chunk = [0_u8; 8192];
        let room = buf.remaining().min(chunk.len());
        let n = std::task::ready!(Pin::new(&mut self.0).poll_read(cx, &mut chunk[..room]))?;
        buf.put_slice(&chunk[..n]);
        Poll::Ready(Ok(()))
    }
}

impl<S: futures::AsyncWrite + Unpin> hyper::rt::Write for FuturesIo<S> {
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

/// A tokio socket as hyper's I/O.
struct TokioIo<S>(S);

impl<S: tokio::io::AsyncRead + Unpin> hyper::rt::Read for TokioIo<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        let mut chunk = [0_u8; 8192];
        let room = buf.remaining().min(chunk.len());
        let mut read = tokio::io::ReadBuf::new(&mut chunk[..room]);
        std::task::ready!(Pin::new(&mut self.0).poll_read(cx, &mut read))?;
        buf.put_slice(read.filled());
        Poll::Ready(Ok(()))
    }
}

impl<S: tokio::io::AsyncWrite + Unpin> hyper::rt::Write for TokioIo<S> {
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
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

// ---- the servers (each on a thread of its own) -----------------------------

/// Sends the listener's address on `ready`, accepts [`CONNECTIONS`]
/// connections and serves them until they all end.
fn looplet_server(ready: mpsc::Sender<SocketAddr>) {
    runtimes::looplet().block_on(async move {
        let listener = looplet::net::TcpListener::bind(loopback()).expect("bind");
        ready
            .send(listener.local_addr().expect("local_addr"))
            .unwrap();
        let accept_all = async {
            let mut tasks = Vec::with_capacity(CONNECTIONS);
            for _ in 0..CONNECTIONS {
                let (stream, _) = listener.accept().await.expect("accept");
                stream.set_nodelay(true).expect("nodelay");
                tasks.push(looplet::spawn(serve(FuturesIo(stream))));
            }
            tasks
        };
        let tasks = looplet::timeout(TIMEOUT, accept_all)
            .await
            .expect("bench: connections not accepted within the timeout");
        for task in tasks {
            task.await.unwrap();
        }
    });
}

/// As [`looplet_server`]; `spawn` spawns a connection's task and returns
/// its handle (`tokio::spawn` or `spawn_local`).
async fn tokio_accept_and_serve(
    ready: mpsc::Sender<SocketAddr>,
    spawn: fn(TokioIo<tokio::net::TcpStream>) -> tokio::task::JoinHandle<()>,
) {
    let listener = tokio::net::TcpListener::bind(loopback())
        .await
        .expect("bind");
    ready
        .send(listener.local_addr().expect("local_addr"))
        .unwrap();
    let accept_all = async {
        let mut tasks = Vec::with_capacity(CONNECTIONS);
        for _ in 0..CONNECTIONS {
            let (stream, _) = listener.accept().await.expect("accept");
            stream.set_nodelay(true).expect("nodelay");
            tasks.push(spawn(TokioIo(stream)));
        }
        tasks
    };
    let tasks = tokio::time::timeout(TIMEOUT, accept_all)
        .await
        .expect("bench: connections not accepted within the timeout");
    for task in tasks {
        task.await.unwrap();
    }
}

fn tokio_ct_server(ready: mpsc::Sender<SocketAddr>) {
    runtimes::tokio_ct().block_on(tokio_accept_and_serve(ready, |io| tokio::spawn(serve(io))));
}

fn tokio_localset_server(ready: mpsc::Sender<SocketAddr>) {
    TokioLocalSet::new().block_on(tokio_accept_and_serve(ready, |io| {
        tokio::task::spawn_local(serve(io))
    }));
}

/// `spawn_local` where tokio_ct has `tokio::spawn`: what `LocalRuntime`'s
/// users write. Built here, on the server's thread: it is `!Send`.
fn tokio_local_runtime_server(ready: mpsc::Sender<SocketAddr>) {
    runtimes::tokio_local_runtime().block_on(tokio_accept_and_serve(ready, |io| {
        tokio::task::spawn_local(serve(io))
    }));
}

// ---- the client (the timing thread) ----------------------------------------

/// The server's thread and the client's connections.
struct Load {
    clients: Vec<Client>,
    server: Option<(JoinHandle<()>, mpsc::Receiver<()>)>,
}

/// One keep-alive connection and its read buffer.
struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

/// Starts `server` on a thread of its own and connects the client to it.
fn start(server: fn(mpsc::Sender<SocketAddr>)) -> Box<dyn Runner> {
    let (ready, addr) = mpsc::channel();
    let (done, finished) = mpsc::channel();
    let thread = thread::Builder::new()
        .name("hyper_hello server".into())
        .spawn(move || {
            server(ready);
            let _ = done.send(());
        })
        .expect("spawn the server thread");
    let addr = addr
        .recv_timeout(TIMEOUT)
        .expect("bench: the server did not start");
    let clients = (0..CONNECTIONS)
        .map(|_| {
            let stream = TcpStream::connect(addr).expect("connect");
            stream.set_nodelay(true).expect("nodelay");
            stream.set_read_timeout(Some(TIMEOUT)).expect("timeout");
            Client {
                stream,
                buf: Vec::with_capacity(1024),
            }
        })
        .collect();
    Box::new(Load {
        clients,
        server: Some((thread, finished)),
    })
}

impl Client {
    /// Reads one whole response and checks it.
    fn read_response(&mut self) {
        self.buf.clear();
        let head_end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            self.fill();
        };
        let head = std::str::from_utf8(&self.buf[..head_end]).expect("bench: head not UTF-8");
        assert!(head.starts_with("HTTP/1.1 200 "), "bench: {head}");
        let length: usize = head
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().expect("bench: Content-Length"))
            })
            .expect("bench: no Content-Length");
        while self.buf.len() < head_end + length {
            self.fill();
        }
        assert_eq!(&self.buf[head_end..], BODY, "bench: the body differs");
    }

    /// Appends what one read returns (bounded by [`TIMEOUT`]).
    fn fill(&mut self) {
        let mut chunk = [0_u8; 1024];
        let n = self.stream.read(&mut chunk).expect("bench: response read");
        assert!(n > 0, "bench: the server closed the connection");
        self.buf.extend_from_slice(&chunk[..n]);
    }
}

impl Runner for Load {
    fn run(&mut self, iters: u64) -> Duration {
        let start = Instant::now();
        for _ in 0..iters * ROUNDS as u64 {
            for client in &mut self.clients {
                client
                    .stream
                    .write_all(REQUEST)
                    .expect("bench: request write");
            }
            for client in &mut self.clients {
                client.read_response();
            }
        }
        start.elapsed()
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        // Closing the connections ends the server's tasks, then its thread.
        self.clients.clear();
        if let Some((thread, finished)) = self.server.take() {
            match finished.recv_timeout(TIMEOUT) {
                Ok(()) => thread.join().expect("the server thread"),
                Err(RecvTimeoutError::Disconnected) if thread::panicking() => {}
                Err(RecvTimeoutError::Disconnected) => panic!("bench: the server panicked"),
                Err(RecvTimeoutError::Timeout) => panic!("bench: the server did not end"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds `case`, runs `iters` iterations and drops it, on a thread of
    /// its own; waits for it at most twice [`TIMEOUT`].
    fn run_bounded(case: Case, iters: u64) {
        let (done, finished) = mpsc::channel();
        let _detached = thread::spawn(move || {
            let mut runner = (case.build)();
            runner.run(iters);
            drop(runner);
            done.send(()).unwrap();
        });
        match finished.recv_timeout(2 * TIMEOUT) {
            Ok(()) => {}
            Err(RecvTimeoutError::Disconnected) => panic!("{case:?} panicked"),
            Err(RecvTimeoutError::Timeout) => panic!("{case:?} took too long"),
        }
    }

    #[test]
    fn every_case_answers_every_request_and_ends_when_dropped() {
        for case in cases() {
            run_bounded(case, 3);
        }
    }

    #[test]
    fn looplet_and_the_tokios_are_measured_and_the_others_footnoted() {
        let runtimes: Vec<&str> = cases().iter().map(|case| case.runtime).collect();
        assert!(runtimes.contains(&runtimes::LOOPLET));
        assert!(runtimes.contains(&runtimes::TOKIO_CT));
        assert!(runtimes.contains(&runtimes::TOKIO_LOCAL_RUNTIME));
        for case in cases() {
            assert_eq!(case.elements_per_iter, (CONNECTIONS * ROUNDS) as u64);
        }
        for runtime in [runtimes::ASYNC_EXECUTOR_LOCAL, runtimes::FUTURES_LOCALPOOL] {
            let reason = crate::missing_reason(WORKLOAD.name, runtime).unwrap();
            assert!(reason.contains("no sockets of their own"), "{reason}");
        }
    }
}
