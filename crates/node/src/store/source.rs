//! What a snapshot is built from, as JavaScript passes it.

use std::path::PathBuf;

use modforge_store as store;
use napi::bindgen_prelude::Buffer;
use napi_derive::napi;

use crate::runtime::NodeError;

/// How source files are fingerprinted.
#[napi(string_enum = "lowercase")]
pub enum FileMode {
    /// XXH3-128 of every byte (the default).
    Content,
    /// Size and modification time: fast, misses a rewrite within the file system's time granularity.
    Stat,
    /// SHA-256 of every byte.
    Sha256,
}

impl From<FileMode> for store::FileMode {
    fn from(mode: FileMode) -> Self {
        match mode {
            FileMode::Content => store::FileMode::Content,
            FileMode::Stat => store::FileMode::Stat,
            FileMode::Sha256 => store::FileMode::ContentSha256,
        }
    }
}

/// What a snapshot is built from (exactly one of `bytes`, `files`, `token`).
#[napi(object)]
pub struct SnapshotSource {
    /// The source bytes themselves.
    pub bytes: Option<Buffer>,
    /// Source files.
    pub files: Option<Vec<String>>,
    /// How `files` are fingerprinted; default `content`.
    pub mode: Option<FileMode>,
    /// A caller-chosen token standing for the source (a version string, a hash).
    pub token: Option<String>,
}

impl SnapshotSource {
    /// The store's `Source`, or `ERR_MODFORGE_INVALID_ARG` unless exactly one form is given.
    pub fn into_source(self) -> Result<store::Source, NodeError> {
        match (self.bytes, self.files, self.token) {
            (Some(bytes), None, None) => Ok(store::Source::Bytes(bytes.to_vec())),
            (None, Some(files), None) => Ok(store::Source::Files {
                paths: files.into_iter().map(PathBuf::from).collect(),
                mode: self.mode.unwrap_or(FileMode::Content).into(),
            }),
            (None, None, Some(token)) => Ok(store::Source::Token(token)),
            _ => Err(NodeError::InvalidArg(
                "source must have exactly one of `bytes`, `files` or `token`".to_owned(),
            )),
        }
    }
}
