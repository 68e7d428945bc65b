//! Task identity: which slot a task lives in, and which occupant of that slot.

use std::fmt;

/// Names one task of one loop: `slot` is its index in the loop's task slab,
/// `generation` tells apart the successive tasks that reuse that slot.
///
/// The loop hands out generations from one counter that only grows, so a
/// generation is never reused within a loop's life: a stale id (its task
/// finished, the slot now holds another) never matches the slot's occupant.
///
/// ```
/// use looplet_waker::TaskId;
/// let first = TaskId::new(0, 1);
/// let reuse = TaskId::new(0, 2); // the same slot, a later task
/// assert_eq!(first.slot(), reuse.slot());
/// assert_ne!(first, reuse, "the generation tells them apart");
/// assert_eq!(format!("{first:?}"), "TaskId(0v1)");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId {
    slot: u32,
    generation: u64,
}

impl TaskId {
    /// An id for the task in `slot` spawned as number `generation`.
    pub const fn new(slot: u32, generation: u64) -> Self {
        TaskId { slot, generation }
    }

    /// The index of the task's entry in the loop's slab.
    pub const fn slot(self) -> usize {
        self.slot as usize
    }

    /// Which occupant of the slot this id names.
    pub const fn generation(self) -> u64 {
        self.generation
    }
}

impl fmt::Debug for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TaskId({}v{})", self.slot, self.generation)
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.generation)
    }
}
