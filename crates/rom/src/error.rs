//! The crate's error type and the typed reasons of a HAL stream that does not decode.

use std::io;
use std::path::PathBuf;

use modforge_core::{Categorize, Category};

/// Why a HAL stream does not decode (docs/rom.md, "HAL stream"). The names are the `reason`
/// strings the Node binding reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HalReason {
    /// The input ended before the `FF` terminator (or inside a command's arguments).
    Truncated,
    /// Command 7 (`FC`-`FE`) in strict mode.
    BadCommand,
    /// A reference to output not yet written (offset at or past the write position), strict mode.
    RefToUnwritten,
    /// A reference whose range leaves the 64 KiB window (forward and bit-reversed:
    /// `off + L > 65536`; backwards: `off < L - 1`).
    BadRef,
    /// The output would exceed 65,536 bytes.
    OutputTooLarge,
}

impl HalReason {
    /// The reason's camel-case name (`truncated`, `badCommand`, `refToUnwritten`, `badRef`,
    /// `outputTooLarge`).
    pub fn as_str(self) -> &'static str {
        match self {
            HalReason::Truncated => "truncated",
            HalReason::BadCommand => "badCommand",
            HalReason::RefToUnwritten => "refToUnwritten",
            HalReason::BadRef => "badRef",
            HalReason::OutputTooLarge => "outputTooLarge",
        }
    }

    fn expected(self) -> &'static str {
        match self {
            HalReason::Truncated => "more input (the stream ends before its FF terminator)",
            HalReason::BadCommand => "a command 0-6 (FC-FE is command 7, refused in strict mode)",
            HalReason::RefToUnwritten => "a reference to output already written",
            HalReason::BadRef => "a reference inside the 64 KiB output window",
            HalReason::OutputTooLarge => "at most 65,536 bytes of output",
        }
    }
}

impl std::fmt::Display for HalReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A HAL stream failure without context: the reason and the offset of the failing command's
/// first byte, relative to the stream's start. Cheap to build (the scanner makes millions).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HalError {
    /// What went wrong.
    pub reason: HalReason,
    /// Offset of the failing command in the stream.
    pub offset: usize,
}

/// Every failure of this crate. Messages name the file (or `<hal stream>` for bytes in memory),
/// the byte offset and what was expected there.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An operating-system call failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// The file or directory the call was about.
        path: PathBuf,
        /// The call, named like the system call (`open`, `read`, `stat`, `write`, `rename`, ...).
        op: &'static str,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The input does not have the expected form (a zero-length ROM, a mapping request on a ROM
    /// without a header).
    #[error("{file}: {expected} (byte offset {offset})")]
    Format {
        /// The file, or a label for bytes in memory.
        file: String,
        /// Byte offset of the problem (ROM offsets exclude a copier header).
        offset: u64,
        /// What was expected there.
        expected: String,
    },
    /// A HAL stream does not decode.
    #[error("{file}: HAL stream {reason} at byte offset {offset}: expected {}", reason.expected())]
    Hal {
        /// The file, or `<hal stream>` for bytes in memory.
        file: String,
        /// Offset of the failing command (in the ROM when decoding from a ROM).
        offset: u64,
        /// The typed reason.
        reason: HalReason,
    },
    /// Stored data failed a structural or checksum check.
    #[error("{file}: corrupt at byte offset {offset}: {detail}")]
    Corrupt {
        /// The file or payload label.
        file: String,
        /// Byte offset of the problem.
        offset: u64,
        /// Which check failed.
        detail: String,
    },
    /// An unusable argument: an offset out of range, a closed ROM, an unknown option.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A documented size or count cap was exceeded.
    #[error("limit exceeded: {0}")]
    Limit(String),
    /// The call was cancelled.
    #[error("the operation was aborted")]
    Aborted,
    /// An invariant did not hold (a bug), reported rather than panicking.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// Builds an [`Error::Io`].
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            op,
            source,
        }
    }

    /// A HAL failure in `file`, with the stream starting at `base` in that file.
    pub(crate) fn hal(file: &str, base: u64, err: HalError) -> Self {
        Error::Hal {
            file: file.to_string(),
            offset: base.saturating_add(err.offset as u64),
            reason: err.reason,
        }
    }

    /// An equal error (same variant, context and message) for handing one failure to several
    /// requesters; an IO error keeps its OS code or kind and its message.
    pub fn duplicate(&self) -> Error {
        match self {
            Error::Io { path, op, source } => Error::Io {
                path: path.clone(),
                op,
                source: match source.raw_os_error() {
                    Some(code) => io::Error::from_raw_os_error(code),
                    None => io::Error::new(source.kind(), source.to_string()),
                },
            },
            Error::Format {
                file,
                offset,
                expected,
            } => Error::Format {
                file: file.clone(),
                offset: *offset,
                expected: expected.clone(),
            },
            Error::Hal {
                file,
                offset,
                reason,
            } => Error::Hal {
                file: file.clone(),
                offset: *offset,
                reason: *reason,
            },
            Error::Corrupt {
                file,
                offset,
                detail,
            } => Error::Corrupt {
                file: file.clone(),
                offset: *offset,
                detail: detail.clone(),
            },
            Error::InvalidArgument(m) => Error::InvalidArgument(m.clone()),
            Error::Limit(m) => Error::Limit(m.clone()),
            Error::Aborted => Error::Aborted,
            Error::Internal(m) => Error::Internal(m.clone()),
        }
    }

    /// The typed HAL reason, when this is a HAL failure.
    pub fn hal_reason(&self) -> Option<HalReason> {
        match self {
            Error::Hal { reason, .. } => Some(*reason),
            _ => None,
        }
    }

    /// The reason string the Node binding reports: the HAL reason, else the category's name.
    pub fn reason(&self) -> &'static str {
        match self {
            Error::Hal { reason, .. } => reason.as_str(),
            Error::Io { .. } => "io",
            Error::Format { .. } => "format",
            Error::Corrupt { .. } => "corrupt",
            Error::InvalidArgument(_) => "invalidArgument",
            Error::Limit(_) => "limit",
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
            Error::Io { path, op, source } => Category::Io {
                source,
                syscall: op,
                path,
            },
            Error::Format { file, offset, .. } | Error::Hal { file, offset, .. } => {
                Category::Format {
                    file,
                    offset: *offset,
                }
            }
            Error::Corrupt { file, offset, .. } => Category::Corrupt {
                file,
                offset: Some(*offset),
            },
            Error::InvalidArgument(_) => Category::InvalidArg,
            Error::Limit(_) => Category::Limit,
            Error::Aborted => Category::Aborted,
            Error::Internal(_) => Category::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hal_errors_name_file_offset_and_expectation() {
        let err = Error::hal(
            "kirby.sfc",
            0x1000,
            HalError {
                reason: HalReason::BadRef,
                offset: 4,
            },
        );
        assert_eq!(
            err.to_string(),
            "kirby.sfc: HAL stream badRef at byte offset 4100: expected a reference inside the 64 KiB output window"
        );
        assert_eq!(err.reason(), "badRef");
        assert!(matches!(
            err.category(),
            Category::Format {
                file: "kirby.sfc",
                offset: 4100
            }
        ));
        assert!(matches!(
            Error::from(modforge_core::Aborted).category(),
            Category::Aborted
        ));
    }
}
