//! ERF-family archives on their own (`modforge erf ls|extract`): the table of contents and the
//! extraction of resources into a folder (docs/icons.md, "ERF family").

use std::path::PathBuf;

use modforge_core::Control;
use modforge_icons::{self as icons, FileAt, erf::Erf};
use napi::Env;
use napi::bindgen_prelude::PromiseRaw;
use napi_derive::napi;

use crate::runtime::{Call, CancelFlag, NodeError, ProgressCallback, promise, sync};
use crate::store::display;

/// One resource of an archive.
#[napi(object, object_from_js = false)]
pub struct ErfResource {
    /// The resref (lower case).
    pub name: String,
    /// The type id.
    #[napi(js_name = "type")]
    pub res_type: u32,
    /// `resref.ext` (`resref.<type id>` for a type NWN2 does not name).
    pub file: String,
    /// Position in the key list.
    pub index: u32,
    /// Data offset.
    pub offset: f64,
    /// Data size in bytes.
    pub size: f64,
}

/// One localized description.
#[napi(object, object_from_js = false)]
pub struct ErfDescription {
    /// Language id (0 English, 1 French, 2 German, ...).
    pub language: u32,
    /// The text (Windows-1252 decoded).
    pub text: String,
}

/// The table of contents of an ERF, HAK, MOD, SAV or NWM file.
#[napi(object, object_from_js = false)]
pub struct ErfListing {
    /// The file.
    pub path: String,
    /// FileType (`HAK `, `MOD `, ...), trailing spaces removed.
    pub file_type: String,
    /// `V1.0` or `V1.1`.
    pub version: String,
    /// EntryCount as stored.
    pub entry_count: u32,
    /// Key entry length in bytes (24 or 40).
    pub key_stride: u32,
    /// Build year (e.g. 2021).
    pub build_year: u32,
    /// Build day of the year (1-based).
    pub build_day: u32,
    /// Localized descriptions.
    pub descriptions: Vec<ErfDescription>,
    /// The resources accepted, in key-list order.
    pub resources: Vec<ErfResource>,
    /// Keys rejected (data outside the file, bad names).
    pub rejected: u32,
    /// What was odd but readable.
    pub warnings: Vec<String>,
}

fn list(path: &str) -> Result<ErfListing, NodeError> {
    let file = FileAt::open(&PathBuf::from(path))?;
    let erf = Erf::parse(&file, path)?;
    let header = &erf.header;
    Ok(ErfListing {
        path: path.to_owned(),
        file_type: String::from_utf8_lossy(&header.file_type)
            .trim_end()
            .to_owned(),
        version: match header.version {
            icons::erf::ErfVersion::V10 => "V1.0",
            icons::erf::ErfVersion::V11 => "V1.1",
        }
        .to_owned(),
        entry_count: header.entry_count,
        key_stride: u32::try_from(header.key_stride).unwrap_or(u32::MAX),
        build_year: header.build_year.saturating_add(1900),
        build_day: header.build_day.saturating_add(1),
        descriptions: erf
            .localized
            .iter()
            .map(|l| ErfDescription {
                language: l.language,
                text: l.text(),
            })
            .collect(),
        resources: erf
            .entries
            .iter()
            .map(|e| ErfResource {
                name: e.key.resref.as_str().to_owned(),
                res_type: u32::from(e.key.res_type.0),
                file: icons::extract::file_name(e.key.resref.as_str(), e.key.res_type),
                index: e.index,
                offset: f64::from(e.offset),
                size: f64::from(e.size),
            })
            .collect(),
        rejected: erf.rejected,
        warnings: erf.warnings.clone(),
    })
}

/// Reads the table of contents of an archive off the main thread.
#[napi(ts_return_type = "Promise<ErfListing>")]
pub fn erf_list<'env>(env: &'env Env, path: String) -> napi::Result<PromiseRaw<'env, ErfListing>> {
    promise(
        env,
        "icons",
        Call::new(None, None),
        move |_control| list(&path),
        |_env, listing| Ok(listing),
    )
}

/// [`erf_list`] on the calling thread.
#[napi]
pub fn erf_list_sync(env: &Env, path: String) -> napi::Result<ErfListing> {
    sync(env, |_control| list(&path))
}

/// What `extractErf` wrote.
#[napi(object, object_from_js = false)]
pub struct ErfExtracted {
    /// Files written, in key-list order.
    pub files: Vec<String>,
    /// Bytes written.
    pub bytes: f64,
    /// Resources whose name is not a safe file name (not written).
    pub skipped: Vec<String>,
    /// Warnings of the archive reader.
    pub warnings: Vec<String>,
}

fn extract(
    path: &str,
    out_dir: &str,
    names: Option<&[String]>,
    control: &Control<'_>,
) -> Result<ErfExtracted, NodeError> {
    let done = icons::extract::extract(
        &PathBuf::from(path),
        &PathBuf::from(out_dir),
        names,
        control,
    )?;
    Ok(ErfExtracted {
        files: done.files.iter().map(|p| display(p)).collect(),
        bytes: done.bytes as f64,
        skipped: done.skipped,
        warnings: done.warnings,
    })
}

/// Writes the resources of an archive (all, or those named) into `outDir`, each atomically, off
/// the main thread. Progress: stage `extract`, `done`/`total` = resources.
#[napi(ts_return_type = "Promise<ErfExtracted>")]
pub fn erf_extract<'env>(
    env: &'env Env,
    path: String,
    out_dir: String,
    names: Option<Vec<String>>,
    cancel: Option<&CancelFlag>,
    #[napi(ts_arg_type = "(event: ProgressEvent) => void")] on_progress: Option<ProgressCallback>,
) -> napi::Result<PromiseRaw<'env, ErfExtracted>> {
    promise(
        env,
        "icons",
        Call::new(cancel, on_progress),
        move |control| extract(&path, &out_dir, names.as_deref(), control),
        |_env, done| Ok(done),
    )
}

/// [`erf_extract`] on the calling thread.
#[napi]
pub fn erf_extract_sync(
    env: &Env,
    path: String,
    out_dir: String,
    names: Option<Vec<String>>,
) -> napi::Result<ErfExtracted> {
    sync(env, |control| {
        extract(&path, &out_dir, names.as_deref(), control)
    })
}
