//! Timers: a binary heap of deadlines with lazy cancellation.
//!
//! Each timer is an entry in a slab, plus a `(deadline, seq, slot)` item in a
//! min-heap. Cancelling removes the slab entry only; the heap item stays
//! behind and is skipped when it reaches the top (its `seq` no longer matches
//! the slot). That keeps both insert and cancel `O(log n)` / `O(1)`. Stale
//! items are swept when they outnumber live ones, so a program that keeps
//! creating and cancelling long timeouts does not grow the heap without bound.
//!
//! `seq` also breaks ties: timers with the same deadline fire in the order
//! they were created.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::task::Waker;
use std::time::Instant;

/// What happens when a timer fires.
pub(crate) enum Expiry {
    /// A `Sleep` future is waiting: wake its task.
    Wake(Waker),
    /// A `call_later`/`call_at` callback: schedule it (by its callback key).
    Callback(crate::callbacks::CallbackKey),
}

/// Names one timer; stale keys (fired or cancelled) are harmless.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimerKey {
    slot: usize,
    seq: u64,
}

struct Entry {
    seq: u64,
    expiry: Expiry,
}

#[derive(Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<(Instant, u64, usize)>>,
    entries: slab::Slab<Entry>,
    next_seq: u64,
}

impl Timers {
    pub fn insert(&mut self, deadline: Instant, expiry: Expiry) -> TimerKey {
        let seq = self.next_seq;
        self.next_seq += 1;
        let slot = self.entries.insert(Entry { seq, expiry });
        self.heap.push(Reverse((deadline, seq, slot)));
        TimerKey { slot, seq }
    }

    fn entry_mut(&mut self, key: TimerKey) -> Option<&mut Entry> {
        self.entries.get_mut(key.slot).filter(|e| e.seq == key.seq)
    }

    /// Removes a timer that has not fired. Returns what it would have done.
    pub fn cancel(&mut self, key: TimerKey) -> Option<Expiry> {
        self.entry_mut(key)?;
        let expiry = self.entries.remove(key.slot).expiry;
        self.sweep_if_mostly_stale();
        Some(expiry)
    }

    /// Points a pending `Wake` timer at a new waker (a future moved tasks).
    /// Returns the old waker, for the caller to drop once no borrow is held
    /// (a waker's `Drop` is user code).
    #[must_use = "drop the old waker after releasing the borrow"]
    pub fn update_waker(&mut self, key: TimerKey, waker: &Waker) -> Option<Waker> {
        match self.entry_mut(key) {
            Some(Entry {
                expiry: Expiry::Wake(current),
                ..
            }) if !current.will_wake(waker) => Some(std::mem::replace(current, waker.clone())),
            _ => None,
        }
    }

    /// True if the timer is still pending.
    pub fn is_pending(&self, key: TimerKey) -> bool {
        self.entries.get(key.slot).is_some_and(|e| e.seq == key.seq)
    }

    /// The earliest pending deadline.
    pub fn next_deadline(&mut self) -> Option<Instant> {
        self.drop_stale_top();
        self.heap.peek().map(|Reverse((deadline, _, _))| *deadline)
    }

    /// Removes and returns the earliest timer if its deadline is `<= now`.
    pub fn pop_expired(&mut self, now: Instant) -> Option<Expiry> {
        self.drop_stale_top();
        let Reverse((deadline, _, slot)) = *self.heap.peek()?;
        if deadline > now {
            return None;
        }
        self.heap.pop();
        Some(self.entries.remove(slot).expiry)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    fn is_live(&self, seq: u64, slot: usize) -> bool {
        self.entries.get(slot).is_some_and(|e| e.seq == seq)
    }

    fn drop_stale_top(&mut self) {
        while let Some(&Reverse((_, seq, slot))) = self.heap.peek() {
            if self.is_live(seq, slot) {
                break;
            }
            self.heap.pop();
        }
    }

    /// Sweeps when stale items are more than half the heap: the sweep costs
    /// `O(n)`, so it must be rare; at twice the live count each sweep at
    /// least halves the heap, which pays for it. Small heaps are left alone.
    fn sweep_if_mostly_stale(&mut self) {
        if self.heap.len() > 64 && self.heap.len() > 2 * self.entries.len() {
            let entries = &self.entries;
            self.heap.retain(|Reverse((_, seq, slot))| {
                entries.get(*slot).is_some_and(|e| e.seq == *seq)
            });
        }
    }

    /// Empties the timers, handing back everything they held (to drop it
    /// outside any borrow: a waker's or callback's `Drop` is user code).
    pub fn take_all(&mut self) -> Vec<Expiry> {
        self.heap.clear();
        self.entries.drain().map(|e| e.expiry).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;
    use std::time::Duration;

    fn noop() -> Expiry {
        Expiry::Wake(Waker::noop().clone())
    }

    #[test]
    fn pops_in_deadline_order_then_creation_order() {
        let mut t = Timers::default();
        let now = Instant::now();
        let late = t.insert(now + Duration::from_millis(20), noop());
        let early = t.insert(now + Duration::from_millis(10), noop());
        let tie = t.insert(now + Duration::from_millis(10), noop());
        assert_eq!(t.next_deadline(), Some(now + Duration::from_millis(10)));
        let far = now + Duration::from_secs(1);
        assert!(t.pop_expired(now).is_none());
        assert!(t.pop_expired(far).is_some());
        assert!(!t.is_pending(early));
        assert!(t.is_pending(tie));
        assert!(t.pop_expired(far).is_some());
        assert!(!t.is_pending(tie));
        assert!(t.is_pending(late));
    }

    #[test]
    fn cancelled_timers_never_pop_and_stale_keys_are_harmless() {
        let mut t = Timers::default();
        let now = Instant::now();
        let a = t.insert(now, noop());
        assert!(t.cancel(a).is_some());
        assert!(t.cancel(a).is_none(), "second cancel is a no-op");
        assert!(t.pop_expired(now).is_none());
        assert_eq!(t.next_deadline(), None);
    }

    #[test]
    fn many_cancelled_timers_do_not_grow_the_heap() {
        let mut t = Timers::default();
        let far = Instant::now() + Duration::from_secs(3600);
        for _ in 0..10_000 {
            let k = t.insert(far, noop());
            t.cancel(k);
        }
        assert!(
            t.heap.len() <= 130,
            "heap kept {} stale items",
            t.heap.len()
        );
    }
}
