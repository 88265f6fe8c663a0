//! The crate's error type.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// The file system operation that failed, as listed in `ProfileReport::errors` and in [`Error::Io`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorOp {
    /// Opening a directory for listing.
    Opendir,
    /// Reading the entries of an open directory.
    Readdir,
    /// Reading an entry's own metadata (symbolic links not followed).
    Lstat,
    /// Reading metadata through a symbolic link (the root, or a followed link).
    Stat,
}

impl ErrorOp {
    /// The name used in reports and as the `syscall` of an I/O error: `opendir`, `readdir`, `lstat` or `stat`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorOp::Opendir => "opendir",
            ErrorOp::Readdir => "readdir",
            ErrorOp::Lstat => "lstat",
            ErrorOp::Stat => "stat",
        }
    }
}

impl fmt::Display for ErrorOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything that can make a walk, a profile or a tree generation fail.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file system operation failed where the call cannot continue: the root is missing or not a
    /// directory, or the first error of a `strict` profile.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// Absolute path of the entry (the root as given for root errors).
        path: PathBuf,
        /// The operation that failed.
        op: ErrorOp,
        /// The operating system error (`raw_os_error()` holds the errno).
        #[source]
        source: io::Error,
    },
    /// An option is invalid (a malformed glob names the pattern).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The walk was cancelled by the caller (cancel flag, or a path consumer that asked to stop).
    #[error("the operation was aborted")]
    Aborted,
    /// A bug: a worker panicked or a thread could not be started.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The errno of an I/O error (`raw_os_error`), if any.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Io { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }

    /// The POSIX name of an I/O error's errno (`"EACCES"`, ...), `"UNKNOWN"` for unnamed codes.
    pub fn code(&self) -> Option<&'static str> {
        match self {
            Error::Io { source, .. } => Some(modforge_core::io_code_name(source)),
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
                syscall: op.as_str(),
                path,
            },
            Error::InvalidArgument(_) => Category::InvalidArg,
            Error::Aborted => Category::Aborted,
            Error::Internal(_) => Category::Internal,
        }
    }
}
