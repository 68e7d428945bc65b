//! An HTTP/1 hello-world server: hyper 1.x on a looplet loop.
//!
//! Run it with `cargo run --release --example http`, then
//! `curl http://127.0.0.1:<port>/` (the address is printed). With a number,
//! `cargo run --release --example http -- 3`, it serves that many requests
//! from its own client thread and exits.

mod hyper_io;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

fn main() -> std::io::Result<()> {
    let requests: Option<usize> = std::env::args().nth(1).and_then(|n| n.parse().ok());
    let mut event_loop = looplet::EventLoop::new()?;
    let handle = event_loop.handle();
    event_loop.block_on(async move {
        let listener = looplet::net::TcpListener::bind("127.0.0.1:0".parse().unwrap())?;
        let addr = listener.local_addr()?;
        println!("serving hello-world on http://{addr}/ (try curl)");
        let server = looplet::spawn(hyper_io::serve(listener));
        match requests {
            None => server.await.expect("the server task panicked"),
            Some(n) => {
                // A plain client on another thread; the loop serves meanwhile.
                let client = std::thread::spawn(move || {
                    let answers: Vec<String> = (0..n).map(|_| get(addr)).collect();
                    let _ = handle.call_soon_threadsafe(|| ()); // wake the loop to notice
                    answers
                });
                while !client.is_finished() {
                    looplet::sleep(Duration::from_millis(5)).await;
                }
                for answer in client.join().expect("the client panicked") {
                    println!("{}", answer.lines().next().unwrap_or_default());
                }
                Ok(())
            }
        }
    })
}

/// One `GET /` over a fresh connection; the whole response.
fn get(addr: SocketAddr) -> String {
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    response
}
