//! The crate's error type: one enum carrying path and offset context, mapped to the shared
//! categories of `modforge_core` (docs/icons.md, "Errors").

use std::io;
use std::path::PathBuf;

use modforge_core::{Categorize, Category, OutOfBounds};

/// Every failure of the resource index, the decoders and the icon cache.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An operating-system call failed.
    #[error("{syscall} {}: {source}", path.display())]
    Io {
        /// The file or folder the call was about.
        path: PathBuf,
        /// The call, named like the system call (`open`, `read`, `stat`, `opendir`, ...).
        syscall: &'static str,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// Input does not follow its format.
    #[error("{file}: byte offset {offset}: {expected}")]
    Format {
        /// The file (or archive entry) being read.
        file: String,
        /// Byte offset of the problem inside it.
        offset: u64,
        /// What was expected there, and what was found.
        expected: String,
    },
    /// Stored data failed a checksum or a structural check.
    #[error("{file}: corrupt{}: {detail}", offset.map(|o| format!(" at byte offset {o}")).unwrap_or_default())]
    Corrupt {
        /// The file.
        file: String,
        /// Byte offset of the problem, when known.
        offset: Option<u64>,
        /// Which check failed.
        detail: String,
    },
    /// An argument is unusable.
    #[error("invalid argument: {0}")]
    InvalidArg(String),
    /// A documented size or count cap was exceeded.
    #[error("{file}: limit exceeded: {what}")]
    Limit {
        /// The file (or archive entry).
        file: String,
        /// Which cap, and the value found.
        what: String,
    },
    /// The call was cancelled.
    #[error("the operation was aborted")]
    Aborted,
    /// An invariant did not hold (a bug).
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// An [`Error::Io`].
    pub(crate) fn io(syscall: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            syscall,
            source,
        }
    }

    /// An [`Error::Format`].
    pub(crate) fn format(file: &str, offset: u64, expected: impl Into<String>) -> Self {
        Error::Format {
            file: file.to_string(),
            offset,
            expected: expected.into(),
        }
    }

    /// An [`Error::Format`] for input that ended early.
    pub(crate) fn short(file: &str, oob: OutOfBounds) -> Self {
        Error::format(
            file,
            oob.offset,
            format!(
                "{} more bytes (the input has {} bytes)",
                oob.wanted, oob.len
            ),
        )
    }

    /// An [`Error::Limit`].
    pub(crate) fn limit(file: &str, what: impl Into<String>) -> Self {
        Error::Limit {
            file: file.to_string(),
            what: what.into(),
        }
    }

    /// An [`Error::Corrupt`].
    pub(crate) fn corrupt(file: &str, offset: Option<u64>, detail: impl Into<String>) -> Self {
        Error::Corrupt {
            file: file.to_string(),
            offset,
            detail: detail.into(),
        }
    }

    /// The stable category name used in reports (`io`, `format`, `corrupt`, `invalid-arg`,
    /// `limit`, `aborted`, `internal`).
    pub fn code(&self) -> &'static str {
        match self {
            Error::Io { .. } => "io",
            Error::Format { .. } => "format",
            Error::Corrupt { .. } => "corrupt",
            Error::InvalidArg(_) => "invalid-arg",
            Error::Limit { .. } => "limit",
            Error::Aborted => "aborted",
            Error::Internal(_) => "internal",
        }
    }
}

impl From<modforge_core::Aborted> for Error {
    fn from(_: modforge_core::Aborted) -> Self {
        Error::Aborted
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
            Error::Format { file, offset, .. } => Category::Format {
                file,
                offset: *offset,
            },
            Error::Corrupt { file, offset, .. } => Category::Corrupt {
                file,
                offset: *offset,
            },
            Error::InvalidArg(_) => Category::InvalidArg,
            Error::Limit { .. } => Category::Limit,
            Error::Aborted => Category::Aborted,
            Error::Internal(_) => Category::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_file_and_offset() {
        let e = Error::format("a.hak", 16, "an entry count below 3");
        assert_eq!(
            e.to_string(),
            "a.hak: byte offset 16: an entry count below 3"
        );
        assert!(matches!(e.category(), Category::Format { offset: 16, .. }));
        let e = Error::short(
            "b.tga",
            OutOfBounds {
                offset: 18,
                wanted: 4,
                len: 20,
            },
        );
        assert_eq!(
            e.to_string(),
            "b.tga: byte offset 18: 4 more bytes (the input has 20 bytes)"
        );
        assert_eq!(e.code(), "format");
        let e = Error::corrupt("c.snap", Some(7), "blob hash");
        assert_eq!(e.to_string(), "c.snap: corrupt at byte offset 7: blob hash");
        assert!(matches!(
            Error::from(modforge_core::Aborted).category(),
            Category::Aborted
        ));
        assert_eq!(Error::limit("d.dds", "width 20000").code(), "limit");
    }
}
