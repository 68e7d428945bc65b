//! Specifies I/O on the loop's own `Poll` (`looplet::io::Async`,
//! `looplet::net`): sockets served by one thread, readiness delivered to
//! wakers, edge-triggered readiness kept per direction, tokens with
//! generations, a busy loop that still serves its sockets, and a host
//! woken by socket readiness. Every wait is bounded (`looplet::timeout`).

mod common;

use common::{block_on_bounded, BOUND};
use futures::{AsyncReadExt, AsyncWriteExt};
use looplet::io::Async;
use looplet::net::{TcpListener, TcpStream, UdpSocket};
use looplet::{timeout, EventLoop};
use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

fn localhost() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

#[test]
fn thirty_two_clients_echo_64_kib_each_on_one_loop_every_byte_compared() {
    const CLIENTS: usize = 32;
    const BYTES: usize = 64 * 1024;
    let mut event_loop = EventLoop::new().unwrap();
    let results = block_on_bounded(&mut event_loop, async {
        let listener = TcpListener::bind(localhost())?;
        let addr = listener.local_addr()?;
        let server = looplet::spawn(async move {
            let mut echoes = Vec::new();
            for _ in 0..CLIENTS {
                let (mut stream, _) = listener.accept().await?;
                echoes.push(looplet::spawn(async move {
                    let mut buf = vec![0; 4096];
                    loop {
                        let n = stream.read(&mut buf).await?;
                        if n == 0 {
                            return std::io::Result::Ok(());
                        }
                        stream.write_all(&buf[..n]).await?;
                    }
                }));
            }
            for echo in echoes {
                echo.await.unwrap()?;
            }
            std::io::Result::Ok(())
        });
        let clients: Vec<_> = (0..CLIENTS)
            .map(|client| {
                looplet::spawn(async move {
                    let data: Vec<u8> = (0..BYTES).map(|i| (i * 7 + client) as u8).collect();
                    let stream = TcpStream::connect(addr).await?;
                    let (mut reader, mut writer) = stream.split();
                    let sent = data.clone();
                    let send = looplet::spawn(async move {
                        writer.write_all(&sent).await?;
                        writer.close().await
                    });
                    let mut echoed = Vec::new();
                    reader.read_to_end(&mut echoed).await?;
                    send.await.unwrap()?;
                    std::io::Result::Ok(echoed == data)
                })
            })
            .collect();
        let mut all_equal = Vec::new();
        for client in clients {
            all_equal.push(client.await.unwrap()?);
        }
        server.await.unwrap()?;
        std::io::Result::Ok(all_equal)
    })
    .unwrap();
    assert_eq!(results, vec![true; CLIENTS], "every byte came back");
}

#[test]
fn a_std_client_on_another_thread_talks_to_a_looplet_server() {
    let mut event_loop = EventLoop::new().unwrap();
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let client = std::thread::spawn(move || {
        let addr = addr_rx.recv_timeout(BOUND).unwrap();
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(BOUND)).unwrap();
        stream.write_all(b"hello from std").unwrap();
        let mut buf = [0; 14];
        stream.read_exact(&mut buf).unwrap();
        buf
    });
    block_on_bounded(&mut event_loop, async move {
        let listener = TcpListener::bind(localhost())?;
        addr_tx.send(listener.local_addr()?).unwrap();
        let (mut stream, _) = listener.accept().await?;
        let mut buf = [0; 14];
        stream.read_exact(&mut buf).await?;
        stream.write_all(&buf).await?;
        std::io::Result::Ok(())
    })
    .unwrap();
    assert_eq!(&client.join().unwrap(), b"hello from std");
}

#[test]
fn connecting_to_a_closed_port_is_an_error_not_a_hang() {
    let mut event_loop = EventLoop::new().unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let error = block_on_bounded(&mut event_loop, TcpStream::connect(closed)).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ConnectionRefused);
}

#[test]
fn peer_close_reads_as_eof_and_a_later_write_to_the_closed_peer_fails() {
    let mut event_loop = EventLoop::new().unwrap();
    block_on_bounded(&mut event_loop, async {
        let listener = TcpListener::bind(localhost())?;
        let mut client = TcpStream::connect(listener.local_addr()?).await?;
        let (server, _) = listener.accept().await?;
        drop(server);
        let mut buf = [0; 8];
        assert_eq!(client.read(&mut buf).await?, 0, "EOF");
        let mut failed = None;
        for _ in 0..100 {
            // The first write may still be accepted by the kernel; a later one fails.
            if let Err(error) = client.write_all(&[0; 1024]).await {
                failed = Some(error.kind());
                break;
            }
            looplet::sleep(Duration::from_millis(1)).await;
        }
        assert!(
            matches!(
                failed,
                Some(ErrorKind::BrokenPipe | ErrorKind::ConnectionReset)
            ),
            "{failed:?}"
        );
        std::io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn udp_round_trips() {
    let mut event_loop = EventLoop::new().unwrap();
    block_on_bounded(&mut event_loop, async {
        let a = UdpSocket::bind(localhost())?;
        let b = UdpSocket::bind(localhost())?;
        for round in 0..100_u32 {
            a.send_to(&round.to_be_bytes(), b.local_addr()?).await?;
            let mut buf = [0; 4];
            let (n, from) = b.recv_from(&mut buf).await?;
            assert_eq!(
                (n, from, u32::from_be_bytes(buf)),
                (4, a.local_addr()?, round)
            );
            b.send_to(&buf, from).await?;
            a.recv_from(&mut buf).await?;
        }
        std::io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn a_task_that_always_yields_does_not_starve_a_socket() {
    let mut event_loop = EventLoop::new().unwrap();
    let _spinner = event_loop.spawn(async {
        loop {
            looplet::yield_now().await; // the loop is never idle: it never sleeps
        }
    });
    block_on_bounded(&mut event_loop, async {
        let (a, mut b) = mio::net::UnixStream::pair()?;
        let mut a = Async::new(a)?;
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(10));
            b.write_all(b"through").unwrap();
            b
        });
        let mut buf = [0; 7];
        a.read_exact(&mut buf).await?; // futures' read_exact on the Async: no byte lost
        assert_eq!(&buf, b"through");
        drop(writer.join().unwrap());
        std::io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn async_over_a_mio_unix_stream_pair_both_ways() {
    let mut event_loop = EventLoop::new().unwrap();
    block_on_bounded(&mut event_loop, async {
        let (a, b) = mio::net::UnixStream::pair()?;
        let (mut a, mut b) = (Async::new(a)?, Async::new(b)?);
        for i in 0..50_u8 {
            a.write_all(&[i; 100]).await?;
            let mut buf = [0; 100];
            b.read_exact(&mut buf).await?;
            assert_eq!(buf, [i; 100]);
            b.write_all(&buf).await?;
            a.read_exact(&mut buf).await?;
        }
        std::io::Result::Ok(())
    })
    .unwrap();
}

#[cfg(unix)]
#[test]
fn a_host_watching_the_loops_fd_is_woken_by_socket_readiness_and_the_fd_is_quiet_after() {
    use std::os::fd::AsRawFd;
    let mut event_loop = EventLoop::new().unwrap();
    let (a, mut b) = mio::net::UnixStream::pair().unwrap();
    let reader = event_loop.spawn(async move {
        let mut a = Async::new(a)?;
        let mut buf = [0; 5];
        a.read_exact(&mut buf).await?;
        std::io::Result::Ok(buf)
    });
    event_loop.run_until_stalled(); // the task waits for readability
    let readable = |event_loop: &EventLoop, limit: Duration| {
        let fd = event_loop.as_raw_fd();
        let mut host = mio::Poll::new().unwrap();
        let mut source = mio::unix::SourceFd(&fd);
        host.registry()
            .register(&mut source, mio::Token(0), mio::Interest::READABLE)
            .unwrap();
        let mut events = mio::Events::with_capacity(4);
        host.poll(&mut events, Some(limit)).unwrap();
        !events.is_empty()
    };
    assert!(
        !readable(&event_loop, Duration::ZERO),
        "nothing to read yet"
    );
    b.write_all(b"ready").unwrap();
    assert!(
        readable(&event_loop, BOUND),
        "the socket's readiness wakes the host"
    );
    let tick = event_loop.run_until_stalled();
    assert!(tick.polls >= 1);
    assert!(
        !readable(&event_loop, Duration::ZERO),
        "quiet after the turn"
    );
    assert_eq!(
        &block_on_bounded(&mut event_loop, reader).unwrap().unwrap(),
        b"ready"
    );
}

#[cfg(unix)]
#[test]
fn a_unix_listener_accepts_and_echoes() {
    use looplet::net::{UnixListener, UnixStream};
    let path = std::env::temp_dir().join(format!("looplet-test-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let mut event_loop = EventLoop::new().unwrap();
    let p = path.clone();
    let echoed = block_on_bounded(&mut event_loop, async move {
        let listener = UnixListener::bind(&p)?;
        let server = looplet::spawn(async move {
            let (mut stream, _) = listener.accept().await?;
            let mut buf = [0; 3];
            stream.read_exact(&mut buf).await?;
            stream.write_all(&buf).await?;
            std::io::Result::Ok(())
        });
        let mut client = UnixStream::connect(&p).await?;
        client.write_all(b"uds").await?;
        let mut buf = [0; 3];
        client.read_exact(&mut buf).await?;
        server.await.unwrap()?;
        std::io::Result::Ok(buf)
    })
    .unwrap();
    let _ = std::fs::remove_file(&path);
    assert_eq!(&echoed, b"uds");
}

#[test]
fn a_socket_awaited_on_another_loop_is_an_error_not_a_wait_forever() {
    let mut first = EventLoop::new().unwrap();
    let socket = block_on_bounded(&mut first, async { UdpSocket::bind(localhost()) }).unwrap();
    drop(first);
    let mut second = EventLoop::new().unwrap();
    let error = block_on_bounded(&mut second, async {
        let mut buf = [0; 4];
        socket.recv_from(&mut buf).await
    })
    .unwrap_err();
    assert!(
        error.to_string().contains("belongs to another event loop"),
        "{error}"
    );
}

#[test]
fn a_timeout_of_a_socket_operation_converts_to_io_timed_out() {
    let mut event_loop = EventLoop::new().unwrap();
    let error = block_on_bounded(&mut event_loop, async {
        let socket = UdpSocket::bind(localhost())?;
        let mut buf = [0; 4];
        timeout(Duration::from_millis(5), socket.recv_from(&mut buf)).await??;
        std::io::Result::Ok(())
    })
    .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::TimedOut);
}

#[test]
fn eof_right_behind_the_data_is_read_after_a_short_read() {
    // The data and the peer's FIN may come with one edge; a short read
    // clears read readiness, and the EOF must still be seen.
    let mut event_loop = EventLoop::new().unwrap();
    for _ in 0..20 {
        let got = block_on_bounded(&mut event_loop, async {
            let listener = TcpListener::bind(localhost())?;
            let mut client = TcpStream::connect(listener.local_addr()?).await?;
            let (mut server, _) = listener.accept().await?;
            server.write_all(b"bye").await?;
            server.close().await?;
            looplet::sleep(Duration::from_millis(1)).await; // both arrive before the read
            let mut all = Vec::new();
            client.read_to_end(&mut all).await?;
            std::io::Result::Ok(all)
        })
        .unwrap();
        assert_eq!(got, b"bye");
    }
}
