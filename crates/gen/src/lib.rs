//! Seeded, reproducible data for modforge's tests, demo and benchmarks.
//!
//! Every generator draws from one random generator, [`SplitMix64`], in a fixed order, so the same
//! seed gives the same bytes on every platform and version:
//!
//! - [`tree`]: folder trees of several shapes with the awkward cases a profiler must handle
//!   (docs/profile.md, "Generated trees").
//! - [`dataset`]: CSV data sets with the shape of a real game-data export (docs/store.md,
//!   "Generated data sets").
//! - [`league`]: a League of Legends install with mods (docs/overlay.md, "Generated install").
//! - [`nwn2`]: a synthetic NWN2 install (Data zips, UI icons, overrides, HAKs, module, campaign,
//!   Workshop items) with the expected winner of every icon (docs/icons.md, "Generated install").
//! - [`rom`]: SNES ROM images with correct headers and checksums, HAL blocks at known offsets
//!   and a JSON manifest (docs/rom.md, "Generated ROMs").

mod error;
mod rng;

pub mod dataset;
pub mod league;
pub mod nwn2;
pub mod rom;
pub mod tree;

pub use error::Error;
pub use rng::SplitMix64;
