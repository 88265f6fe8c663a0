//! `ResourceIndex` and `discover`: the layered resource index by handle (docs/icons.md,
//! "Resource index" and "Discovery").

use std::path::PathBuf;
use std::sync::{Arc, LazyLock};

use modforge_core::Control;
use modforge_icons as icons;
use napi::Env;
use napi::bindgen_prelude::{Buffer, Either, PromiseRaw};
use napi_derive::napi;

use super::convert::{
    DiscoverOptions, Discovery, Location, SkippedName, SourceKind, SourceSpec, error_code,
    locations, res_type, resolve_sources,
};
use crate::runtime::{Call, CancelFlag, NodeError, ProgressCallback, Registry, promise, sync};
use crate::store::display;

/// Open resource indexes by handle.
static INDEXES: LazyLock<Registry<icons::ResourceIndex>> =
    LazyLock::new(|| Registry::new("resource index"));

/// One indexed source.
#[napi(object, use_nullable = true, object_from_js = false)]
pub struct IndexedSource {
    /// Position in the list (0 = highest priority).
    pub id: u32,
    /// Label.
    pub label: String,
    /// Kind.
    pub kind: SourceKind,
    /// Path.
    pub path: String,
    /// Resources indexed.
    pub entries: u32,
    /// Why the source could not be read (`{code, message}`), when it could not.
    pub error: Option<SourceFailure>,
}

/// Why a source could not be read.
#[napi(object, object_from_js = false)]
pub struct SourceFailure {
    /// `ERR_MODFORGE_IO`, `ERR_MODFORGE_FORMAT`, ...
    pub code: String,
    /// The message (names the file and the byte offset).
    pub message: String,
}

/// What JavaScript keeps of an open index.
#[napi(object, object_from_js = false)]
pub struct IndexInfo {
    /// The handle for `resourceIndex*` calls.
    pub handle: u32,
    /// The sources in precedence order.
    pub sources: Vec<IndexedSource>,
}

/// Counts of an index.
#[napi(object, object_from_js = false)]
pub struct IndexStats {
    /// Sources listed.
    pub sources: u32,
    /// Sources that could not be read.
    pub source_errors: u32,
    /// Resource locations indexed.
    pub resources: f64,
    /// Distinct (name, type) keys.
    pub keys: f64,
    /// Keys with more than one location.
    pub conflicts: f64,
    /// Files and entries whose extension NWN2 does not define (not indexed).
    pub unknown_types: f64,
    /// Names not indexed (too long, not ASCII); listed in `skippedNames`.
    pub skipped_names: Vec<SkippedName>,
    /// Warnings of indexing (odd archives, rejected entries).
    pub warnings: Vec<String>,
}

/// A key stored in more than one place.
#[napi(object, object_from_js = false)]
pub struct Conflict {
    /// The resref.
    pub name: String,
    /// The type id.
    #[napi(js_name = "type")]
    pub res_type: u32,
    /// Every location, winner first.
    pub locations: Vec<Location>,
}

fn open(
    sources: Vec<icons::SourceSpec>,
    threads: Option<u32>,
    control: &Control<'_>,
) -> Result<icons::ResourceIndex, NodeError> {
    let options = icons::IndexOptions {
        threads: threads.map(|t| t as usize),
        ..icons::IndexOptions::default()
    };
    Ok(icons::ResourceIndex::open(&sources, &options, control)?)
}

fn register(env: &Env, index: icons::ResourceIndex) -> IndexInfo {
    let sources = index
        .sources()
        .iter()
        .map(|s| IndexedSource {
            id: u32::from(s.id),
            label: s.label.clone(),
            kind: s.kind.into(),
            path: display(&s.path),
            entries: s.entries,
            error: s.error.as_ref().map(|e| SourceFailure {
                code: error_code(e.code),
                message: e.message.clone(),
            }),
        })
        .collect();
    // Entries are small records; report a rough size so unclosed indexes still prompt the GC.
    let bytes = index.stats().resources.saturating_mul(64);
    IndexInfo {
        handle: INDEXES.insert(env, Arc::new(index), bytes),
        sources,
    }
}

/// Indexes `sources` (highest priority first) off the main thread. Progress: stage `index`,
/// `done`/`total` = sources.
#[napi(ts_return_type = "Promise<IndexInfo>")]
pub fn resource_index_open<'env>(
    env: &'env Env,
    sources: Vec<SourceSpec>,
    threads: Option<u32>,
    cancel: Option<&CancelFlag>,
    #[napi(ts_arg_type = "(event: ProgressEvent) => void")] on_progress: Option<ProgressCallback>,
) -> napi::Result<PromiseRaw<'env, IndexInfo>> {
    let sources = sync(env, |_control| resolve_sources(sources))?;
    promise(
        env,
        "icons",
        Call::new(cancel, on_progress),
        move |control| open(sources, threads, control),
        |env, index| Ok(register(env, index)),
    )
}

/// Indexes `sources` on the calling thread.
#[napi]
pub fn resource_index_open_sync(
    env: &Env,
    sources: Vec<SourceSpec>,
    threads: Option<u32>,
) -> napi::Result<IndexInfo> {
    let index = sync(env, |control| {
        open(resolve_sources(sources)?, threads, control)
    })?;
    Ok(register(env, index))
}

/// Releases index `handle`; later calls with it throw. Closing twice is harmless.
#[napi]
pub fn resource_index_close(env: &Env, handle: u32) {
    INDEXES.remove(env, handle);
}

/// Every location of `name` (`is_x`, or `is_x.tga` for one type), in precedence order; each
/// key's winner flagged.
#[napi]
pub fn resource_index_where_is(
    env: &Env,
    handle: u32,
    name: String,
) -> napi::Result<Vec<Location>> {
    sync(env, |_control| {
        Ok(locations(&INDEXES.get(handle)?.where_is(&name)?))
    })
}

/// The winning location of `name` (of `type` when given, else of the name's extension, else of
/// any type in the icon preference order), or `null`.
#[napi]
pub fn resource_index_resolve(
    env: &Env,
    handle: u32,
    name: String,
    #[napi(ts_arg_type = "string | number")] res: Option<Either<String, u32>>,
) -> napi::Result<Option<Location>> {
    sync(env, |_control| {
        let ty = res.map(res_type).transpose()?;
        Ok(INDEXES
            .get(handle)?
            .resolve(&name, ty)?
            .as_ref()
            .map(Location::from))
    })
}

fn read(handle: u32, name: &str, ty: Either<String, u32>) -> Result<Option<Vec<u8>>, NodeError> {
    let ty = res_type(ty)?;
    Ok(INDEXES.get(handle)?.read(name, ty)?)
}

/// The bytes of the winning `name` of `type` (positional reads; the archive is not kept open),
/// off the main thread; `null` when absent.
#[napi(ts_return_type = "Promise<Buffer | null>")]
pub fn resource_index_read<'env>(
    env: &'env Env,
    handle: u32,
    name: String,
    #[napi(ts_arg_type = "string | number")] ty: Either<String, u32>,
) -> napi::Result<PromiseRaw<'env, Option<Buffer>>> {
    promise(
        env,
        "icons",
        Call::new(None, None),
        move |_control| read(handle, &name, ty),
        |_env, bytes| Ok(bytes.map(Buffer::from)),
    )
}

/// [`resource_index_read`] on the calling thread.
#[napi]
pub fn resource_index_read_sync(
    env: &Env,
    handle: u32,
    name: String,
    #[napi(ts_arg_type = "string | number")] ty: Either<String, u32>,
) -> napi::Result<Option<Buffer>> {
    sync(env, |_control| read(handle, &name, ty)).map(|bytes| bytes.map(Buffer::from))
}

/// Every key stored in more than one place (of `type` when given), sorted by name and type.
#[napi]
pub fn resource_index_conflicts(
    env: &Env,
    handle: u32,
    #[napi(ts_arg_type = "string | number")] ty: Option<Either<String, u32>>,
) -> napi::Result<Vec<Conflict>> {
    sync(env, |_control| {
        let ty = ty.map(res_type).transpose()?;
        Ok(INDEXES
            .get(handle)?
            .conflicts(ty)
            .iter()
            .map(|c| Conflict {
                name: c.resref.as_str().to_owned(),
                res_type: u32::from(c.res_type.0),
                locations: locations(&c.locations),
            })
            .collect())
    })
}

/// Counts, warnings and skipped names of index `handle`.
#[napi]
pub fn resource_index_stats(env: &Env, handle: u32) -> napi::Result<IndexStats> {
    sync(env, |_control| {
        let index = INDEXES.get(handle)?;
        let stats = index.stats();
        Ok(IndexStats {
            sources: u32::try_from(stats.sources).unwrap_or(u32::MAX),
            source_errors: u32::try_from(stats.source_errors).unwrap_or(u32::MAX),
            resources: stats.resources as f64,
            keys: stats.keys as f64,
            conflicts: stats.conflicts as f64,
            unknown_types: stats.unknown_types as f64,
            skipped_names: index
                .skipped_names()
                .iter()
                .map(SkippedName::from)
                .collect(),
            warnings: index.warnings().to_vec(),
        })
    })
}

fn discover_in(
    game_dir: &str,
    user_dir: &str,
    options: Option<DiscoverOptions>,
) -> Result<icons::Discovery, NodeError> {
    let options = options.map(DiscoverOptions::resolve).unwrap_or_default();
    Ok(icons::discover(
        &PathBuf::from(game_dir),
        &PathBuf::from(user_dir),
        &options,
    )?)
}

/// The default NWN2 source list of an install and a user folder, off the main thread.
#[napi(ts_return_type = "Promise<Discovery>")]
pub fn icons_discover<'env>(
    env: &'env Env,
    game_dir: String,
    user_dir: String,
    options: Option<DiscoverOptions>,
) -> napi::Result<PromiseRaw<'env, Discovery>> {
    promise(
        env,
        "icons",
        Call::new(None, None),
        move |_control| discover_in(&game_dir, &user_dir, options),
        |_env, found| Ok(Discovery::from(&found)),
    )
}

/// [`icons_discover`] on the calling thread.
#[napi]
pub fn icons_discover_sync(
    env: &Env,
    game_dir: String,
    user_dir: String,
    options: Option<DiscoverOptions>,
) -> napi::Result<Discovery> {
    sync(env, |_control| discover_in(&game_dir, &user_dir, options))
        .map(|found| Discovery::from(&found))
}
