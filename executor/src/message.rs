//! What other threads can send into the loop: the injector's message type.

use crate::outcome::{panic_message, BoxFuture, Payload, TaskFuture};
use crate::panic::{drop_caught, print_unhandled, UnhandledPanic};
use looplet_injector::Injector;
use looplet_waker::TaskId;
use std::borrow::Cow;
use std::fmt;
use std::pin::Pin;

/// A callback run on the loop thread, sent from any thread.
pub(crate) type SendCallback = Box<dyn FnOnce() + Send>;

/// A remote spawn of a `Send` future (`Handle::spawn`): the task, boxed
/// once on the producer's thread and adopted as is by the loop.
pub(crate) type SendTask = Pin<Box<dyn TaskFuture + Send>>;

/// A remote spawn of a future built on the loop (`Handle::spawn_with`): the
/// closure is `Send`, the task it returns need not be; the loop calls it and
/// adopts what it returns.
pub(crate) type SpawnFn = Box<dyn FnOnce() -> BoxFuture + Send>;

/// One message through the injector. Dropping a message without running it
/// (the loop closed) drops its closure or task, and with it any
/// `RemoteHandle` completer inside: that is how a submission that never runs
/// still resolves (`LoopClosed`).
pub(crate) enum Message {
    /// A task's waker fired on another thread (or between driving calls).
    Wake(TaskId),
    /// The `block_on` root future's waker fired while its loop was not the
    /// current one: on another thread, or on the loop thread between calls.
    WakeBlockOn,
    /// `Handle::call_soon_threadsafe`.
    Call(Submission<SendCallback>),
    /// `Handle::spawn`: the task itself, ready to run.
    Spawn(Submission<SendTask>),
    /// `Handle::spawn_with`: the closure builds the task on the loop thread.
    SpawnWith(Submission<SpawnFn>),
    /// `Handle::stop`.
    Stop,
    /// A manual clock the loop runs on was advanced: look at the timers.
    ClockAdvanced,
    /// A panic nobody will read, from another thread (a remote task whose
    /// `RemoteHandle` was dropped unread, a blocking job whose handle is
    /// gone): for the loop's unhandled-panic hook. Boxed: it is rare, and
    /// every message pays for the largest variant's size in the queue.
    Unhandled(Box<Unhandled>),
}

/// A panic for the loop's hook: `what` says whose.
pub(crate) struct Unhandled {
    pub what: Cow<'static, str>,
    pub payload: Payload,
}

/// A closure (or, in `Message::Spawn`, a boxed task) that may never run.
/// A message can be dropped in places we do not control — on the producer's
/// stack when the loop refuses it, inside crossbeam when the loop's inbox
/// closes, during the loop's teardown — and dropping it drops the user's
/// captured values, whose `Drop` may panic. This wrapper contains such a
/// panic wherever it happens, so dropping a `Message` never unwinds. Where a
/// loop is at hand, the code that drops the message calls
/// [`Message::discard`] instead and reports the panic to that loop's hook;
/// elsewhere std's panic hook has printed it already.
pub(crate) struct Submission<F>(Option<F>);

impl<F> Submission<F> {
    pub fn new(closure: F) -> Self {
        Submission(Some(closure))
    }

    /// Takes the closure (or task) out to run it.
    pub fn into_inner(mut self) -> F {
        self.0.take().expect("a Submission is taken once")
    }

    /// Drops the closure unrun; the payload if its `Drop` panicked.
    fn discard(mut self) -> Result<(), Payload> {
        self.0.take().map_or(Ok(()), drop_caught)
    }
}

impl<F> Drop for Submission<F> {
    fn drop(&mut self) {
        if let Some(closure) = self.0.take() {
            let _ = drop_caught(closure); // contained; see the type's docs
        }
    }
}

impl Message {
    /// Drops a message without acting on it; the payload if a user value
    /// inside panicked in its `Drop` (an `Unhandled` payload is handed back
    /// as is, to be reported).
    pub fn discard(self) -> Result<(), Payload> {
        match self {
            Message::Call(call) => call.discard(),
            Message::Spawn(task) => task.discard(),
            Message::SpawnWith(make) => make.discard(),
            Message::Unhandled(unhandled) => Err(unhandled.payload),
            Message::Wake(_) | Message::WakeBlockOn | Message::Stop | Message::ClockAdvanced => {
                Ok(())
            }
        }
    }
}

/// Sends a panic nobody will read to the loop's unhandled-panic hook, from
/// any thread. If the loop is gone there is no hook: the panic is printed
/// the way the default hook would.
pub(crate) fn send_unhandled(
    injector: &Injector<Message>,
    what: impl Into<Cow<'static, str>>,
    payload: Payload,
) {
    let what = what.into();
    let message = Message::Unhandled(Box::new(Unhandled { what, payload }));
    if let Err(refused) = injector.push(message) {
        if let Message::Unhandled(unhandled) = refused.0 {
            let Unhandled { what, payload } = *unhandled;
            print_unhandled(&UnhandledPanic {
                task: &format!("{what}; its loop is gone"),
                message: panic_message(&payload),
                payload: &payload,
            });
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
            Message::ClockAdvanced => f.write_str("ClockAdvanced"),
            Message::Unhandled(unhandled) => write!(f, "Unhandled({})", unhandled.what),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_is_three_words_at_most() {
        // Every message in the injector's queue pays for the largest variant.
        assert!(
            std::mem::size_of::<Message>() <= 24,
            "{}",
            std::mem::size_of::<Message>()
        );
    }
}
