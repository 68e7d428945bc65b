//! hyper 1.x serving HTTP/1 on a looplet loop (the adapter and service of
//! `examples/http/hyper_io.rs`, the same file), answering a plain HTTP
//! client on another thread. Every wait is bounded.

#[path = "../examples/http/hyper_io.rs"]
mod hyper_io;

use std::io::{Read, Write};
use std::time::Duration;

const BOUND: Duration = Duration::from_secs(10);

#[test]
fn hyper_on_looplet_answers_twenty_requests_from_a_raw_http_client() {
    let mut event_loop = looplet::EventLoop::new().unwrap();
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let client = std::thread::spawn(move || {
        let addr = addr_rx.recv_timeout(BOUND).unwrap();
        // One keep-alive connection for ten requests, then ten connections.
        let mut bodies = Vec::new();
        let mut kept = std::net::TcpStream::connect(addr).unwrap();
        kept.set_read_timeout(Some(BOUND)).unwrap();
        for _ in 0..10 {
            kept.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
            let mut response = [0; 512];
            let n = kept.read(&mut response).unwrap();
            bodies.push(String::from_utf8_lossy(&response[..n]).into_owned());
        }
        for _ in 0..10 {
            let mut stream = std::net::TcpStream::connect(addr).unwrap();
            stream.set_read_timeout(Some(BOUND)).unwrap();
            stream
                .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .unwrap();
            let mut response = String::new();
            stream.read_to_string(&mut response).unwrap();
            bodies.push(response);
        }
        bodies
    });
    let bodies = event_loop
        .block_on(looplet::timeout(BOUND, async {
            let listener = looplet::net::TcpListener::bind("127.0.0.1:0".parse().unwrap())?;
            addr_tx.send(listener.local_addr()?).unwrap();
            let _server = looplet::spawn(hyper_io::serve(listener));
            while !client.is_finished() {
                looplet::sleep(Duration::from_millis(2)).await;
            }
            std::io::Result::Ok(client.join().unwrap())
        }))
        .expect("within the bound")
        .unwrap();
    assert_eq!(bodies.len(), 20);
    for response in bodies {
        assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
        assert!(response.ends_with("Hello, world!"), "{response}");
    }
}
