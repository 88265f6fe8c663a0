//! Why a snapshot on disk was not used, as JavaScript receives it.

use modforge_store as store;
use napi_derive::napi;

/// The kind of reason a snapshot file was not used.
#[napi(string_enum = "lowercase")]
pub enum RejectCode {
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

/// Why a snapshot on disk was not used.
#[napi(object, use_nullable = true, object_from_js = false)]
pub struct RejectReason {
    /// The kind of reason.
    pub code: RejectCode,
    /// What exactly failed.
    pub detail: String,
    /// Byte offset of the failure in the file, when known.
    pub offset: Option<f64>,
}

impl From<store::Reason> for RejectReason {
    fn from(reason: store::Reason) -> Self {
        RejectReason {
            code: match reason.code {
                store::ReasonCode::Missing => RejectCode::Missing,
                store::ReasonCode::Corrupt => RejectCode::Corrupt,
                store::ReasonCode::Stale => RejectCode::Stale,
                store::ReasonCode::Version => RejectCode::Version,
                store::ReasonCode::Kind => RejectCode::Kind,
            },
            detail: reason.detail,
            offset: reason.offset.map(|offset| offset as f64),
        }
    }
}
