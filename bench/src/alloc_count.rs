//! A counting global allocator: the system allocator plus per-thread counters
//! of allocations and bytes, switched on only around a measurement (on the
//! measuring thread), so that the timed workloads pay nothing but one
//! thread-local read per allocation.
//!
//! This is the one `unsafe` item of the benches: implementing `GlobalAlloc`
//! is `unsafe impl` by definition. Every method forwards to `System` with
//! the caller's arguments unchanged, so it upholds exactly the contract
//! `System` upholds; the counting itself is safe code on thread-local
//! `Cell`s. Miri runs this module's tests (`.ci/run`).
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The allocator (installed by `main.rs` as `#[global_allocator]`).
#[derive(Debug)]
pub struct Counting;

/// The counters of one thread. Per thread, so that a measurement sees only
/// what the measured code does on its own thread, whatever other threads
/// (helper threads, the test harness) allocate meanwhile. `const`-initialised
/// `Cell`s: reading them never allocates, as an allocator must not.
struct Counters {
    on: Cell<bool>,
    allocations: Cell<u64>,
    bytes_allocated: Cell<u64>,
    bytes_freed: Cell<u64>,
}

thread_local! {
    static COUNTERS: Counters = const {
        Counters {
            on: Cell::new(false),
            allocations: Cell::new(0),
            bytes_allocated: Cell::new(0),
            bytes_freed: Cell::new(0),
        }
    };
}

fn add(counter: &Cell<u64>, n: u64) {
    counter.set(counter.get() + n);
}

fn count_alloc(size: usize) {
    // `try_with`: during thread teardown the counters may be gone.
    let _ = COUNTERS.try_with(|c| {
        if c.on.get() {
            add(&c.allocations, 1);
            add(&c.bytes_allocated, size as u64);
        }
    });
}

fn count_free(size: usize) {
    let _ = COUNTERS.try_with(|c| {
        if c.on.get() {
            add(&c.bytes_freed, size as u64);
        }
    });
}

// SAFETY: each method calls the same method of `System` with the same
// arguments and returns its result unchanged; the counters do not touch the
// memory (and never allocate). So every guarantee `System` gives holds here too.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is; the caller upholds `alloc`'s contract.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            count_alloc(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is; the caller upholds `alloc_zeroed`'s contract.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            count_alloc(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count_free(layout.size());
        // SAFETY: forwarded as is; `ptr` came from this allocator (i.e. `System`).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded as is; the caller upholds `realloc`'s contract.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            // A move: the old block is freed, a new one allocated.
            count_free(layout.size());
            count_alloc(new_size);
        }
        new
    }
}

/// The counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Allocations (including reallocations) while counting.
    pub allocations: u64,
    /// Bytes allocated while counting.
    pub bytes_allocated: u64,
    /// Bytes freed while counting.
    pub bytes_freed: u64,
}

impl Snapshot {
    fn now() -> Snapshot {
        COUNTERS.with(|c| Snapshot {
            allocations: c.allocations.get(),
            bytes_allocated: c.bytes_allocated.get(),
            bytes_freed: c.bytes_freed.get(),
        })
    }

    /// Growth of the live heap since `earlier`, in bytes.
    pub fn live_bytes_since(&self, earlier: &Snapshot) -> i64 {
        let allocated = self.bytes_allocated - earlier.bytes_allocated;
        let freed = self.bytes_freed - earlier.bytes_freed;
        allocated as i64 - freed as i64
    }

    /// Allocations made since `earlier`.
    pub fn allocations_since(&self, earlier: &Snapshot) -> u64 {
        self.allocations - earlier.allocations
    }
}

/// Counts what `f` allocates and frees on this thread. Returns `f`'s output
/// and the counters before and after.
pub fn measure<T>(f: impl FnOnce() -> T) -> (T, Snapshot, Snapshot) {
    let before = Snapshot::now();
    COUNTERS.with(|c| c.on.set(true));
    let output = f();
    COUNTERS.with(|c| c.on.set(false));
    (output, before, Snapshot::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_what_a_closure_keeps_and_what_it_frees() {
        let (kept, before, after) = measure(|| {
            let kept = Box::new([7u8; 1000]);
            // `black_box`: unused allocations may be optimised away.
            drop(std::hint::black_box(vec![0u8; 500]));
            kept
        });
        assert_eq!(after.allocations_since(&before), 2);
        assert_eq!(after.live_bytes_since(&before), 1000);
        assert_eq!(after.bytes_freed - before.bytes_freed, 500);
        assert_eq!(kept[999], 7);
        // Not counting any more.
        drop(Box::new(1u64));
        assert_eq!(Snapshot::now(), after);
    }

    #[test]
    fn a_reallocation_counts_as_a_free_and_an_allocation() {
        let (grown, before, after) = measure(|| {
            let mut bytes = Vec::<u8>::with_capacity(8);
            bytes.reserve_exact(64); // len 0: room for exactly 64
            bytes
        });
        assert_eq!(grown.capacity(), 64);
        assert_eq!(after.allocations_since(&before), 2);
        assert_eq!(after.bytes_freed - before.bytes_freed, 8);
        assert_eq!(after.live_bytes_since(&before), 64);
    }
}
