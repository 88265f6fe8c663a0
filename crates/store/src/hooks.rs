//! Cancellation, progress and write-layer hooks shared by every building or writing call.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::Error;
use crate::layer::{FileLayer, OsLayer};

/// The phase a progress event belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Reading and parsing the source tables (`done`/`total` in input bytes).
    Parse,
    /// Writing the snapshot file (`done`/`total` in file bytes).
    Write,
}

impl Stage {
    /// `"parse"` or `"write"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Parse => "parse",
            Stage::Write => "write",
        }
    }
}

/// One progress event. Events come at coarse steps (per table and every few thousand rows while
/// parsing, per MiB while writing); throttling for display is the receiver's job.
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    /// The phase.
    pub stage: Stage,
    /// Units done so far.
    pub done: u64,
    /// Units in all.
    pub total: u64,
    /// The table being parsed, or the file being written.
    pub current: Option<&'a str>,
}

/// Optional hooks of a build or write. `Hooks::default()` means: no cancellation, no progress,
/// the real file system, the current time in the header.
#[derive(Clone, Copy, Default)]
pub struct Hooks<'a> {
    /// Checked while parsing, building and writing; when set the call fails with
    /// [`Error::Aborted`] and removes its temp file.
    pub cancel: Option<&'a AtomicBool>,
    /// Receives progress events on the calling thread.
    pub progress: Option<&'a (dyn Fn(&Progress<'_>) + Sync)>,
    /// The file layer used for writing (default: [`OsLayer`]); lets tests inject write errors.
    pub file_layer: Option<&'a dyn FileLayer>,
    /// The header's `created` field in Unix ns (default: now); fixed values give byte-identical files.
    pub created_ns: Option<u64>,
}

impl<'a> Hooks<'a> {
    /// Fails with [`Error::Aborted`] once the cancellation flag is set.
    pub(crate) fn check_cancel(&self) -> Result<(), Error> {
        match self.cancel {
            Some(flag) if flag.load(Ordering::Relaxed) => Err(Error::Aborted),
            _ => Ok(()),
        }
    }

    pub(crate) fn report(&self, stage: Stage, done: u64, total: u64, current: Option<&str>) {
        if let Some(progress) = self.progress {
            progress(&Progress {
                stage,
                done,
                total,
                current,
            });
        }
    }

    pub(crate) fn layer(&self) -> &'a dyn FileLayer {
        self.file_layer.unwrap_or(&OsLayer)
    }

    pub(crate) fn created(&self) -> u64 {
        self.created_ns.unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
                .unwrap_or(0)
        })
    }
}
