//! The progress ticker: a thread that sums the workers' progress slots about every 100 ms.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crate::engine::ProgressSlot;
use crate::error::Error;
use modforge_core::{Progress, ProgressFn, Stage};

use crate::hooks::Tick;

/// Interval between progress events.
pub(crate) const TICK: Duration = Duration::from_millis(100);

/// Calls `callback`, turning a panic into [`Error::Internal`].
pub(crate) fn emit(callback: ProgressFn<'_>, tick: &Tick) -> Result<(), Error> {
    let event = Progress {
        stage: Stage::Walk,
        done: tick.done,
        total: None,
        bytes: Some(tick.bytes),
        current: &tick.current,
    };
    catch_unwind(AssertUnwindSafe(|| callback(&event))).map_err(|p| {
        Error::Internal(format!(
            "progress callback: {}",
            crate::engine::panic_message(p.as_ref())
        ))
    })
}

/// Sums the slots into an event.
fn snapshot(slots: &[ProgressSlot], tick: usize) -> Tick {
    let (mut done, mut bytes) = (0u64, 0u64);
    for slot in slots {
        let (d, b) = slot.snapshot();
        done = done.saturating_add(d);
        bytes = bytes.saturating_add(b);
    }
    let n = slots.len().max(1);
    let current = (0..n)
        .filter_map(|i| slots.get((tick + i) % n).and_then(ProgressSlot::current))
        .next()
        .map_or_else(
            || ".".to_string(),
            |rel| {
                if rel.is_empty() {
                    ".".to_string()
                } else {
                    rel.to_string()
                }
            },
        );
    Tick {
        done,
        bytes,
        current,
    }
}

/// Runs until `finished` is set (the owner unparks the thread after setting it). On a callback
/// panic the error goes to `failure` and `stop` is set, which stops the walk.
pub(crate) fn run(
    slots: &[ProgressSlot],
    callback: ProgressFn<'_>,
    finished: &AtomicBool,
    stop: &AtomicBool,
    failure: &Mutex<Option<Error>>,
) {
    let mut tick = 0usize;
    let mut next = Instant::now() + TICK;
    loop {
        // park_timeout may return early (spurious wake-ups): wait for the deadline or the end
        loop {
            if finished.load(Ordering::Acquire) {
                return;
            }
            let now = Instant::now();
            if now >= next {
                break;
            }
            thread::park_timeout(next - now);
        }

        tick = tick.wrapping_add(1);
        if let Err(e) = emit(callback, &snapshot(slots, tick)) {
            *failure.lock().unwrap_or_else(PoisonError::into_inner) = Some(e);
            stop.store(true, Ordering::Release);
            return;
        }
        next = Instant::now() + TICK;
    }
}
