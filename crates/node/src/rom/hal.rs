//! `hal.decode`, `hal.compressedLength` and `hal.encode`: the HAL codec on bytes in memory
//! (docs/rom.md, "HAL stream", "Encoder").

use modforge_rom::hal;
use napi::Env;
use napi::bindgen_prelude::{Buffer, PromiseRaw};
use napi_derive::napi;

use super::rom_sync;
use crate::runtime::{Call, CancelFlag, NodeError, promise};

/// How hard the encoder searches.
#[napi(string_enum = "lowercase")]
pub enum HalMode {
    /// Byte and word fills plus forward references through a hash table.
    Fast,
    /// Every command kind with exact longest matches (the default).
    Greedy,
    /// The minimum-size stream over every command and length.
    Optimal,
}

impl From<HalMode> for hal::Mode {
    fn from(mode: HalMode) -> Self {
        match mode {
            HalMode::Fast => hal::Mode::Fast,
            HalMode::Greedy => hal::Mode::Greedy,
            HalMode::Optimal => hal::Mode::Optimal,
        }
    }
}

/// A decoded stream.
#[napi(object, object_from_js = false)]
pub struct HalDecoded {
    /// The output (at most 65,536 bytes).
    pub data: Buffer,
    /// Input bytes read, including the `FF` terminator.
    pub consumed: u32,
    /// Commands seen by raw number: 0-6, and 7 for `FC`-`FE` (which exhal counts as 4).
    pub command_counts: Vec<u32>,
}

/// Decodes the HAL stream at the start of `bytes`. `strict` refuses `FC`-`FE` and references to
/// unwritten output; the default reads them as exhal does. Input that ends before `FF` is
/// `truncated` in both modes. Errors: `ERR_MODFORGE_FORMAT` with `reason` and `offset`.
#[napi]
pub fn hal_decode(env: &Env, bytes: &[u8], strict: Option<bool>) -> napi::Result<HalDecoded> {
    rom_sync(env, || {
        let decoded = hal::decode(bytes, strict.unwrap_or(false))?;
        Ok(HalDecoded {
            consumed: decoded.consumed as u32,
            command_counts: decoded.command_counts.to_vec(),
            data: decoded.data.into(),
        })
    })
}

/// The length of the HAL stream at the start of `bytes`, `FF` included, without producing
/// output: equal to `decode(...).consumed`, failing with the same reason and offset.
#[napi]
pub fn hal_compressed_length(env: &Env, bytes: &[u8], strict: Option<bool>) -> napi::Result<u32> {
    rom_sync(env, || {
        Ok(hal::compressed_length(bytes, strict.unwrap_or(false))? as u32)
    })
}

/// Encodes `bytes` (at most 65,536) off the main thread; `ERR_MODFORGE_LIMIT` for a larger
/// input or a stream that would reach 65,536 bytes. Empty input gives `FF`.
#[napi(ts_return_type = "Promise<Buffer>")]
pub fn hal_encode<'env>(
    env: &'env Env,
    bytes: Buffer,
    mode: Option<HalMode>,
    cancel: Option<&CancelFlag>,
) -> napi::Result<PromiseRaw<'env, Buffer>> {
    let input = bytes.to_vec();
    let mode: hal::Mode = mode.map_or(hal::Mode::Greedy, Into::into);
    promise(
        env,
        "hal",
        Call::new(cancel, None),
        move |control| hal::encode_with(&input, mode, control).map_err(NodeError::from),
        |_env, stream| Ok(Buffer::from(stream)),
    )
}

/// [`hal_encode`] on the calling thread.
#[napi]
pub fn hal_encode_sync(env: &Env, bytes: &[u8], mode: Option<HalMode>) -> napi::Result<Buffer> {
    rom_sync(env, || {
        let mode: hal::Mode = mode.map_or(hal::Mode::Greedy, Into::into);
        Ok(hal::encode(bytes, mode)?.into())
    })
}
