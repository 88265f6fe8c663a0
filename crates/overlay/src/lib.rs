//! League of Legends WAD overlays (docs/overlay.md): the WAD format ([`wad`]), mod providers
//! ([`mods`]), the game index ([`game`]) and a two-pass incremental overlay builder
//! ([`build_overlay`]) that decides a skip from file stats alone, reads bytes only for the WADs
//! it rebuilds, reports conflicts instead of failing and never leaves a half-written WAD.
//!
//! Entry points for callers (the Node binding converts these one to one):
//! [`build_overlay`], [`analyze_mod`], [`read_wad`], [`extract_wad`], [`examine_payload`].

mod analyze;
mod build;
mod cache;
mod copy;
mod error;
mod extract;
mod io;
mod latch;
mod meter;
mod plan;
mod report;
mod state;
mod sweep;
mod tree;

pub mod game;
pub mod hash;
pub mod mods;
pub mod wad;
pub mod write;

pub use analyze::{AnalyzeOptions, ModAnalysis, RawSummary, WadSummary, analyze_mod};
pub use build::{
    BuildMode, BuildOptions, BuildRequest, BuildResult, BuildStats, DEFAULT_TOC_SLACK,
    build_overlay, builder_string,
};
pub use cache::{OverlayPayload, examine_payload};
pub use copy::CopyMethod;
pub use error::{Error, Result};
pub use extract::{
    ExtractOptions, ExtractReport, HashList, WadListing, extract_wad, read_wad, read_wad_bytes,
};
pub use mods::{LayerInfo, ModKind, ModSpec};
pub use plan::{DirTarget, Resolution};
pub use report::{Conflict, Contributor, Warning, WarningCode};
pub use state::{
    CONFLICTS_FILE, OverrideRecord, STATE_FILE, STATE_FORMAT, STATE_VERSION, SourceRecord, State,
    StateOptions, WadLayoutRecord,
};

/// The layer every mod has and that is always active.
pub const BASE_LAYER: &str = "base";
