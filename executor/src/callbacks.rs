//! Callbacks: plain `FnOnce()` jobs run by the loop, FIFO.
//!
//! `call_soon` queues a callback for the next run phase; `call_later` and
//! `call_at` park it in a timer first. Either way the callback itself lives
//! in a slab, and the FIFO holds only its key, so a `CallbackHandle` can
//! cancel it wherever it is (in a timer or already queued) without searching.
//! This file is the data structure alone; the handle is `callback_handle.rs`.

use std::collections::VecDeque;

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
