//! The HAL Laboratory compression format of SNES games (docs/rom.md, "HAL stream"): an
//! exhal-compatible decoder with a strict mode, a parse-only length, and an encoder with three
//! modes whose streams every exhal-compatible decoder reads back.

mod decode;
mod encode;

pub use decode::MAX_OUTPUT;
pub use encode::{Mode, encode, encode_with};

pub(crate) use decode::{Count, Stats, Walk, Window, walk};

use std::cell::RefCell;

use crate::error::{Error, HalError};

/// The label used in errors about streams held in memory.
pub const STREAM_LABEL: &str = "<hal stream>";

/// A decoded stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decoded {
    /// The output (at most 65,536 bytes).
    pub data: Vec<u8>,
    /// Input bytes read, including the `FF` terminator.
    pub consumed: usize,
    /// Commands seen, by raw command number: 0-6, and 7 for `FC`-`FE` (which exhal counts as 4).
    pub command_counts: [u32; 8],
}

/// Decodes `src` (docs/rom.md, "HAL stream"). `strict = false` is exhal-compatible (`FC`-`FE`
/// are forward references, references to unwritten output read 0); `strict = true` refuses
/// both. Either way an input that ends before `FF` is `truncated`.
pub fn decode(src: &[u8], strict: bool) -> Result<Decoded, Error> {
    decode_raw(src, strict).map_err(|e| Error::hal(STREAM_LABEL, 0, e))
}

/// [`decode`] with the context-free error (for callers that add their own file and offset).
pub fn decode_raw(src: &[u8], strict: bool) -> Result<Decoded, HalError> {
    thread_local! {
        // One 64 KiB window per thread, zeroed once; each decode copies out exactly its output.
        static WINDOW: RefCell<Option<Window>> = const { RefCell::new(None) };
    }
    let params = Walk {
        strict,
        excess_limit: usize::MAX,
    };
    let run = |window: &mut Window| {
        window.clear();
        let stats = walk(src, params, window)?;
        Ok(Decoded {
            data: window.output().to_vec(),
            consumed: stats.consumed,
            command_counts: stats.counts,
        })
    };
    WINDOW
        .try_with(|cell| match cell.try_borrow_mut() {
            Ok(mut slot) => run(slot.get_or_insert_with(Window::new)),
            // Re-entered on this thread (not done by this crate): use a window of its own.
            Err(_) => run(&mut Window::new()),
        })
        .unwrap_or_else(|_| run(&mut Window::new()))
}

/// The length of the stream at the start of `src` (including `FF`) without producing output;
/// equals `decode(src, strict)?.consumed` and fails with the same reason and offset.
pub fn compressed_length(src: &[u8], strict: bool) -> Result<usize, Error> {
    compressed_length_raw(src, strict).map_err(|e| Error::hal(STREAM_LABEL, 0, e))
}

/// [`compressed_length`] with the context-free error.
pub fn compressed_length_raw(src: &[u8], strict: bool) -> Result<usize, HalError> {
    let params = Walk {
        strict,
        excess_limit: usize::MAX,
    };
    Ok(walk(src, params, &mut Count(0))?.consumed)
}
