//! What other threads can send into the loop: the injector's message type.

use looplet_waker::TaskId;
use std::fmt;

/// A callback run on the loop thread, sent from any thread.
pub(crate) type SendCallback = Box<dyn FnOnce() + Send>;

/// A remote spawn of a `Send` future (`Handle::spawn`): the task, boxed
/// once on the producer's thread and adopted as is by the loop.
pub(crate) type SendTask =
    std::pin::Pin<Box<dyn std::future::Future<Output = crate::task::Outcome> + Send>>;

/// A remote spawn of a future built on the loop (`Handle::spawn_with`):
/// given the loop's core, the closure builds and spawns the task.
pub(crate) type SpawnFn = Box<dyn FnOnce(&crate::core::Core) + Send>;

/// One message through the injector. Dropping a message without running it
/// (the loop closed) drops its closure or task, and with it any
/// `RemoteHandle` completer inside: that is how a submission that never runs
/// still resolves (`LoopClosed`).
pub(crate) enum Message {
    /// A task's waker fired on another thread (or between turns).
    Wake(TaskId),
    /// The `block_on` root future's waker fired on another thread.
    WakeBlockOn,
    /// `Handle::call_soon_threadsafe`.
    Call(Submission<SendCallback>),
    /// `Handle::spawn`: the task itself, ready to run.
    Spawn(Submission<SendTask>),
    /// `Handle::spawn_with`: the closure builds and spawns the task.
    SpawnWith(Submission<SpawnFn>),
    /// `Handle::stop`.
    Stop,
    /// A remote task's panic whose `RemoteHandle` was dropped unread: for
    /// the loop's unhandled-panic hook.
    Unhandled(crate::panic::Payload),
}

/// A closure (or, in `Message::Spawn`, a boxed task) that may never run.
/// A message can be dropped in places we do not control — on the producer's
/// stack when the loop refuses it, inside crossbeam when the loop's inbox
/// closes, during the loop's teardown — and dropping it drops the user's
/// captured values, whose `Drop` may panic.
/// This wrapper contains such a panic wherever it happens (reporting it to
/// the loop's unhandled-panic hook if a loop is current), so dropping a
/// `Message` never unwinds.
pub(crate) struct Submission<F>(Option<F>);

impl<F> Submission<F> {
    pub fn new(closure: F) -> Self {
        Submission(Some(closure))
    }

    /// Takes the closure (or task) out to run it.
    pub fn into_inner(mut self) -> F {
        self.0.take().expect("an Submission closure is taken once")
    }
}

impl<F> Drop for Submission<F> {
    fn drop(&mut self) {
        let Some(closure) = self.0.take() else {
            return; // it was taken to be run
        };
        if let Err(payload) = crate::panic::drop_caught(closure) {
            if let Some(core) = crate::context::try_current() {
                core.report_unhandled("a submission dropped unrun", payload);
            }
            // Elsewhere (a producer thread) std's panic hook has printed it.
        }
    }
}

impl From<TaskId> for Message {
    fn from(id: TaskId) -> Self {
        Message::Wake(id)
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Message::Wake(id) => write!(f, "Wake({id:?})"),
            Message::WakeBlockOn => f.write_str("WakeBlockOn"),
            Message::Call(_) => f.write_str("Call(..)"),
            Message::Spawn(_) => f.write_str("Spawn(..)"),
            Message::SpawnWith(_) => f.write_str("SpawnWith(..)"),
            Message::Stop => f.write_str("Stop"),
            Message::Unhandled(_) => f.write_str("Unhandled(..)"),
        }
    }
}
