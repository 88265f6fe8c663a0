//! The crate's error type.

use std::io;
use std::path::PathBuf;

use modforge_core::{Categorize, Category};

/// Everything that can make a generator fail.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Creating a file or folder failed.
    #[error("generate: {syscall} {}: {source}", path.display())]
    Io {
        /// The path being created.
        path: PathBuf,
        /// The operation that failed (`mkdir`, `open`, `write`, `link`, `symlink`, `mkfifo`,
        /// `bind`, `utimes`, `chmod`, `rename`).
        syscall: &'static str,
        /// The operating-system error.
        #[source]
        source: io::Error,
    },
    /// A request that cannot be generated (an unknown shape, a folder that is not empty).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The caller cancelled the generation.
    #[error("the operation was aborted")]
    Aborted,
}

impl From<modforge_core::Aborted> for Error {
    fn from(_: modforge_core::Aborted) -> Self {
        Error::Aborted
    }
}

impl Error {
    /// Builds an [`Error::Io`].
    pub(crate) fn io(syscall: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            syscall,
            source,
        }
    }
}

impl Categorize for Error {
    fn category(&self) -> Category<'_> {
        match self {
            Error::Io {
                path,
                syscall,
                source,
            } => Category::Io {
                source,
                syscall,
                path,
            },
            Error::InvalidArgument(_) => Category::InvalidArg,
            Error::Aborted => Category::Aborted,
        }
    }
}
