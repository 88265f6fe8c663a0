//! A global allocator that counts, per thread, the heap bytes live, their peak, the bytes and
//! allocations made and the largest single allocation; [`measure`] reads them around a closure.
//!
//! Install it in a test binary:
//!
//! ```rust,standalone_crate
//! #[global_allocator]
//! static ALLOCATOR: modforge_fuzzkit::CountingAllocator = modforge_fuzzkit::CountingAllocator;
//!
//! fn main() {
//!     let (buffer, usage) = modforge_fuzzkit::measure(|| vec![0u8; 4096]);
//!     assert!(usage.measured);
//!     assert!(usage.peak >= 4096 && usage.largest >= 4096);
//!     drop(buffer);
//! }
//! ```
//!
//! Counts are per thread: work a closure hands to other threads is not seen. Memory freed by
//! another thread than the one that allocated it lowers that other thread's count.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};

/// Forwards every call to the system allocator and counts sizes on the calling thread.
#[derive(Debug, Clone, Copy, Default)]
pub struct CountingAllocator;

thread_local! {
    static LIVE: Cell<i64> = const { Cell::new(0) };
    static PEAK: Cell<i64> = const { Cell::new(0) };
    static BYTES: Cell<u64> = const { Cell::new(0) };
    static COUNT: Cell<u64> = const { Cell::new(0) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

/// Set by the first allocation through [`CountingAllocator`]: whether it is the global allocator.
static INSTALLED: AtomicBool = AtomicBool::new(false);

fn grew(size: usize, added: usize) {
    // `try_with`: the thread-local may already be gone while a thread shuts down.
    let _ = LIVE.try_with(|live| {
        let now = live
            .get()
            .saturating_add(i64::try_from(added).unwrap_or(i64::MAX));
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
    let _ = BYTES.try_with(|bytes| bytes.set(bytes.get().saturating_add(added as u64)));
    let _ = COUNT.try_with(|count| count.set(count.get() + 1));
    let _ = LARGEST.try_with(|largest| largest.set(largest.get().max(size)));
}

fn shrank(removed: usize) {
    let _ = LIVE.try_with(|live| {
        live.set(
            live.get()
                .saturating_sub(i64::try_from(removed).unwrap_or(i64::MAX)),
        )
    });
}

#[allow(unsafe_code)]
// SAFETY: every method forwards to the system allocator with the caller's arguments unchanged and
// returns its result; the bookkeeping only reads sizes and touches thread-local cells, which
// never allocate (const-initialised `Cell`s).
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        INSTALLED.store(true, Ordering::Relaxed);
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, passed on unchanged.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            grew(layout.size(), layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        INSTALLED.store(true, Ordering::Relaxed);
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            grew(layout.size(), layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by this allocator (hence by `System`) with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc`, and `new_size` follows `GlobalAlloc::realloc`'s contract.
        let moved = unsafe { System.realloc(ptr, layout, new_size) };
        if !moved.is_null() {
            if new_size >= layout.size() {
                grew(new_size, new_size - layout.size());
            } else {
                shrank(layout.size() - new_size);
            }
        }
        moved
    }
}

/// What a closure allocated on its thread.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// The most heap bytes live at once above what was live when the closure started.
    pub peak: usize,
    /// Bytes allocated in all (growth of reallocations included).
    pub allocated: u64,
    /// Allocations made.
    pub allocations: u64,
    /// The largest single allocation.
    pub largest: usize,
    /// False when [`CountingAllocator`] is not the global allocator (every count is then 0).
    pub measured: bool,
}

/// Runs `f` and returns its result with what it allocated on this thread. Nested calls work: the
/// outer call's peak includes the inner call's.
pub fn measure<T>(f: impl FnOnce() -> T) -> (T, Usage) {
    let live = LIVE.with(Cell::get);
    let outer_peak = PEAK.with(|peak| peak.replace(live));
    let bytes = BYTES.with(Cell::get);
    let count = COUNT.with(Cell::get);
    let outer_largest = LARGEST.with(|largest| largest.replace(0));
    let out = f();
    let peak = PEAK.with(Cell::get);
    PEAK.with(|p| p.set(outer_peak.max(peak)));
    let largest = LARGEST.with(|l| l.replace(outer_largest.max(l.get())));
    let usage = Usage {
        peak: usize::try_from(peak.saturating_sub(live)).unwrap_or(0),
        allocated: BYTES.with(Cell::get).saturating_sub(bytes),
        allocations: COUNT.with(Cell::get).saturating_sub(count),
        largest,
        measured: INSTALLED.load(Ordering::Relaxed),
    };
    (out, usage)
}
