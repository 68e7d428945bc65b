//! The controls: the raw mechanisms under the cross-thread workloads, with
//! no runtime at all (runtime id `raw`), measured in the same process so
//! that the targets set against them compare like with like.
//!
//! The two controls that a target is set against are cases *of the
//! workload they bound* (runtime id `raw`), so that they are sampled
//! interleaved with it and share its noise:
//!
//! | control | what it is | in the group of |
//! |---------|------------|-----------------|
//! | crossbeam send, 1 or 2 producers | the producers of `call_soon_threadsafe_*`, sending the same boxed closure over a crossbeam unbounded channel to a consumer thread that runs it | `call_soon_threadsafe_1p`, `_2p` (target: ≤ 2.5 × this) |
//! | eventfd + futex ping-pong | one thread asleep in `epoll_wait` on an eventfd (a `mio::Poll` + `mio::Waker`), the other parked on a futex (`thread::park`): the exact shape of looplet's idle round trip | `remote_round_trip` (target: ≤ 1.1 × this) |
//! | hand-written mio echo loop | one thread, one `Poll`, both ends of a loopback TCP connection, edge-triggered: the echo of `tcp_echo_1conn` with no runtime (it lives in [`tcp_echo`](super::tcp_echo), next to the runtimes' versions) | `tcp_echo_1conn` (target: ≤ 1.1 × this, a row of its own; the row's own target is against tokio_ct) |
//!
//! The others are workloads of their own, for context:
//!
//! | control | what it is |
//! |---------|------------|
//! | `control_crossbeam_send_recv` | a crossbeam unbounded `send` + `recv` of a boxed closure on one thread, then the call: the floor of any queue hand-off |
//! | `control_eventfd_epoll_ping_pong` | two threads, each asleep in `epoll_wait` on its own eventfd, waking each other in turn |
//! | `control_futex_ping_pong` | two threads parked on futexes, unparking each other in turn |
//!
//! One operation = one message (send + recv) or one round trip.
//!
//! The ping-pong controls run on a [`CallerThread`] of their own, pinned with
//! their partner to one CPU, as `remote_round_trip` does (see
//! [`crate::loop_threads`] for why).

use crate::common::{consume, Job, TIMEOUT};
use crate::loop_threads::{latency_cpu, pin_current_thread, CallerThread, HelperThread};
use crate::runtimes;
use crate::workloads::call_soon_threadsafe::Submissions;
use crate::workloads::Workload;
use crate::{common::Timed, Case, Runner};
use crossbeam_channel::{Receiver, Sender};
use mio::{Events, Poll, Token, Waker};
use std::sync::atomic::{
    AtomicBool, AtomicU64,
    Ordering::{Acquire, Relaxed, Release},
};
use std::sync::Arc;
use std::thread::{self, Thread};
use std::time::Instant;

/// Messages per iteration of the same-thread control.
pub const MESSAGES: u64 = 1_000;

/// crossbeam `send` + `recv` on one thread.
pub const CROSSBEAM_SEND_RECV: Workload = Workload {
    name: "control_crossbeam_send_recv",
    unit: "message",
    cases: || control(CROSSBEAM_SEND_RECV.name, MESSAGES, send_recv),
};

/// eventfd + epoll on both sides.
pub const EVENTFD_EPOLL_PING_PONG: Workload = Workload {
    name: "control_eventfd_epoll_ping_pong",
    unit: "round trip",
    cases: || {
        control(EVENTFD_EPOLL_PING_PONG.name, 1, || {
            ping_pong(Side::Epoll, Side::Epoll)
        })
    },
};

/// futex (park/unpark) on both sides.
pub const FUTEX_PING_PONG: Workload = Workload {
    name: "control_futex_ping_pong",
    unit: "round trip",
    cases: || {
        control(FUTEX_PING_PONG.name, 1, || {
            ping_pong(Side::Futex, Side::Futex)
        })
    },
};

/// The caller parked on a futex, its partner in epoll on an eventfd: the
/// `raw` case of [`remote_round_trip`](super::remote_round_trip).
pub(crate) fn eventfd_futex_ping_pong() -> Box<dyn Runner> {
    ping_pong(Side::Futex, Side::Epoll)
}

/// A pinned ping-pong: the caller side on a [`CallerThread`], the partner
/// on a thread of the `PingPong`'s own, both on [`latency_cpu`].
fn ping_pong(caller: Side, partner: Side) -> Box<dyn Runner> {
    let cpu = latency_cpu();
    Box::new(CallerThread::start(
        cpu,
        move || PingPong::start(caller, partner, cpu),
        PingPong::round_trip,
    ))
}

fn control(workload: &'static str, elements: u64, build: fn() -> Box<dyn Runner>) -> Vec<Case> {
    vec![Case {
        workload,
        runtime: runtimes::RAW,
        elements_per_iter: elements,
        build,
    }]
}

fn send_recv() -> Box<dyn Runner> {
    fn iteration((send, recv): &mut (Sender<Job>, Receiver<Job>)) {
        for x in 0..MESSAGES {
            send.send(Box::new(move || consume(x))).ok().unwrap();
            (recv.recv().unwrap())();
        }
    }
    Timed::boxed(crossbeam_channel::unbounded(), iteration)
}

/// Producers sending boxed closures over a crossbeam unbounded channel to a
/// consumer thread that runs them: the `raw` case of
/// [`call_soon_threadsafe`](super::call_soon_threadsafe).
pub(crate) fn crossbeam_producers(producers: usize) -> Box<dyn Runner> {
    let (submit, jobs) = crossbeam_channel::unbounded::<Job>();
    let consumer = HelperThread::start("consumer", move || {
        for job in jobs {
            job();
        }
    });
    Submissions::boxed(producers, submit, consumer, |_| None)
}

/// How one side of a ping-pong sleeps until the other wakes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    /// In `epoll_wait` (`mio::Poll::poll`), woken by its eventfd (`mio::Waker`).
    Epoll,
    /// Parked (`thread::park`, a futex), woken by `Thread::unpark`.
    Futex,
}

const WAKE: Token = Token(0);

/// One side's sleeping place and how to wake it.
struct Bed {
    side: Side,
    /// Epoll side: its poller and events (owned by the sleeping thread).
    poll: Option<(Poll, Events)>,
    /// Epoll side: the waker of its eventfd (for the other thread).
    waker: Option<Arc<Waker>>,
    /// Futex side: the sleeping thread.
    thread: Thread,
}

/// How to wake a [`Bed`] from the other thread.
#[derive(Clone)]
enum Alarm {
    Eventfd(Arc<Waker>),
    Unpark(Thread),
}

impl Alarm {
    fn ring(&self) {
        match self {
            Alarm::Eventfd(waker) => waker.wake().expect("eventfd write"),
            Alarm::Unpark(thread) => thread.unpark(),
        }
    }
}

impl Bed {
    /// A bed for the calling thread.
    fn new(side: Side) -> Bed {
        let (poll, waker) = match side {
            Side::Epoll => {
                let poll = Poll::new().expect("epoll");
                let waker = Arc::new(Waker::new(poll.registry(), WAKE).expect("eventfd"));
                (Some((poll, Events::with_capacity(8))), Some(waker))
            }
            Side::Futex => (None, None),
        };
        Bed {
            side,
            poll,
            waker,
            thread: thread::current(),
        }
    }

    fn alarm(&self) -> Alarm {
        match self.side {
            Side::Epoll => Alarm::Eventfd(self.waker.clone().unwrap()),
            Side::Futex => Alarm::Unpark(self.thread.clone()),
        }
    }

    /// Sleeps until `ready()` (re-checked after every wakeup, since both
    /// `epoll_wait` and `park` may return early).
    fn sleep_until(&mut self, ready: impl Fn() -> bool) {
        let deadline = Instant::now() + TIMEOUT;
        while !ready() {
            let left = deadline
                .checked_duration_since(Instant::now())
                .expect("bench: ping-pong partner did not answer");
            match &mut self.poll {
                Some((poll, events)) => {
                    let _ = poll.poll(events, Some(left));
                }
                None => thread::park_timeout(left),
            }
        }
    }
}

/// What the two sides share: the last ping sent, the last pong sent, stop.
#[derive(Default)]
struct Rally {
    ping: AtomicU64,
    pong: AtomicU64,
    stop: AtomicBool,
}

/// A ping-pong between the measuring thread (`caller` side) and a partner
/// thread (`partner` side): each ping wakes the partner, which answers with
/// a pong that wakes the caller.
struct PingPong {
    rally: Arc<Rally>,
    bed: Bed,
    partner_alarm: Alarm,
    partner: Option<HelperThread>,
}

impl PingPong {
    /// Starts the partner (pinned to `cpu`); the calling thread is the caller.
    fn start(caller: Side, partner: Side, cpu: usize) -> PingPong {
        let rally = Arc::new(Rally::default());
        let bed = Bed::new(caller);
        let caller_alarm = bed.alarm();
        let (alarm_tx, alarm_rx) = crossbeam_channel::bounded(1);
        let shared = rally.clone();
        let partner_thread = HelperThread::start("ping-pong partner", move || {
            pin_current_thread(cpu);
            let mut bed = Bed::new(partner);
            alarm_tx.send(bed.alarm()).unwrap();
            let mut answered = 0;
            loop {
                bed.sleep_until(|| {
                    shared.stop.load(Acquire) || shared.ping.load(Acquire) > answered
                });
                if shared.stop.load(Acquire) {
                    break;
                }
                answered = shared.ping.load(Acquire);
                shared.pong.store(answered, Release);
                caller_alarm.ring();
            }
        });
        let partner_alarm = alarm_rx
            .recv_timeout(TIMEOUT)
            .expect("bench: ping-pong partner did not start");
        PingPong {
            rally,
            bed,
            partner_alarm,
            partner: Some(partner_thread),
        }
    }

    /// One round trip: ping, sleep until the pong.
    fn round_trip(&mut self) {
        let rally = &self.rally;
        let ping = rally.ping.load(Relaxed) + 1;
        rally.ping.store(ping, Release);
        self.partner_alarm.ring();
        self.bed.sleep_until(|| rally.pong.load(Acquire) == ping);
    }
}

impl Drop for PingPong {
    fn drop(&mut self) {
        self.rally.stop.store(true, Release);
        self.partner_alarm.ring();
        drop(self.partner.take()); // joins, bounded
    }
}
