//! A TCP echo server and its clients in one program, on one looplet loop.
//!
//! Run it with `cargo run --release --example echo`. The server accepts
//! connections and echoes what it reads; 8 clients each do 2,000 round
//! trips of 64 bytes. Everything runs on one thread: the loop sleeps in the
//! same `epoll_wait` for the sockets as for its timers and its wakes.

use futures::{AsyncReadExt, AsyncWriteExt};
use looplet::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

const CLIENTS: usize = 8;
const ROUND_TRIPS: usize = 2_000;

fn main() -> std::io::Result<()> {
    looplet::run(async {
        let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap())?;
        let addr = listener.local_addr()?;
        println!("echo server on {addr}");
        let _server = looplet::spawn(async move {
            loop {
                let Ok((mut stream, _peer)) = listener.accept().await else {
                    continue;
                };
                drop(looplet::spawn(async move {
                    let _ = stream.set_nodelay(true);
                    let mut buf = [0; 4096];
                    while let Ok(n) = stream.read(&mut buf).await {
                        if n == 0 || stream.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                }));
            }
        });

        let start = Instant::now();
        let clients: Vec<_> = (0..CLIENTS)
            .map(|_| {
                looplet::spawn(async move {
                    let mut stream = TcpStream::connect(addr).await?;
                    stream.set_nodelay(true)?;
                    let message = [7_u8; 64];
                    let mut back = [0_u8; 64];
                    let mut slowest = Duration::ZERO;
                    for _ in 0..ROUND_TRIPS {
                        let sent = Instant::now();
                        stream.write_all(&message).await?;
                        stream.read_exact(&mut back).await?;
                        slowest = slowest.max(sent.elapsed());
                        assert_eq!(back, message);
                    }
                    std::io::Result::Ok(slowest)
                })
            })
            .collect();
        let mut slowest = Duration::ZERO;
        for client in clients {
            slowest = slowest.max(client.await.expect("a client panicked")?);
        }
        let elapsed = start.elapsed();
        let total = CLIENTS * ROUND_TRIPS;
        println!(
            "{CLIENTS} clients × {ROUND_TRIPS} round trips of 64 B: {total} in {elapsed:.2?}, \
             {:.0} round trips per second, slowest {slowest:.1?}",
            total as f64 / elapsed.as_secs_f64()
        );
        Ok(())
    })
}
