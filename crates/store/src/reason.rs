//! Why a snapshot on disk was not used (docs/store.md, "Load checks"). Reasons are values, never
//! errors.

use std::fmt;

/// The category of a rejected snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReasonCode {
    /// No readable file at the expected path.
    Missing,
    /// A size, magic, checksum or structural check failed.
    Corrupt,
    /// The file was built from another source (or with other build options).
    Stale,
    /// Another container version or data version.
    Version,
    /// Another payload kind.
    Kind,
}

impl ReasonCode {
    /// The lower-case code used in the JS API (`"missing"`, `"corrupt"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ReasonCode::Missing => "missing",
            ReasonCode::Corrupt => "corrupt",
            ReasonCode::Stale => "stale",
            ReasonCode::Version => "version",
            ReasonCode::Kind => "kind",
        }
    }
}

/// A rejected snapshot: a code, a human-readable detail and, where it applies, the byte offset
/// in the file of the field that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    /// The category.
    pub code: ReasonCode,
    /// What was found (for `missing`, the operating system's message).
    pub detail: String,
    /// Byte offset in the snapshot file, if the failure is tied to one.
    pub offset: Option<u64>,
}

impl Reason {
    /// A reason with no file offset.
    pub fn new(code: ReasonCode, detail: impl Into<String>) -> Self {
        Reason {
            code,
            detail: detail.into(),
            offset: None,
        }
    }

    /// A reason tied to a byte offset of the file.
    pub fn at(code: ReasonCode, offset: u64, detail: impl Into<String>) -> Self {
        Reason {
            code,
            detail: detail.into(),
            offset: Some(offset),
        }
    }

    /// A `corrupt` reason at a byte offset of the file.
    pub fn corrupt(offset: u64, detail: impl Into<String>) -> Self {
        Reason::at(ReasonCode::Corrupt, offset, detail)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.detail)?;
        if let Some(offset) = self.offset {
            write!(f, " (byte offset {offset})")?;
        }
        Ok(())
    }
}

/// Why a controlled load returned no snapshot: a reason, or a cancellation.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// The file cannot be used.
    Rejected(Reason),
    /// The cancellation flag was set.
    Aborted,
}

impl From<Reason> for Refusal {
    fn from(reason: Reason) -> Self {
        Refusal::Rejected(reason)
    }
}

impl From<modforge_core::Aborted> for Refusal {
    fn from(_: modforge_core::Aborted) -> Self {
        Refusal::Aborted
    }
}
