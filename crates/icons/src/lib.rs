//! NWN2 resources and icons: a layered resource index with the engine's precedence over
//! folders, `Data/*.zip` archives and ERF-family archives (HAK, MOD, ERF, SAV, NWM); TGA, DDS and
//! PNG decoders; and a persistent, memory-mapped cache of icons encoded as lossless WebP.
//!
//! The formats, precedence rules, cache layout and limits are described in docs/icons.md.

mod cache;
mod error;
mod index;
mod io;
mod pool;
mod source;
mod text;

pub mod decode;
pub mod discover;
pub mod encode;
pub mod erf;
pub mod extract;
pub mod gff;
pub mod key;

pub use cache::{
    BLOB_WINDOW, Background, BuildReport, CacheStats, CacheView, Cell, ENTRY_LEN, EntryRecord,
    FLAG_ON_DEMAND, FLAG_OPAQUE, FLAG_RESIZED, FORMAT_VERSION, Failure, Icon, IconBytes, IconCache,
    IconCacheOptions, IconsPayload, KIND, Lookup, MIME, RebuildOptions, Response, Sheet,
    SheetFormat, SheetOptions, Sources, UpdateEvent, UpdateFn, Validate, ValidationState,
    encoder_id, examine_payload, icon_url, parse_request_name, respond,
};
pub use discover::{DiscoverOptions, Discovery, Found, Missing, ModuleHaks, discover};
pub use encode::{EncodeSettings, Encoded, Resampler};
pub use error::Error;
pub use index::{
    Conflict, DEFAULT_PREFERENCE, IndexOptions, IndexStats, Location, MAX_RESOURCE, MAX_SOURCES,
    ResourceIndex,
};
pub use io::{FileAt, ReadAt};
pub use key::{MAX_RESREF, NameProblem, ResKey, ResRef, ResType};
pub use source::{IconScope, SkippedName, SourceError, SourceInfo, SourceKind, SourceSpec};
