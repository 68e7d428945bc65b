//! looplet inside a calloop event loop: the whole integration.
//!
//! calloop (the event loop of Smithay and many Wayland programs) owns the
//! thread and sleeps in its own `epoll`. looplet joins it as one more
//! source: its fd ([`AsFd`]) is readable when looplet has been woken (a
//! remote submission, a wake from another thread) or a looplet timer is
//! due, and quiet again after looplet has run. So:
//!
//! 1. register a duplicate of looplet's fd with calloop as a level-triggered
//!    `Generic` source whose callback runs looplet until it stalls;
//! 2. dispatch calloop with looplet's `host_timeout()` as the timeout, so
//!    calloop never sleeps past looplet's next timer.
//!
//! This file is shared by `examples/calloop/main.rs` and the headless test
//! `tests/calloop.rs`.

use calloop::generic::Generic;
use calloop::{Interest, Mode, PostAction};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

/// What calloop's callbacks see: looplet itself, and counts that show the
/// host does not busy-poll.
pub struct Host {
    pub looplet: looplet::EventLoop,
    /// Times `calloop::EventLoop::dispatch` returned.
    pub dispatches: u64,
    /// Times looplet was run (`run_until_stalled`) from calloop.
    pub looplet_calls: u64,
}

/// Step 1: looplet's fd as a calloop source.
pub fn insert_looplet(
    handle: &calloop::LoopHandle<'static, Host>,
    host: &Host,
) -> std::io::Result<()> {
    let fd = host.looplet.as_fd().try_clone_to_owned()?;
    let source = Generic::new(fd, Interest::READ, Mode::Level);
    handle
        .insert_source(source, |_readiness, _fd, host: &mut Host| {
            host.looplet.run_until_stalled();
            host.looplet_calls += 1;
            Ok(PostAction::Continue)
        })
        .map_err(|error| std::io::Error::other(error.to_string()))?;
    Ok(())
}

/// Step 2: dispatches calloop until `done(host)` or `limit` (real time).
pub fn run_until(
    calloop: &mut calloop::EventLoop<'static, Host>,
    host: &mut Host,
    limit: Duration,
    mut done: impl FnMut(&Host) -> bool,
) -> std::io::Result<()> {
    let end = Instant::now() + limit;
    // looplet may have work before calloop ever sleeps (tasks spawned on
    // this thread wake nobody): run it once first.
    host.looplet.run_until_stalled();
    while !done(host) && Instant::now() < end {
        let timeout = host
            .looplet
            .host_timeout()
            .map_or(end - Instant::now(), |t| t.min(end - Instant::now()));
        calloop.dispatch(Some(timeout), host)?;
        host.dispatches += 1;
    }
    Ok(())
}
