//! Cancellation, progress and write-layer hooks shared by every building or writing call.

use modforge_core::{Control, Progress, Stage};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::Error;
use crate::layer::{FileLayer, OsLayer};

/// Optional hooks of a build or write. `Hooks::default()` means: no cancellation, no progress,
/// the real file system, the current time in the header.
#[derive(Clone, Copy, Default)]
pub struct Hooks<'a> {
    /// Cancellation, checked while parsing, building and writing (the call then fails with
    /// [`Error::Aborted`] and removes its temp file), and progress events on the calling thread.
    pub control: Control<'a>,
    /// The file layer used for writing (default: [`OsLayer`]); lets tests inject write errors.
    pub file_layer: Option<&'a dyn FileLayer>,
    /// The header's `created` field in Unix ns (default: now); fixed values give byte-identical files.
    pub created_ns: Option<u64>,
}

impl<'a> Hooks<'a> {
    /// Fails with [`Error::Aborted`] once the cancellation flag is set.
    pub(crate) fn check_cancel(&self) -> Result<(), Error> {
        Ok(self.control.check()?)
    }

    pub(crate) fn report(&self, stage: Stage, done: u64, total: u64, current: Option<&str>) {
        self.control
            .report(Progress::of(stage, done, total).at(current.unwrap_or_default()));
    }

    pub(crate) fn layer(&self) -> &'a dyn FileLayer {
        self.file_layer.unwrap_or(&OsLayer)
    }

    /// The header's `created` time: [`Hooks::created_ns`], or now.
    pub fn created(&self) -> u64 {
        self.created_ns.unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
                .unwrap_or(0)
        })
    }
}
