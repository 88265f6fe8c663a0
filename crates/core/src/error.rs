//! The error categories every capability maps its errors to. The Node binding turns a category
//! into a JavaScript `Error` with a stable `code` (README, "Errors") in one place; capability
//! crates keep their own precise error enums and only say which category each variant is.

use std::io;
use std::path::Path;

/// What kind of failure an error is, with the context its code carries.
#[derive(Debug)]
pub enum Category<'a> {
    /// An operating-system call failed (`ERR_MODFORGE_IO`).
    Io {
        /// The OS error (its `raw_os_error()` is the errno).
        source: &'a io::Error,
        /// The failing call, named like the system call (`open`, `opendir`, `rename`, ...).
        syscall: &'a str,
        /// The path the call was made on.
        path: &'a Path,
    },
    /// Input does not follow its format (`ERR_MODFORGE_FORMAT`).
    Format {
        /// The file (or a label for in-memory input).
        file: &'a str,
        /// Byte offset of the problem.
        offset: u64,
    },
    /// A checksum or structural check of stored data failed (`ERR_MODFORGE_CORRUPT`).
    Corrupt {
        /// The file.
        file: &'a str,
        /// Byte offset of the problem, when known.
        offset: Option<u64>,
    },
    /// The caller passed an unusable argument (`ERR_MODFORGE_INVALID_ARG`).
    InvalidArg,
    /// A documented size or count cap was exceeded (`ERR_MODFORGE_LIMIT`).
    Limit,
    /// The call was cancelled (`ABORT_ERR`).
    Aborted,
    /// A bug: an invariant did not hold (`ERR_MODFORGE_INTERNAL`).
    Internal,
}

/// Implemented by every capability's error type: which [`Category`] a value belongs to. The
/// error's `Display` text is the message callers see.
pub trait Categorize: std::error::Error {
    /// The category of this error, borrowing its context.
    fn category(&self) -> Category<'_>;
}

impl Categorize for crate::Aborted {
    fn category(&self) -> Category<'_> {
        Category::Aborted
    }
}
