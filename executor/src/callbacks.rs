//! Callbacks: plain `FnOnce()` jobs run by the loop, FIFO.
//!
//! `call_soon` queues a callback for the next run phase; `call_later` and
//! `call_at` park it in a timer first. Either way the callback itself lives
//! in a slab, and the FIFO holds only its key, so a [`CallbackHandle`] can
//! cancel it wherever it is (in a timer or already queued) without searching.

use crate::core::Core;
use std::collections::VecDeque;
use std::fmt;
use std::rc::Weak;

/// A callback that runs on the loop thread; it need not be `Send`.
pub(crate) type LocalCallback = Box<dyn FnOnce()>;

/// Names one callback; a key whose callback ran or was cancelled is stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CallbackKey {
    slot: usize,
    seq: u64,
}

#[derive(Default)]
pub(crate) struct Callbacks {
    entries: slab::Slab<(u64, LocalCallback)>,
    queue: VecDeque<CallbackKey>,
    next_seq: u64,
}

impl Callbacks {
    /// Stores a callback without scheduling it (a timer will, later).
    pub fn insert(&mut self, callback: LocalCallback) -> CallbackKey {
        let seq = self.next_seq;
        self.next_seq += 1;
        let slot = self.entries.insert((seq, callback));
        CallbackKey { slot, seq }
    }

    /// Appends a stored callback to the run queue.
    pub fn schedule(&mut self, key: CallbackKey) {
        self.queue.push_back(key);
    }

    /// Takes the next queue slot: `None` if the queue is empty,
    /// `Some(None)` if that slot's callback was cancelled. The run phase
    /// counts *slots*, so a cancelled callback in the snapshot cannot let a
    /// callback scheduled during this turn slip into it.
    pub fn pop_slot(&mut self) -> Option<Option<LocalCallback>> {
        let key = self.queue.pop_front()?;
        Some(self.take(key))
    }

    /// Removes a callback wherever it is; `None` if it ran or was cancelled.
    pub fn take(&mut self, key: CallbackKey) -> Option<LocalCallback> {
        match self.entries.get(key.slot) {
            Some((seq, _)) if *seq == key.seq => Some(self.entries.remove(key.slot).1),
            _ => None,
        }
    }

    /// Scheduled entries (cancelled ones included until they are skipped).
    pub fn scheduled(&self) -> usize {
        self.queue.len()
    }

    /// Empties everything, handing the callbacks back to be dropped outside the borrow.
    pub fn take_all(&mut self) -> Vec<LocalCallback> {
        self.queue.clear();
        self.entries.drain().map(|(_, cb)| cb).collect()
    }
}

/// Cancels a callback scheduled with `call_soon`, `call_later` or `call_at`.
/// Dropping the handle does *not* cancel: the callback still runs.
pub struct CallbackHandle {
    pub(crate) key: CallbackKey,
    /// The timer of a `call_later`/`call_at` callback, removed on cancel so
    /// it neither lingers in the heap nor shows in `next_deadline`.
    pub(crate) timer: Option<crate::timers::TimerKey>,
    pub(crate) core: Weak<Core>,
}

impl CallbackHandle {
    /// Cancels the callback. Returns `true` if it had not run yet (it never
    /// will now); `false` if it already ran, was cancelled, or the loop is gone.
    pub fn cancel(&self) -> bool {
        let Some(core) = self.core.upgrade() else {
            return false;
        };
        let callback = core.callbacks.borrow_mut().take(self.key);
        if let Some(timer) = self.timer {
            let _ = core.timers.borrow_mut().cancel(timer);
        }
        let Some(callback) = callback else {
            return false;
        };
        // The closure's captures are user code: dropped outside the borrow,
        // with a panic in their `Drop` reported like one in an aborted
        // task's future, never propagated to the caller.
        core.drop_user_value(|| "a callback (while cancelling it)".into(), callback);
        true
    }
}

impl fmt::Debug for CallbackHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackHandle")
            .field("key", &self.key)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    #[test]
    fn slots_come_out_in_fifo_order_and_cancelled_ones_are_empty() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut callbacks = Callbacks::default();
        let mut keys = Vec::new();
        for i in 0..3 {
            let log = Rc::clone(&log);
            let key = callbacks.insert(Box::new(move || log.borrow_mut().push(i)));
            callbacks.schedule(key);
            keys.push(key);
        }
        assert!(callbacks.take(keys[1]).is_some(), "cancel the middle one");
        assert_eq!(
            callbacks.scheduled(),
            3,
            "its slot stays until it is reached"
        );
        while let Some(slot) = callbacks.pop_slot() {
            if let Some(callback) = slot {
                callback();
            }
        }
        assert_eq!(*log.borrow(), vec![0, 2]);
    }

    #[test]
    fn a_stale_key_takes_nothing_even_after_its_slot_is_reused() {
        let mut callbacks = Callbacks::default();
        let old = callbacks.insert(Box::new(|| {}));
        assert!(callbacks.take(old).is_some());
        let new = callbacks.insert(Box::new(|| {}));
        assert!(callbacks.take(old).is_none(), "the seq tells them apart");
        assert!(callbacks.take(new).is_some());
    }
}
