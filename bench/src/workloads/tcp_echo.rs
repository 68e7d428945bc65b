//! `tcp_echo_1conn` and `tcp_echo_64conn`: ping-pong of 64-byte messages
//! over loopback TCP, the echo servers and the clients on the **same**
//! runtime thread. One operation = one message and its echo (the client
//! writes 64 bytes, the server reads them and writes them back, the client
//! reads all 64): a round trip, on one connection.
//!
//! - `tcp_echo_1conn`: one connection, 100 round trips per iteration, one
//!   after another. Nothing overlaps: each round trip is the whole path of
//!   a readiness runtime — a write, a read that would block, the sleep in
//!   `epoll_wait`, the event handed to the task that waits for it, and the
//!   same on the way back.
//! - `tcp_echo_64conn`: 64 connections, each doing 20 round trips at once
//!   (1,280 messages per iteration): one `epoll_wait` returns many events,
//!   so this is the cost per message of a busy loop serving many sockets.
//!
//! **What every runtime does.** The same program, with each runtime's own
//! sockets: a listener, the connections made and accepted once when the
//! runner is built (so the rows measure round trips, not connection setup),
//! `TCP_NODELAY` on both ends, and one echo task per connection, spawned
//! then and alive for the runner's life (`read` into a 4 KiB buffer,
//! `write_all` what was read, until EOF). Each iteration spawns one client
//! task per connection, which owns its stream for the iteration
//! (`write_all` 64 bytes, `read_exact` 64 bytes, compare, again) and hands
//! it back; the iteration awaits them all. The spawns (one per 100 or 20
//! round trips, a fraction of a percent) are the only work beyond the echo.
//!
//! - looplet: `looplet::net::{TcpListener, TcpStream}` (registered with
//!   the loop's own `mio::Poll`), `futures::{AsyncReadExt, AsyncWriteExt}`.
//! - tokio_ct, tokio_localset and tokio_local_runtime:
//!   `tokio::net::{TcpListener, TcpStream}` on the runtime's I/O driver
//!   (`enable_all`), `tokio::io::{AsyncReadExt, AsyncWriteExt}`; tasks by
//!   `tokio::spawn` on tokio_ct, `spawn_local` on the other two.
//! - async-executor and futures' LocalPool have no sockets of their own:
//!   they would need async-io's reactor (another runtime's, on a thread of
//!   its own), which the bench does not depend on; see
//!   [`crate::missing_reason`].
//!
//! **No timer in the timed iterations.** The connection setup is bounded by
//! each runtime's `timeout`, but the iterations are not: a pending timer
//! changes what a loop does before it sleeps (on looplet at the time of
//! writing, a `timerfd_settime` before nearly every `epoll_wait`), which
//! would measure the timer, not the echo. A lost wake-up would hang a case,
//! so the tests run every case on a thread of its own and wait for it at
//! most [`TIMEOUT`]; the `raw` loop's `epoll_wait` is bounded by
//! [`TIMEOUT`] itself.
//!
//! **The `raw` control** (`tcp_echo_1conn` only): a hand-written mio loop
//! on one thread, no runtime, no tasks, no wakers: one `Poll`, the server
//! and the client end of one connection registered edge-triggered for
//! reading and writing (as both runtimes register their sockets), each
//! end's readiness remembered as a reactor remembers it: set by an event,
//! cleared by a read that says the socket is empty — `WouldBlock`, or a
//! read shorter than its buffer (after it, any new data brings a new edge;
//! tokio's reactor clears readiness on a short read too). The reads use the
//! runtimes' buffers: the server's 4 KiB, the client's 64 bytes (its
//! `read_exact`), so the client's full read leaves it readable and its
//! next read, after the next write, would block. Per round trip that is
//! seven syscalls: write; read (would block); `epoll_wait`; the server's
//! read (short) and write; `epoll_wait`; the client's read. It is the floor
//! of the same echo without a runtime: `looplet / raw` is what the runtime
//! adds, its tasks, wakers, reactor and turns, and any syscall it makes
//! beyond those seven.
//!
//! The row's `checked` figure is `looplet / tokio_ct` (target ≤ 0.90, both
//! rows); the `raw` column holds the control's time, and the table's row
//! right under it, `tcp_echo_1conn / raw`, checks the second target,
//! `looplet / raw` ≤ 1.10 (per-round ratios, as everywhere). The control is
//! a case of the workload, sampled in the same rounds, as
//! `remote_round_trip`'s is; here tokio is the first baseline, since it is
//! what people would use instead.

use crate::common::{Timed, TIMEOUT};
use crate::runtimes::{self, BlockOn, TokioLocalSet};
use crate::workloads::Workload;
use crate::{looplet, Case, Runner};
use mio::net::TcpStream as MioTcpStream;
use mio::{Events, Interest, Poll, Token};
use std::io::{self, Read, Write};
use std::mem;
use std::net::SocketAddr;

/// The size of a message.
pub const MESSAGE: usize = 64;
/// The echo servers' read buffer (a typical echo server's).
pub const SERVER_BUFFER: usize = 4096;
/// Round trips per iteration of `tcp_echo_1conn`.
pub const ROUND_TRIPS: usize = 100;
/// Connections of `tcp_echo_64conn`.
pub const CONNECTIONS: usize = 64;
/// Round trips per connection per iteration of `tcp_echo_64conn`.
pub const ROUND_TRIPS_EACH: usize = 20;

/// One connection, one round trip at a time.
pub const ONE_CONN: Workload = Workload {
    name: "tcp_echo_1conn",
    unit: "round trip",
    cases: one_conn,
};

/// 64 connections at once.
pub const CONNS_64: Workload = Workload {
    name: "tcp_echo_64conn",
    unit: "message",
    cases: conns_64,
};

/// The shape of a workload: connections, round trips each per iteration.
#[derive(Debug, Clone, Copy)]
struct Shape {
    connections: usize,
    round_trips: usize,
}

const SHAPE_1: Shape = Shape {
    connections: 1,
    round_trips: ROUND_TRIPS,
};

const SHAPE_64: Shape = Shape {
    connections: CONNECTIONS,
    round_trips: ROUND_TRIPS_EACH,
};

fn one_conn() -> Vec<Case> {
    let case = |runtime, build| Case {
        workload: ONE_CONN.name,
        runtime,
        elements_per_iter: ROUND_TRIPS as u64,
        build,
    };
    vec![
        case(runtimes::LOOPLET, || looplet(SHAPE_1)),
        case(runtimes::TOKIO_CT, || tokio_ct(SHAPE_1)),
        case(runtimes::TOKIO_LOCALSET, || tokio_localset(SHAPE_1)),
        case(runtimes::TOKIO_LOCAL_RUNTIME, || {
            tokio_local_runtime(SHAPE_1)
        }),
        case(runtimes::RAW, raw),
    ]
}

fn conns_64() -> Vec<Case> {
    let case = |runtime, build| Case {
        workload: CONNS_64.name,
        runtime,
        elements_per_iter: (CONNECTIONS * ROUND_TRIPS_EACH) as u64,
        build,
    };
    vec![
        case(runtimes::LOOPLET, || looplet(SHAPE_64)),
        case(runtimes::TOKIO_CT, || tokio_ct(SHAPE_64)),
        case(runtimes::TOKIO_LOCALSET, || tokio_localset(SHAPE_64)),
        case(runtimes::TOKIO_LOCAL_RUNTIME, || {
            tokio_local_runtime(SHAPE_64)
        }),
    ]
}

/// Any free port on loopback.
fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// The message of round `round`: its bytes change from round to round, so
/// an echo of an older message would not compare equal.
fn message(round: usize) -> [u8; MESSAGE] {
    [round as u8; MESSAGE]
}

/// A runtime with one echo task per connection running on it, and the
/// client ends of the connections, kept between iterations. (Fields drop in
/// order: the clients first, then the runtime and its echo tasks.)
struct Echo<R, S> {
    clients: Vec<S>,
    round_trips: usize,
    rt: R,
}

// ---- looplet ---------------------------------------------------------------

fn looplet(shape: Shape) -> Box<dyn Runner> {
    let mut rt = runtimes::looplet();
    let clients = rt.block_on(async move {
        looplet::timeout(TIMEOUT, looplet_connect(shape.connections))
            .await
            .expect("bench: connections not made within the timeout")
    });
    let echo = Echo {
        clients,
        round_trips: shape.round_trips,
        rt,
    };
    Timed::boxed(echo, looplet_iteration)
}

/// Makes `n` connections, each with an echo task on its server end; returns
/// the client ends.
async fn looplet_connect(n: usize) -> Vec<looplet::net::TcpStream> {
    let listener = looplet::net::TcpListener::bind(loopback()).expect("bind");
    let addr = listener.local_addr().expect("local_addr");
    let mut clients = Vec::with_capacity(n);
    for _ in 0..n {
        let (accepted, client) =
            futures::join!(listener.accept(), looplet::net::TcpStream::connect(addr));
        let (server, client) = (accepted.expect("accept").0, client.expect("connect"));
        server.set_nodelay(true).expect("nodelay");
        client.set_nodelay(true).expect("nodelay");
        drop(looplet::spawn(looplet_serve(server)));
        clients.push(client);
    }
    clients
}

async fn looplet_serve(mut stream: looplet::net::TcpStream) {
    use futures::{AsyncReadExt, AsyncWriteExt};
    let mut buf = [0; SERVER_BUFFER];
    while let Ok(n) = stream.read(&mut buf).await {
        if n == 0 || stream.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
}

async fn looplet_client(
    mut stream: looplet::net::TcpStream,
    round_trips: usize,
) -> looplet::net::TcpStream {
    use futures::{AsyncReadExt, AsyncWriteExt};
    let mut reply = [0; MESSAGE];
    for round in 0..round_trips {
        let message = message(round);
        stream.write_all(&message).await.expect("bench: echo write");
        stream
            .read_exact(&mut reply)
            .await
            .expect("bench: echo read");
        assert_eq!(reply, message, "bench: the echo differs");
    }
    stream
}

fn looplet_iteration(echo: &mut Echo<looplet::EventLoop, looplet::net::TcpStream>) {
    let (clients, round_trips) = (mem::take(&mut echo.clients), echo.round_trips);
    echo.clients = echo.rt.block_on(async move {
        let tasks: Vec<_> = clients
            .into_iter()
            .map(|stream| looplet::spawn(looplet_client(stream, round_trips)))
            .collect();
        let mut clients = Vec::with_capacity(tasks.len());
        for task in tasks {
            clients.push(task.await.unwrap());
        }
        clients
    });
}

// ---- tokio -----------------------------------------------------------------

fn tokio_ct(shape: Shape) -> Box<dyn Runner> {
    let rt = runtimes::tokio_ct();
    let clients = rt.block_on(async move {
        let serve = |server| drop(tokio::spawn(tokio_serve(server)));
        tokio::time::timeout(TIMEOUT, tokio_connect(shape.connections, serve))
            .await
            .expect("bench: connections not made within the timeout")
    });
    let echo = Echo {
        clients,
        round_trips: shape.round_trips,
        rt,
    };
    Timed::boxed(echo, tokio_ct_iteration)
}

fn tokio_localset(shape: Shape) -> Box<dyn Runner> {
    let mut rt = TokioLocalSet::new();
    let clients = rt.block_on(async move {
        let serve = |server| drop(tokio::task::spawn_local(tokio_serve(server)));
        tokio::time::timeout(TIMEOUT, tokio_connect(shape.connections, serve))
            .await
            .expect("bench: connections not made within the timeout")
    });
    let echo = Echo {
        clients,
        round_trips: shape.round_trips,
        rt,
    };
    Timed::boxed(echo, tokio_localset_iteration)
}

/// `spawn_local` where tokio_ct has `tokio::spawn`: what `LocalRuntime`'s
/// users write.
fn tokio_local_runtime(shape: Shape) -> Box<dyn Runner> {
    let rt = runtimes::tokio_local_runtime();
    let clients = rt.block_on(async move {
        let serve = |server| drop(tokio::task::spawn_local(tokio_serve(server)));
        tokio::time::timeout(TIMEOUT, tokio_connect(shape.connections, serve))
            .await
            .expect("bench: connections not made within the timeout")
    });
    let echo = Echo {
        clients,
        round_trips: shape.round_trips,
        rt,
    };
    Timed::boxed(echo, tokio_local_runtime_iteration)
}

/// As [`looplet_connect`]; `serve` spawns the echo task of a server end
/// (`tokio::spawn` or `spawn_local`).
async fn tokio_connect(n: usize, serve: fn(tokio::net::TcpStream)) -> Vec<tokio::net::TcpStream> {
    let listener = tokio::net::TcpListener::bind(loopback())
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local_addr");
    let mut clients = Vec::with_capacity(n);
    for _ in 0..n {
        let (accepted, client) =
            tokio::join!(listener.accept(), tokio::net::TcpStream::connect(addr));
        let (server, client) = (accepted.expect("accept").0, client.expect("connect"));
        server.set_nodelay(true).expect("nodelay");
        client.set_nodelay(true).expect("nodelay");
        serve(server);
        clients.push(client);
    }
    clients
}

async fn tokio_serve(mut stream: tokio::net::TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = [0; SERVER_BUFFER];
    while let Ok(n) = stream.read(&mut buf).await {
        if n == 0 || stream.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
}

async fn tokio_client(
    mut stream: tokio::net::TcpStream,
    round_trips: usize,
) -> tokio::net::TcpStream {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut reply = [0; MESSAGE];
    for round in 0..round_trips {
        let message = message(round);
        stream.write_all(&message).await.expect("bench: echo write");
        stream
            .read_exact(&mut reply)
            .await
            .expect("bench: echo read");
        assert_eq!(reply, message, "bench: the echo differs");
    }
    stream
}

fn tokio_ct_iteration(echo: &mut Echo<tokio::runtime::Runtime, tokio::net::TcpStream>) {
    let (clients, round_trips) = (mem::take(&mut echo.clients), echo.round_trips);
    echo.clients = echo.rt.block_on(async move {
        let tasks: Vec<_> = clients
            .into_iter()
            .map(|stream| tokio::spawn(tokio_client(stream, round_trips)))
            .collect();
        let mut clients = Vec::with_capacity(tasks.len());
        for task in tasks {
            clients.push(task.await.unwrap());
        }
        clients
    });
}

fn tokio_localset_iteration(echo: &mut Echo<TokioLocalSet, tokio::net::TcpStream>) {
    let (clients, round_trips) = (mem::take(&mut echo.clients), echo.round_trips);
    echo.clients = echo.rt.block_on(async move {
        let tasks: Vec<_> = clients
            .into_iter()
            .map(|stream| tokio::task::spawn_local(tokio_client(stream, round_trips)))
            .collect();
        let mut clients = Vec::with_capacity(tasks.len());
        for task in tasks {
            clients.push(task.await.unwrap());
        }
        clients
    });
}

fn tokio_local_runtime_iteration(
    echo: &mut Echo<tokio::runtime::LocalRuntime, tokio::net::TcpStream>,
) {
    let (clients, round_trips) = (mem::take(&mut echo.clients), echo.round_trips);
    echo.clients = echo.rt.block_on(async move {
        let tasks: Vec<_> = clients
            .into_iter()
            .map(|stream| tokio::task::spawn_local(tokio_client(stream, round_trips)))
            .collect();
        let mut clients = Vec::with_capacity(tasks.len());
        for task in tasks {
            clients.push(task.await.unwrap());
        }
        clients
    });
}

// ---- raw: a hand-written mio loop, no runtime ------------------------------

const SERVER: Token = Token(0);
const CLIENT: Token = Token(1);

/// The `raw` control of `tcp_echo_1conn`: one `Poll`, both ends of one
/// connection, their buffers, and the readiness each end last saw (what a
/// reactor remembers, edge-triggered: set by an event, cleared when a read
/// says the socket is empty).
struct RawEcho {
    poll: Poll,
    events: Events,
    server: MioTcpStream,
    server_buf: Vec<u8>,
    server_readable: bool,
    client: MioTcpStream,
    client_readable: bool,
}

fn raw() -> Box<dyn Runner> {
    let listener = std::net::TcpListener::bind(loopback()).expect("bind");
    let addr = listener.local_addr().expect("local_addr");
    // A blocking connect completes in the listener's backlog; then accept.
    let client = std::net::TcpStream::connect(addr).expect("connect");
    let (server, _) = listener.accept().expect("accept");
    let poll = Poll::new().expect("epoll");
    let [server, client] = [(server, SERVER), (client, CLIENT)].map(|(stream, token)| {
        stream.set_nodelay(true).expect("nodelay");
        stream.set_nonblocking(true).expect("nonblocking");
        let mut stream = MioTcpStream::from_std(stream);
        poll.registry()
            .register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
            .expect("register");
        stream
    });
    let echo = RawEcho {
        poll,
        events: Events::with_capacity(64),
        server,
        server_buf: vec![0; SERVER_BUFFER],
        server_readable: false,
        client,
        client_readable: true, // nothing has said it is empty yet
    };
    Timed::boxed(echo, raw_iteration)
}

fn raw_iteration(echo: &mut RawEcho) {
    for round in 0..ROUND_TRIPS {
        let message = message(round);
        // 64 bytes into an empty send buffer: never short, never blocked
        // (if it were, the case would fail, not wait).
        echo.client.write_all(&message).expect("bench: echo write");
        let mut reply = [0; MESSAGE];
        let mut got = 0;
        loop {
            // The client's `read_exact`: read while the socket may hold data.
            while got < MESSAGE && echo.client_readable {
                let wanted = MESSAGE - got;
                match read(&mut echo.client, &mut reply[got..]) {
                    Some(n) => {
                        got += n;
                        echo.client_readable = n == wanted;
                    }
                    None => echo.client_readable = false,
                }
            }
            if got == MESSAGE {
                break;
            }
            wait(&mut echo.poll, &mut echo.events);
            for event in echo.events.iter() {
                match event.token() {
                    SERVER if event.is_readable() => echo.server_readable = true,
                    CLIENT if event.is_readable() => echo.client_readable = true,
                    _ => {} // writability: nobody waits for it
                }
            }
            // The server: echo what it reads while the socket may hold data.
            while echo.server_readable {
                match read(&mut echo.server, &mut echo.server_buf) {
                    Some(n) => {
                        let echoed = &echo.server_buf[..n];
                        echo.server.write_all(echoed).expect("bench: echo write");
                        if n < echo.server_buf.len() {
                            echo.server_readable = false;
                        }
                    }
                    None => echo.server_readable = false,
                }
            }
        }
        assert_eq!(reply, message, "bench: the echo differs");
    }
}

/// One read: `Some(n)` bytes (a short read also means the socket is now
/// empty: the caller clears its readiness), `None` for `WouldBlock`.
/// EOF or an error fails the case.
fn read(stream: &mut MioTcpStream, buf: &mut [u8]) -> Option<usize> {
    loop {
        match stream.read(buf) {
            Ok(0) => panic!("bench: the other end closed"),
            Ok(n) => return Some(n),
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => return None,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => panic!("bench: echo read: {error}"),
        }
    }
}

/// `epoll_wait` until something is ready (bounded: no event within
/// [`TIMEOUT`] fails the case).
fn wait(poll: &mut Poll, events: &mut Events) {
    loop {
        match poll.poll(events, Some(TIMEOUT)) {
            Ok(()) if events.is_empty() => panic!("bench: no socket event within {TIMEOUT:?}"),
            Ok(()) => return,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => panic!("bench: epoll_wait: {error}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::{self, RecvTimeoutError};
    use std::thread;

    /// Builds `case` and runs `iters` iterations on a thread of its own;
    /// waits for it at most [`TIMEOUT`].
    fn run_bounded(case: Case, iters: u64) {
        let (done, finished) = mpsc::channel();
        let _detached = thread::spawn(move || {
            let mut runner = (case.build)();
            runner.run(iters);
            drop(runner);
            done.send(()).unwrap();
        });
        match finished.recv_timeout(TIMEOUT) {
            Ok(()) => {}
            Err(RecvTimeoutError::Disconnected) => panic!("{case:?} panicked"),
            Err(RecvTimeoutError::Timeout) => panic!("{case:?} took over {TIMEOUT:?}"),
        }
    }

    #[test]
    fn every_case_echoes_every_message_with_its_connections_reused() {
        for workload in [ONE_CONN, CONNS_64] {
            for case in (workload.cases)() {
                run_bounded(case, 3);
            }
        }
    }

    #[test]
    fn the_one_connection_row_has_looplet_tokio_and_raw() {
        let runtimes: Vec<&str> = one_conn().iter().map(|case| case.runtime).collect();
        assert!(runtimes.contains(&runtimes::LOOPLET));
        assert!(runtimes.contains(&runtimes::TOKIO_CT));
        assert!(runtimes.contains(&runtimes::TOKIO_LOCAL_RUNTIME));
        assert!(runtimes.contains(&runtimes::RAW));
        for case in one_conn() {
            assert_eq!(case.elements_per_iter, ROUND_TRIPS as u64);
        }
        for case in conns_64() {
            assert_eq!(case.elements_per_iter, 64 * ROUND_TRIPS_EACH as u64);
        }
    }

    #[test]
    fn runtimes_without_sockets_have_the_sockets_footnote() {
        for workload in [ONE_CONN.name, CONNS_64.name] {
            assert_eq!(crate::missing_reason(workload, runtimes::LOOPLET), None);
            assert_eq!(crate::missing_reason(workload, runtimes::TOKIO_CT), None);
            for runtime in [runtimes::ASYNC_EXECUTOR_LOCAL, runtimes::FUTURES_LOCALPOOL] {
                let reason = crate::missing_reason(workload, runtime).unwrap();
                assert!(reason.contains("no sockets of their own"), "{reason}");
            }
        }
    }
}
