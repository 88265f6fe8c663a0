//! The SNES ROM reader of modforge-rom (docs/rom.md): open ROM files held by handle, the HAL
//! codec, tiles and palettes, batch extraction, thumbnails, the scanner, patching into a copy
//! and the seeded ROM generator.

mod extract;
mod generate;
mod gfx;
mod hal;
mod open;
mod patch;
mod scan;
mod thumbnail;

use std::sync::{Arc, LazyLock};

use modforge_rom as rom;
use napi::Env;
use napi::bindgen_prelude::{JsObjectValue, JsValue};
use napi_derive::napi;

use crate::runtime::convert::size_option;
use crate::runtime::guard::contain;
use crate::runtime::{NodeError, Registry};

/// Open ROM files by handle.
static ROMS: LazyLock<Registry<rom::RomFile>> = LazyLock::new(|| Registry::new("ROM file"));

/// The open ROM behind `handle` (`ERR_MODFORGE_INVALID_ARG` once closed).
fn rom_of(handle: u32) -> Result<Arc<rom::RomFile>, NodeError> {
    ROMS.get(handle)
}

/// A failure of this binding: a ROM error keeps its HAL `reason` for the JavaScript error.
enum Failure {
    /// An error of modforge-rom.
    Rom(rom::Error),
    /// Any other error (an argument, a conversion).
    Node(NodeError),
}

impl From<rom::Error> for Failure {
    fn from(err: rom::Error) -> Self {
        Failure::Rom(err)
    }
}

impl From<NodeError> for Failure {
    fn from(err: NodeError) -> Self {
        Failure::Node(err)
    }
}

impl From<napi::Error> for Failure {
    fn from(err: napi::Error) -> Self {
        Failure::Node(err.into())
    }
}

impl From<modforge_core::Aborted> for Failure {
    fn from(_: modforge_core::Aborted) -> Self {
        Failure::Node(NodeError::Aborted)
    }
}

impl From<Failure> for NodeError {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Rom(err) => NodeError::from(err),
            Failure::Node(err) => err,
        }
    }
}

impl Failure {
    /// The JavaScript error: the mapped error object, plus `reason` (`truncated`, `badRef`, ...)
    /// for a HAL stream that does not decode.
    fn into_napi(self, env: &Env) -> napi::Error {
        match self {
            Failure::Node(err) => err.into_napi(env),
            Failure::Rom(err) => {
                let reason = err.hal_reason();
                let mapped = NodeError::from_categorized(&err);
                let Some(reason) = reason else {
                    return mapped.into_napi(env);
                };
                match mapped.to_js(env).and_then(|mut object| {
                    object.set_named_property("reason", reason.as_str())?;
                    Ok(object)
                }) {
                    Ok(object) => napi::Error::from(object.to_unknown()),
                    Err(err) => err,
                }
            }
        }
    }
}

/// Runs `work` on the calling thread with panic containment; errors keep their HAL reason.
fn rom_sync<T>(env: &Env, work: impl FnOnce() -> Result<T, Failure>) -> napi::Result<T> {
    let mut failure = None;
    let outcome = contain(|| {
        work().map_err(|err| {
            failure = Some(err);
            NodeError::Internal("failure kept aside".into())
        })
    });
    outcome.map_err(|contained| match failure {
        Some(err) => err.into_napi(env),
        None => contained.into_napi(env),
    })
}

/// A ROM offset or size from JavaScript: a non-negative integer up to 2^53 - 1.
fn offset_arg(name: &str, value: f64) -> Result<u64, NodeError> {
    size_option(name, Some(value))?
        .ok_or_else(|| NodeError::InvalidArg(format!("{name} is missing")))
}

/// Per-item error of a batch (`extract`, `thumbnails`): never a rejected batch.
#[napi(object, use_nullable = true, object_from_js = false)]
pub struct RomItemError {
    /// The stable code (`ERR_MODFORGE_FORMAT` for a stream that does not decode).
    pub code: String,
    /// The HAL reason (`truncated`, `badCommand`, `refToUnwritten`, `badRef`, `outputTooLarge`),
    /// else the category (`invalidArgument`, `limit`, ...).
    pub reason: String,
    /// What went wrong, naming the file, the offset and what was expected.
    pub message: String,
    /// The byte offset of the failure in the ROM (the failing command for a HAL error), else the
    /// requested offset.
    pub offset: f64,
}

impl RomItemError {
    fn new(err: &rom::Error, requested: u64) -> Self {
        let mapped = NodeError::from_categorized(err);
        let offset = match err {
            rom::Error::Hal { offset, .. } | rom::Error::Format { offset, .. } => *offset,
            _ => requested,
        };
        RomItemError {
            code: mapped.code().to_owned(),
            reason: err.reason().to_owned(),
            message: mapped.message(),
            offset: offset as f64,
        }
    }
}

/// Worker threads of a parallel call: 1-256.
fn threads_option(value: Option<f64>) -> Result<Option<usize>, NodeError> {
    Ok(crate::runtime::convert::integer_option("threads", value, 1, 256)?.map(|n| n as usize))
}
