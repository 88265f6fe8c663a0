//! The crate's error type.

use std::io;
use std::path::PathBuf;

/// Every failure this crate reports. Reasons for not using a snapshot on disk are not errors
/// (see [`crate::Reason`]); IO failures while persisting a freshly built value are reported in
/// [`crate::Opened::persist_error`] rather than returned.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An operating-system call failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// The file or directory the call was about.
        path: PathBuf,
        /// The operation, named like the system call (`open`, `read`, `write`, `fsync`, `rename`, `mkdir`, ...).
        op: &'static str,
        /// The underlying error; `raw_os_error()` gives the errno.
        source: io::Error,
    },
    /// Input text (CSV, rows, a version column) does not have the expected form.
    #[error("{file}: {expected} (byte offset {offset}{})", line.map(|l| format!(", line {l}")).unwrap_or_default())]
    Format {
        /// The input file, or a label such as `<rows of table "x">` for in-memory input.
        file: String,
        /// Byte offset in the input where the problem was found.
        offset: u64,
        /// The 1-based source line, where one is known.
        line: Option<u64>,
        /// What was expected there (and what was found).
        expected: String,
    },
    /// A snapshot failed a checksum or structural check while being read.
    #[error("{file}: corrupt at byte offset {offset}: {detail}")]
    Corrupt {
        /// The snapshot file.
        file: String,
        /// Byte offset in the snapshot file.
        offset: u64,
        /// Which check failed.
        detail: String,
    },
    /// An argument is unusable (a bad name, version, option or index).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A size or count exceeds a documented cap.
    #[error("limit exceeded: {0}")]
    Limit(String),
    /// The operation was cancelled through its cancellation flag.
    #[error("the operation was aborted")]
    Aborted,
}

impl Error {
    /// Builds an [`Error::Io`].
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            op,
            source,
        }
    }

    /// The OS error number of an [`Error::Io`] (`raw_os_error`), where there is one.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            Error::Io { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }
}

impl From<modforge_core::Aborted> for Error {
    fn from(_: modforge_core::Aborted) -> Self {
        Error::Aborted
    }
}

impl modforge_core::Categorize for Error {
    fn category(&self) -> modforge_core::Category<'_> {
        use modforge_core::Category;
        match self {
            Error::Io { path, op, source } => Category::Io {
                source,
                syscall: op,
                path,
            },
            Error::Format { file, offset, .. } => Category::Format {
                file,
                offset: *offset,
            },
            Error::Corrupt { file, offset, .. } => Category::Corrupt {
                file,
                offset: Some(*offset),
            },
            Error::InvalidArgument(_) => Category::InvalidArg,
            Error::Limit(_) => Category::Limit,
            Error::Aborted => Category::Aborted,
        }
    }
}
