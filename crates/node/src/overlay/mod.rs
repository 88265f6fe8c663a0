//! League of Legends WAD overlays (modforge-overlay): `buildOverlay`, `analyzeMod`, `readWad` and
//! `extractWad`, each as a Promise and a Sync form. Conversion only; the semantics are the crate's
//! (docs/overlay.md).

mod types;

use std::path::{Path, PathBuf};

use napi::Env;
use napi::bindgen_prelude::PromiseRaw;
use napi_derive::napi;

use modforge_core::Control;
use modforge_overlay as overlay;

use crate::runtime::{Call, CancelFlag, NodeError, ProgressCallback, promise, sync};

use types::{
    AnalyzeModOptions, ExtractWadOptions, ExtractWadResult, ModAnalysis, OverlayBuildResult,
    OverlayBuildSpec, WadListing,
};

fn build_now(
    spec: OverlayBuildSpec,
    control: &Control<'_>,
) -> Result<OverlayBuildResult, NodeError> {
    let request = spec.into_request()?;
    Ok(overlay::build_overlay(&request, control)?.into())
}

/// Builds (or skips) an overlay off the main thread. Progress stages and units: `fingerprint`
/// (mods and the game, stat only), `index` (game WADs read), `collect` (mods), `route` (3 steps),
/// `patch` (WADs written, `current` = the WAD key), `sweep` (files removed), `done`.
#[napi(ts_return_type = "Promise<OverlayBuildResult>")]
pub fn build_overlay<'env>(
    env: &'env Env,
    spec: OverlayBuildSpec,
    cancel: Option<&CancelFlag>,
    #[napi(ts_arg_type = "(event: ProgressEvent) => void")] on_progress: Option<ProgressCallback>,
) -> napi::Result<PromiseRaw<'env, OverlayBuildResult>> {
    promise(
        env,
        "overlay",
        Call::new(cancel, on_progress),
        move |control| build_now(spec, control),
        |_env, result| Ok(result),
    )
}

/// Builds (or skips) an overlay on the calling thread.
#[napi]
pub fn build_overlay_sync(env: &Env, spec: OverlayBuildSpec) -> napi::Result<OverlayBuildResult> {
    sync(env, |control| build_now(spec, control))
}

fn analyze_now(
    path: &Path,
    options: AnalyzeModOptions,
    control: &Control<'_>,
) -> Result<ModAnalysis, NodeError> {
    let options = overlay::AnalyzeOptions {
        game_dir: options.game_dir.map(PathBuf::from),
        layers: options.layers,
    };
    Ok(overlay::analyze_mod(path, &options, control)?.into())
}

/// Reads a mod's structure (layers, WAD folders, RAW files, routing against `gameDir`) off the
/// main thread; writes nothing.
#[napi(ts_return_type = "Promise<ModAnalysis>")]
pub fn analyze_mod<'env>(
    env: &'env Env,
    path: String,
    options: Option<AnalyzeModOptions>,
    cancel: Option<&CancelFlag>,
) -> napi::Result<PromiseRaw<'env, ModAnalysis>> {
    let options = options.unwrap_or_default();
    promise(
        env,
        "overlay",
        Call::new(cancel, None),
        move |control| analyze_now(Path::new(&path), options, control),
        |_env, analysis| Ok(analysis),
    )
}

/// [`analyze_mod`] on the calling thread.
#[napi]
pub fn analyze_mod_sync(
    env: &Env,
    path: String,
    options: Option<AnalyzeModOptions>,
) -> napi::Result<ModAnalysis> {
    sync(env, |control| {
        analyze_now(Path::new(&path), options.unwrap_or_default(), control)
    })
}

fn read_now(path: &Path, control: &Control<'_>) -> Result<WadListing, NodeError> {
    control.check()?;
    Ok(overlay::read_wad(path)?.into())
}

/// Reads a WAD's header and TOC (1.x, 2.x, 3.0-3.4) off the main thread.
#[napi(ts_return_type = "Promise<WadListing>")]
pub fn read_wad<'env>(
    env: &'env Env,
    path: String,
    cancel: Option<&CancelFlag>,
) -> napi::Result<PromiseRaw<'env, WadListing>> {
    promise(
        env,
        "overlay",
        Call::new(cancel, None),
        move |control| read_now(Path::new(&path), control),
        |_env, listing| Ok(listing),
    )
}

/// Reads a WAD's header and TOC on the calling thread.
#[napi]
pub fn read_wad_sync(env: &Env, path: String) -> napi::Result<WadListing> {
    sync(env, |control| read_now(Path::new(&path), control))
}

fn extract_now(
    path: &Path,
    out_dir: &Path,
    options: ExtractWadOptions,
    control: &Control<'_>,
) -> Result<ExtractWadResult, NodeError> {
    let hashes = match options.hashes {
        Some(list) => Some(overlay::HashList::load(Path::new(&list))?),
        None => None,
    };
    let options = overlay::ExtractOptions {
        hashes,
        verify: options.verify.unwrap_or(false),
    };
    Ok(overlay::extract_wad(path, out_dir, &options, control)?.into())
}

/// Extracts every chunk of a WAD into `outDir` off the main thread (named from the hash list,
/// else `<hash>.bin`, so the folder re-imports as a mod). Progress: stage `extract`,
/// `done`/`total` = entries.
#[napi(ts_return_type = "Promise<ExtractWadResult>")]
pub fn extract_wad<'env>(
    env: &'env Env,
    path: String,
    out_dir: String,
    options: Option<ExtractWadOptions>,
    cancel: Option<&CancelFlag>,
    #[napi(ts_arg_type = "(event: ProgressEvent) => void")] on_progress: Option<ProgressCallback>,
) -> napi::Result<PromiseRaw<'env, ExtractWadResult>> {
    let options = options.unwrap_or_default();
    promise(
        env,
        "overlay",
        Call::new(cancel, on_progress),
        move |control| extract_now(Path::new(&path), Path::new(&out_dir), options, control),
        |_env, report| Ok(report),
    )
}

/// Extracts every chunk of a WAD on the calling thread.
#[napi]
pub fn extract_wad_sync(
    env: &Env,
    path: String,
    out_dir: String,
    options: Option<ExtractWadOptions>,
) -> napi::Result<ExtractWadResult> {
    sync(env, |control| {
        extract_now(
            Path::new(&path),
            Path::new(&out_dir),
            options.unwrap_or_default(),
            control,
        )
    })
}
