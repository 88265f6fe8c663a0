//! The crate's error type. Every message names the file, the byte offset where one applies and
//! what was expected; [`Categorize`] maps each variant to the category the Node binding turns
//! into a stable error code.

use std::io;
use std::path::{Path, PathBuf};

use modforge_core::{Categorize, Category, OutOfBounds};

/// Everything that can make an overlay call fail.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An operating-system call failed.
    #[error("{syscall} {}: {source}", path.display())]
    Io {
        /// The call, named like the system call (`open`, `read`, `write`, `rename`, ...).
        syscall: &'static str,
        /// The path the call was made on.
        path: PathBuf,
        /// The operating-system error.
        #[source]
        source: io::Error,
    },
    /// Input does not follow its format.
    #[error("{file}: {expected} (byte offset {offset})")]
    Format {
        /// The file (or a label naming the entry inside an archive).
        file: String,
        /// Byte offset of the problem.
        offset: u64,
        /// What was expected there, and what was found.
        expected: String,
    },
    /// A checksum or a structural check of stored data failed.
    #[error("{file}: corrupt{}: {detail}", offset.map(|o| format!(" at byte offset {o}")).unwrap_or_default())]
    Corrupt {
        /// The file.
        file: String,
        /// Byte offset of the problem, when known.
        offset: Option<u64>,
        /// Which check failed.
        detail: String,
    },
    /// The caller passed an unusable argument.
    #[error("invalid argument: {0}")]
    InvalidArg(String),
    /// A documented size or count cap was exceeded (u32 WAD fields, decoded chunk size, ...).
    #[error("limit exceeded: {0}")]
    Limit(String),
    /// The call was cancelled.
    #[error("the operation was aborted")]
    Aborted,
    /// A mod could not be read; the inner error says why.
    #[error("mod {mod_id:?}: {source}")]
    Mod {
        /// The mod's id as the caller gave it.
        mod_id: String,
        /// What failed.
        #[source]
        source: Box<Error>,
    },
    /// The snapshot store failed while persisting or loading a cache.
    #[error(transparent)]
    Store(#[from] modforge_store::Error),
    /// A bug: an invariant of this crate did not hold.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An [`Error::Io`].
    pub(crate) fn io(syscall: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            syscall,
            path: path.into(),
            source,
        }
    }

    /// An [`Error::Format`].
    pub(crate) fn format(
        file: impl Into<String>,
        offset: u64,
        expected: impl Into<String>,
    ) -> Self {
        Error::Format {
            file: file.into(),
            offset,
            expected: expected.into(),
        }
    }

    /// An [`Error::Corrupt`].
    pub(crate) fn corrupt(
        file: impl Into<String>,
        offset: Option<u64>,
        detail: impl Into<String>,
    ) -> Self {
        Error::Corrupt {
            file: file.into(),
            offset,
            detail: detail.into(),
        }
    }

    /// A read past the end of `file`, as a format error.
    pub(crate) fn truncated(file: impl Into<String>, oob: OutOfBounds, what: &str) -> Self {
        Error::format(
            file,
            oob.offset,
            format!(
                "{what}: needed {} bytes, the input has {}",
                oob.wanted, oob.len
            ),
        )
    }

    /// Wraps this error as failing mod `mod_id` (an abort stays an abort).
    pub(crate) fn in_mod(self, mod_id: &str) -> Self {
        match self {
            Error::Aborted | Error::Mod { .. } => self,
            other => Error::Mod {
                mod_id: mod_id.to_owned(),
                source: Box::new(other),
            },
        }
    }

    /// The mod id a [`Error::Mod`] names.
    pub fn mod_id(&self) -> Option<&str> {
        match self {
            Error::Mod { mod_id, .. } => Some(mod_id),
            _ => None,
        }
    }
}

impl From<modforge_core::Aborted> for Error {
    fn from(_: modforge_core::Aborted) -> Self {
        Error::Aborted
    }
}

/// Labels a path for messages.
pub(crate) fn label(path: &Path) -> String {
    path.display().to_string()
}

impl Categorize for Error {
    fn category(&self) -> Category<'_> {
        match self {
            Error::Io {
                syscall,
                path,
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
            Error::Limit(_) => Category::Limit,
            Error::Aborted => Category::Aborted,
            Error::Mod { source, .. } => source.category(),
            Error::Store(inner) => inner.category(),
            Error::Internal(_) => Category::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_and_messages() {
        let e = Error::format("a.wad.client", 268, "entry count 9 needs 288 bytes");
        assert!(matches!(e.category(), Category::Format { offset: 268, .. }));
        assert_eq!(
            e.to_string(),
            "a.wad.client: entry count 9 needs 288 bytes (byte offset 268)"
        );
        let wrapped = e.in_mod("skin");
        assert_eq!(wrapped.mod_id(), Some("skin"));
        assert!(matches!(wrapped.category(), Category::Format { .. }));
        assert!(matches!(Error::Aborted.in_mod("x"), Error::Aborted));
        let c = Error::corrupt("x", Some(4), "checksum");
        assert_eq!(c.to_string(), "x: corrupt at byte offset 4: checksum");
        assert!(matches!(
            Error::from(modforge_core::Aborted).category(),
            Category::Aborted
        ));
    }
}
