//! Folder projects (docs/overlay.md, "Folder projects"):
//!
//! ```text
//! mod.config.json                                   name, version, layers (optional)
//! content/<layer>/<Name>.wad.client/<path in WAD>   overrides of a layer (suffix case-insensitive)
//! RAW/<game asset path>                             overrides routed by hash (case-insensitive)
//! ```
//!
//! [`scan`] only stats (it gives the mod's fingerprint, also on the no-op path); [`collect`]
//! hashes the files, reusing the content hash of every file whose size and modification time
//! are unchanged since the cached collection. Symbolic links are never followed.

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use modforge_core::Control;
use rayon::prelude::*;

use super::config::{Declared, parse_mod_config};
use super::{
    FileStamp, Item, ModInfo, ModKind, ModMeta, Source, WadDir, finish_layers, sort_items,
};
use crate::error::{Error, Result, label};
use crate::hash::{ContentHasher, StatRecord, chunk_hash_for_rel_path, stat_fingerprint};
use crate::meter::Meter;
use crate::report::{Warning, WarningCode};

/// Name of the config file read.
const CONFIG_JSON: &str = "mod.config.json";
/// Name of the config file noticed but not read.
const CONFIG_TOML: &str = "mod.config.toml";
/// Size of the blocks files are hashed in.
const BLOCK: usize = 1 << 20;

/// What a file of a folder mod is.
#[derive(Clone, Debug, PartialEq, Eq)]
enum FileClass {
    /// `content/<layer>/<wad>/<inner>`.
    Wad {
        layer: String,
        wad: String,
        inner: String,
    },
    /// `RAW/<inner>`.
    Raw { inner: String },
}

/// One file found by [`scan`].
#[derive(Clone, Debug)]
struct FolderFile {
    rel: String,
    size: u64,
    mtime_ns: u64,
    class: FileClass,
}

/// The stat-only view of a folder mod.
#[derive(Debug)]
pub(crate) struct FolderScan {
    root: PathBuf,
    config: Option<PathBuf>,
    toml_only: bool,
    files: Vec<FolderFile>,
    warnings: Vec<Warning>,
    /// The mod fingerprint: the stat framing over the config and every file under `content/`
    /// and `RAW/`.
    pub fingerprint: u64,
}

/// Stats a folder mod (no file content is read).
pub(crate) fn scan(root: &Path) -> Result<FolderScan> {
    let mut records = Vec::new();
    let mut files = Vec::new();
    let mut warnings = Vec::new();
    let mut config = None;
    let mut toml = false;
    let entries = std::fs::read_dir(root).map_err(|e| Error::io("opendir", root, e))?;
    let mut tops: Vec<(String, PathBuf, std::fs::FileType)> = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("readdir", root, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let kind = entry
            .file_type()
            .map_err(|e| Error::io("stat", entry.path(), e))?;
        tops.push((name, entry.path(), kind));
    }
    tops.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, path, kind) in tops {
        if kind.is_symlink() {
            if matches!(name.to_lowercase().as_str(), "content" | "raw") || name == CONFIG_JSON {
                warnings.push(symlink_warning(&name));
            }
            continue;
        }
        if kind.is_file() && name == CONFIG_JSON {
            let meta = std::fs::metadata(&path).map_err(|e| Error::io("stat", &path, e))?;
            let (size, mtime_ns) = crate::io::size_and_mtime(&meta);
            records.push(StatRecord {
                key: name.clone(),
                size,
                mtime_ns,
            });
            config = Some(path);
        } else if kind.is_file() && name == CONFIG_TOML {
            toml = true;
        } else if kind.is_dir() && name.eq_ignore_ascii_case("content") {
            walk(&path, &name, true, &mut files, &mut records, &mut warnings)?;
        } else if kind.is_dir() && name.eq_ignore_ascii_case("raw") {
            walk(&path, &name, false, &mut files, &mut records, &mut warnings)?;
        }
    }
    let fingerprint = stat_fingerprint(&mut records);
    Ok(FolderScan {
        root: root.to_path_buf(),
        toml_only: toml && config.is_none(),
        config,
        files,
        warnings,
        fingerprint,
    })
}

fn symlink_warning(rel: &str) -> Warning {
    Warning::new(
        WarningCode::IgnoredSymlink,
        format!("{rel} is a symbolic link; links are not followed"),
    )
}

/// Walks `content/` (`content = true`) or `RAW/` below the mod root.
fn walk(
    dir: &Path,
    top: &str,
    content: bool,
    files: &mut Vec<FolderFile>,
    records: &mut Vec<StatRecord>,
    warnings: &mut Vec<Warning>,
) -> Result<()> {
    let mut ignored_dirs = BTreeSet::new();
    for entry in walkdir::WalkDir::new(dir)
        .follow_links(false)
        .min_depth(1)
        .sort_by_file_name()
    {
        let entry = entry.map_err(|e| {
            let path = e
                .path()
                .map_or_else(|| dir.to_path_buf(), Path::to_path_buf);
            let io = e
                .into_io_error()
                .unwrap_or_else(|| std::io::Error::other("file system loop"));
            Error::io("readdir", path, io)
        })?;
        let parts: Vec<String> = entry
            .path()
            .strip_prefix(dir)
            .unwrap_or(entry.path())
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let rel = format!("{top}/{}", parts.join("/"));
        if entry.path_is_symlink() {
            warnings.push(symlink_warning(&rel));
            continue;
        }
        if entry.file_type().is_dir() {
            if content && parts.len() == 2 && !is_wad_dir(&parts[1]) {
                ignored_dirs.insert(rel);
            }
            continue;
        }
        if !entry.file_type().is_file() {
            continue;
        }
        let meta = entry
            .metadata()
            .map_err(|e| Error::io("stat", entry.path(), std::io::Error::other(e)))?;
        let (size, mtime_ns) = crate::io::size_and_mtime(&meta);
        records.push(StatRecord {
            key: rel.clone(),
            size,
            mtime_ns,
        });
        let class = if content {
            match parts.as_slice() {
                [layer, wad, inner @ ..] if !inner.is_empty() && is_wad_dir(wad) => {
                    Some(FileClass::Wad {
                        layer: layer.clone(),
                        wad: wad.clone(),
                        inner: inner.join("/"),
                    })
                }
                [_, wad, _, ..] if !is_wad_dir(wad) => None,
                _ => {
                    warnings.push(Warning::new(
                        WarningCode::IgnoredFile,
                        format!("{rel} is not inside a content/<layer>/<Name>.wad.client folder"),
                    ));
                    None
                }
            }
        } else {
            Some(FileClass::Raw {
                inner: parts.join("/"),
            })
        };
        if let Some(class) = class {
            files.push(FolderFile {
                rel,
                size,
                mtime_ns,
                class,
            });
        }
    }
    for rel in ignored_dirs {
        warnings.push(Warning::new(
            WarningCode::IgnoredFolder,
            format!("{rel} does not end in .wad.client and is ignored"),
        ));
    }
    Ok(())
}

/// Whether a folder name names a WAD (`*.wad.client`, case-insensitive).
fn is_wad_dir(name: &str) -> bool {
    name.to_ascii_lowercase().ends_with(".wad.client")
}

/// Hashes the file at `path` in 1 MiB blocks; returns (content hash, bytes read).
pub(crate) fn hash_file(path: &Path, meter: &Meter, control: &Control<'_>) -> Result<(u64, u64)> {
    let mut file = File::open(path).map_err(|e| Error::io("open", path, e))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let _held = meter.hold(len.min(BLOCK as u64));
    let mut buf = vec![
        0u8;
        usize::try_from(len.min(BLOCK as u64))
            .unwrap_or(BLOCK)
            .max(1)
    ];
    let mut hasher = ContentHasher::new();
    loop {
        control.check()?;
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io("read", path, e)),
        };
        hasher.update(&buf[..n]);
        meter.mod_read(n as u64);
    }
    Ok((hasher.finish(), hasher.len()))
}

/// Reads a folder mod's config and hashes its files (pass 1). `previous` is the cached stamps
/// of an earlier collection: files with the same path, size and mtime keep their hash unread.
pub(crate) fn collect(
    scan: &FolderScan,
    previous: &[FileStamp],
    meter: &Meter,
    control: &Control<'_>,
) -> Result<ModMeta> {
    let mut warnings = scan.warnings.clone();
    let declared = match &scan.config {
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|e| Error::io("read", path, e))?;
            meter.mod_read(bytes.len() as u64);
            parse_mod_config(&bytes, &label(path))?
        }
        None => Declared::default(),
    };
    if scan.toml_only {
        warnings.push(Warning::new(
            WarningCode::ConfigTomlIgnored,
            "mod.config.toml is not read; add mod.config.json (name and layers default to the folder name and base)",
        ));
    }
    let layers = finish_layers(declared.layers);
    let layer_index: HashMap<&str, u16> = layers
        .iter()
        .enumerate()
        .map(|(i, l)| (l.name.as_str(), i as u16))
        .collect();
    let mut dirs: Vec<WadDir> = Vec::new();
    let mut dir_index: HashMap<(u16, String), u32> = HashMap::new();
    let mut unknown_layers = BTreeSet::new();
    let mut wanted: Vec<(&FolderFile, Option<u32>, &str)> = Vec::new();
    for file in &scan.files {
        match &file.class {
            FileClass::Wad { layer, wad, inner } => {
                let Some(&li) = layer_index.get(layer.as_str()) else {
                    unknown_layers.insert(layer.clone());
                    continue;
                };
                let next = dirs.len() as u32;
                let di = *dir_index.entry((li, wad.clone())).or_insert_with(|| {
                    dirs.push(WadDir {
                        layer: li,
                        name: wad.clone(),
                        raw_name: wad.clone(),
                        packed: false,
                    });
                    next
                });
                wanted.push((file, Some(di), inner));
            }
            FileClass::Raw { inner } => wanted.push((file, None, inner)),
        }
    }
    for layer in unknown_layers {
        warnings.push(Warning::new(
            WarningCode::IgnoredFolder,
            format!("content/{layer} is not a layer of the mod and is ignored"),
        ));
    }
    let known: HashMap<(&str, u64, u64), u64> = previous
        .iter()
        .map(|s| ((s.rel.as_str(), s.size, s.mtime_ns), s.content_hash))
        .collect();
    let hashed: Vec<Result<(Item, FileStamp)>> = wanted
        .par_iter()
        .map(|(file, dir, inner)| {
            let reused = known
                .get(&(file.rel.as_str(), file.size, file.mtime_ns))
                .copied();
            let (content_hash, size) = match reused {
                Some(hash) => (hash, file.size),
                None => hash_file(&scan.root.join(&file.rel), meter, control)?,
            };
            crate::plan::check_override_size(size, &file.rel)?;
            Ok((
                Item {
                    path_hash: chunk_hash_for_rel_path(inner),
                    content_hash,
                    size,
                    dir: *dir,
                    rel_path: (*inner).to_owned(),
                    source: Source::File {
                        rel: file.rel.clone(),
                    },
                },
                FileStamp {
                    rel: file.rel.clone(),
                    size,
                    mtime_ns: file.mtime_ns,
                    content_hash,
                },
            ))
        })
        .collect();
    let mut items = Vec::with_capacity(hashed.len());
    let mut stamps = Vec::with_capacity(hashed.len());
    for r in hashed {
        let (item, stamp) = r?;
        items.push(item);
        stamps.push(stamp);
    }
    sort_items(&dirs, &mut items);
    let name = declared.name.unwrap_or_else(|| {
        scan.root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    });
    Ok(ModMeta {
        info: ModInfo {
            kind: ModKind::Folder,
            name,
            version: declared.version,
            layers,
        },
        fingerprint: scan.fingerprint,
        dirs,
        items,
        warnings,
        stamps,
    })
}
