//! The cap on directories open at once over all workers of one walk (docs/profile.md, "Engine").
//!
//! A slot is taken before a directory is opened and given back when the last holder of the open
//! directory (its listing, pending stat chunks, a worker's kept handle) drops it. A worker that
//! finds every slot taken sleeps on a condition variable until a slot is given back or the walk
//! stops; it never polls.

use std::sync::atomic::{AtomicUsize, Ordering, fence};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

/// Longest a waiting worker sleeps before it looks at the walk's stop flags again. Stops are
/// announced through [`Budget::wake_all`]; the timeout only bounds the reaction to a flag set by
/// the caller while every other worker is blocked, and it is taken only while the budget is
/// exhausted.
const WAIT_RECHECK: Duration = Duration::from_millis(20);

/// Directories one walk may hold open.
#[derive(Debug)]
pub(crate) struct Budget {
    open: AtomicUsize,
    limit: usize,
    waiters: AtomicUsize,
    lock: Mutex<()>,
    freed: Condvar,
}

/// One open directory, counted against the budget until dropped.
#[derive(Debug)]
pub(crate) struct OpenDir {
    budget: Arc<Budget>,
}

impl Drop for OpenDir {
    fn drop(&mut self) {
        self.budget.release();
    }
}

impl Budget {
    /// A budget of `limit` open directories (at least 1).
    pub(crate) fn new(limit: usize) -> Arc<Self> {
        Arc::new(Budget {
            open: AtomicUsize::new(0),
            limit: limit.max(1),
            waiters: AtomicUsize::new(0),
            lock: Mutex::new(()),
            freed: Condvar::new(),
        })
    }

    /// Takes a slot if one is free now.
    pub(crate) fn try_take(self: &Arc<Self>) -> Option<Arc<OpenDir>> {
        let mut open = self.open.load(Ordering::Acquire);
        while open < self.limit {
            match self.open.compare_exchange_weak(
                open,
                open + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    return Some(Arc::new(OpenDir {
                        budget: Arc::clone(self),
                    }));
                }
                Err(now) => open = now,
            }
        }
        None
    }

    /// Takes a slot, sleeping while none is free. `None` when `stopped()` turns true meanwhile.
    pub(crate) fn take(self: &Arc<Self>, stopped: impl Fn() -> bool) -> Option<Arc<OpenDir>> {
        if let Some(slot) = self.try_take() {
            return Some(slot);
        }
        let mut guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        self.waiters.fetch_add(1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        let slot = loop {
            if let Some(slot) = self.try_take() {
                break Some(slot);
            }
            if stopped() {
                break None;
            }
            guard = self
                .freed
                .wait_timeout(guard, WAIT_RECHECK)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        };
        self.waiters.fetch_sub(1, Ordering::SeqCst);
        slot
    }

    fn release(&self) {
        self.open.fetch_sub(1, Ordering::AcqRel);
        fence(Ordering::SeqCst);
        if self.waiters.load(Ordering::SeqCst) > 0 {
            let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
            self.freed.notify_one();
        }
    }

    /// Wakes every waiting worker (the walk stopped).
    pub(crate) fn wake_all(&self) {
        let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        self.freed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_capped_and_given_back() {
        let budget = Budget::new(2);
        let a = budget.try_take().unwrap();
        let b = budget.try_take().unwrap();
        assert!(budget.try_take().is_none());
        drop(a);
        let c = budget.try_take().unwrap();
        assert!(budget.try_take().is_none());
        drop((b, c));
        assert_eq!(budget.open.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_waiter_gets_the_slot_given_back() {
        let budget = Budget::new(1);
        let held = budget.try_take().unwrap();
        std::thread::scope(|scope| {
            let waiter = scope.spawn(|| budget.take(|| false).is_some());
            while budget.waiters.load(Ordering::SeqCst) == 0 {
                std::thread::yield_now();
            }
            drop(held);
            assert!(waiter.join().unwrap());
        });
    }

    #[test]
    fn a_waiter_gives_up_when_the_walk_stops() {
        let budget = Budget::new(1);
        let _held = budget.try_take().unwrap();
        let stop = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| {
            let waiter = scope.spawn(|| budget.take(|| stop.load(Ordering::SeqCst)).is_none());
            while budget.waiters.load(Ordering::SeqCst) == 0 {
                std::thread::yield_now();
            }
            stop.store(true, Ordering::SeqCst);
            budget.wake_all();
            assert!(waiter.join().unwrap());
        });
    }
}
