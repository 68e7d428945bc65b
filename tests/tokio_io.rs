//! With the feature `tokio-io`, looplet's sockets implement tokio's
//! `AsyncRead`/`AsyncWrite` (tokio's traits only: no tokio runtime runs),
//! so code written against tokio's I/O traits (tokio-util codecs,
//! hyper-util's `TokioIo`) works on a looplet loop.
//! Run with `cargo test --features tokio-io --test tokio_io`.
#![cfg(feature = "tokio-io")]

mod common;

use common::BOUND;
use looplet::net::{TcpListener, TcpStream};
use looplet::{timeout, EventLoop};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[test]
fn tokio_io_traits_echo_over_looplet_tcp() {
    let mut event_loop = EventLoop::new().unwrap();
    let echoed = event_loop
        .block_on(timeout(BOUND, async {
            let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap())?;
            let addr = listener.local_addr()?;
            let server = looplet::spawn(async move {
                let (mut stream, _) = listener.accept().await?;
                let mut buf = [0; 5];
                AsyncReadExt::read_exact(&mut stream, &mut buf).await?;
                AsyncWriteExt::write_all(&mut stream, &buf).await?;
                AsyncWriteExt::shutdown(&mut stream).await?;
                std::io::Result::Ok(())
            });
            let mut client = TcpStream::connect(addr).await?;
            AsyncWriteExt::write_all(&mut client, b"tokio").await?;
            let mut back = Vec::new();
            AsyncReadExt::read_to_end(&mut client, &mut back).await?;
            server.await.unwrap()?;
            std::io::Result::Ok(back)
        }))
        .expect("within the bound")
        .unwrap();
    assert_eq!(echoed, b"tokio");
}
