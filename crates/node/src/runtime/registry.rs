//! Native objects that JavaScript holds by handle (open datasets, icon caches, ROM files, ...).
//!
//! JavaScript keeps a plain number per object and calls free functions with it: a napi-rs class
//! method call costs about 0.4 µs (instance unwrap plus borrow tracking), more than a whole lookup,
//! so hot paths avoid class instances. Handles are never reused, so a closed handle can never
//! reach another object. The memory an object holds (a mapping) is reported to V8 as external
//! memory, so unclosed objects still make the garbage collector run their finalizers.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, RwLock};

use napi::Env;

use crate::runtime::error::NodeError;

struct Entry<T> {
    value: Arc<T>,
    external_bytes: i64,
}

/// Open objects of one kind by handle.
pub struct Registry<T> {
    what: &'static str,
    open: RwLock<HashMap<u32, Entry<T>>>,
    next: AtomicU32,
}

impl<T> Registry<T> {
    /// An empty registry; `what` names the kind in errors (`the dataset is closed`).
    pub fn new(what: &'static str) -> Self {
        Registry {
            what,
            open: RwLock::new(HashMap::new()),
            next: AtomicU32::new(1),
        }
    }

    /// Registers `value`, reporting `external_bytes` of native memory to V8, and returns its handle.
    pub fn insert(&self, env: &Env, value: Arc<T>, external_bytes: u64) -> u32 {
        let handle = self.next.fetch_add(1, Ordering::Relaxed);
        let external_bytes = i64::try_from(external_bytes).unwrap_or(i64::MAX);
        // A failed adjustment only means V8 does not know the size: nothing to report.
        let _ = env.adjust_external_memory(external_bytes);
        self.write().insert(
            handle,
            Entry {
                value,
                external_bytes,
            },
        );
        handle
    }

    /// The object behind `handle`, or `ERR_MODFORGE_INVALID_ARG` once it is closed.
    pub fn get(&self, handle: u32) -> Result<Arc<T>, NodeError> {
        self.open
            .read()
            .unwrap_or_else(|poison| poison.into_inner())
            .get(&handle)
            .map(|entry| Arc::clone(&entry.value))
            .ok_or_else(|| NodeError::InvalidArg(format!("the {} is closed", self.what)))
    }

    /// Releases `handle` (the object goes when its last user drops it). Closing twice is harmless.
    pub fn remove(&self, env: &Env, handle: u32) {
        if let Some(entry) = self.write().remove(&handle) {
            let _ = env.adjust_external_memory(-entry.external_bytes);
        }
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<u32, Entry<T>>> {
        self.open
            .write()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}
