//! What every modforge capability shares, once: the cancellation flag ([`Cancel`]), the progress
//! event ([`Progress`], [`Stage`]) and the pair of them a long call receives ([`Control`]); the
//! error category that the Node binding maps to its stable codes ([`Category`], [`Categorize`]);
//! POSIX errno names ([`errno_name`]); a bounds-checked little-endian reader for binary formats
//! ([`Reader`]); and lower-case hex formatting ([`hex`]).
//!
//! This crate has no knowledge of any capability and no dependency on napi.

mod cancel;
mod control;
mod errno;
mod error;
mod progress;
mod reader;

pub mod hex;

pub use cancel::{Aborted, Cancel};
pub use control::{Control, ProgressFn};
pub use errno::{errno_name, io_code_name};
pub use error::{Categorize, Category};
pub use progress::{Progress, Stage};
pub use reader::{OutOfBounds, Reader};
