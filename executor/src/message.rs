//! What other threads can send into the loop: the injector's message type.

use looplet_waker::TaskId;
use std::fmt;

/// A callback run on the loop thread, sent from any thread.
pub(crate) type SendCallback = Box<dyn FnOnce() + Send>;

/// A remote spawn: given the loop's core, spawns the task.
pub(crate) type SpawnFn = Box<dyn FnOnce(&crate::core::Core) + Send>;

/// One message through the injector. Dropping a message without running it
/// (the loop closed) drops its closure, and with it any `RemoteHandle`
/// completer it captured: that is how a submission that never runs still
/// resolves (`LoopClosed`).
pub(crate) enum Message {
    /// A task's waker fired on another thread (or between turns).
    Wake(TaskId),
    /// The `block_on` root future's waker fired on another thread.
    WakeRoot,
    /// `Handle::call_soon_threadsafe`.
    Call(SendCallback),
    /// `Handle::spawn` / `spawn_with`: the closure spawns the task.
    Spawn(SpawnFn),
    /// `Handle::stop`.
    Stop,
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
            Message::WakeRoot => f.write_str("WakeRoot"),
            Message::Call(_) => f.write_str("Call(..)"),
            Message::Spawn(_) => f.write_str("Spawn(..)"),
            Message::Stop => f.write_str("Stop"),
        }
    }
}
