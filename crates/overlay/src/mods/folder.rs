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
//! are unchanged since the cached collection. Symbolic links are never followed. A scan's
//! [`TreeStamps`] let the next build prove the fingerprint unchanged without reading a folder.

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use modforge_core::Control;
use modforge_walk::engine::EntryKind;
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

/// Folder modification times this close to the scan (or later) are not trusted by
/// [`TreeStamps`]: an entry added within the same clock tick would leave the time unchanged.
/// Two seconds covers the coarsest common file system (FAT).
const RACY: Duration = Duration::from_secs(2);

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
    /// What the next build may check instead of scanning again; `None` when a folder's time is
    /// too recent to trust.
    pub stamps: Option<TreeStamps>,
}

/// What a [`scan`] saw, enough to prove by stat alone that a later scan would give the same
/// fingerprint (docs/overlay.md, "Folder stamps"): the modification time of the root and of
/// every folder it read (adding, removing or renaming an entry changes its folder's time), and
/// the size and time of every file in the fingerprint (an edit changes one of them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TreeStamps {
    /// The scanned root, as given.
    pub root: String,
    /// The fingerprint the scan computed.
    pub fingerprint: u64,
    /// Folders relative to the root (`""` is the root), with their modification times in ns.
    pub dirs: Vec<(String, u64)>,
    /// Files in the fingerprint, relative to the root: size and modification time in ns.
    pub files: Vec<(String, u64, u64)>,
}

impl TreeStamps {
    /// Whether `root` still matches: one stat per folder and file (symbolic links not
    /// followed), no folder is read.
    pub(crate) fn hold(&self, root: &Path) -> bool {
        self.root == root.to_string_lossy() && stamps_hold(root, &self.dirs, &self.files)
    }
}

/// [`TreeStamps::hold`] on Unix: the stamped folders are visited as a tree from the root, each
/// opened relative to its parent and its files stat'ed relative to it, so the kernel resolves
/// one path component per folder and per file instead of whole paths (which were most of a
/// no-op build's time). A folder without stamped subfolders is not opened: its files are
/// stat'ed relative to its parent.
#[cfg(unix)]
fn stamps_hold(root: &Path, dirs: &[(String, u64)], files: &[(String, u64, u64)]) -> bool {
    use rustix::fd::{AsFd, BorrowedFd};
    use rustix::fs::{AtFlags, FileType, Mode, OFlags, Stat};

    /// One stamped folder: its time, its stamped subfolders and files.
    #[derive(Default)]
    struct Node<'a> {
        mtime: u64,
        dirs: Vec<&'a str>,
        files: Vec<(&'a str, u64, u64)>,
    }
    fn mtime_of(st: &Stat) -> u64 {
        u64::try_from(i128::from(st.st_mtime) * 1_000_000_000 + i128::from(st.st_mtime_nsec))
            .unwrap_or(0)
    }
    fn split(rel: &str) -> (&str, &str) {
        rel.rsplit_once('/').unwrap_or(("", rel))
    }
    const DIR: OFlags = OFlags::RDONLY
        .union(OFlags::DIRECTORY)
        .union(OFlags::NOFOLLOW)
        .union(OFlags::CLOEXEC);
    /// Whether `st` is a regular file of `size` bytes and time `mtime`.
    fn file_holds(st: &Stat, size: u64, mtime: u64) -> bool {
        FileType::from_raw_mode(st.st_mode) == FileType::RegularFile
            && u64::try_from(st.st_size).ok() == Some(size)
            && mtime_of(st) == mtime
    }
    /// Whether `st` is a folder of time `mtime`.
    fn dir_holds(st: &Stat, mtime: u64) -> bool {
        FileType::from_raw_mode(st.st_mode) == FileType::Directory && mtime_of(st) == mtime
    }
    /// Whether the folder open at `fd` has its time and its files their sizes and times.
    fn here(node: &Node<'_>, fd: BorrowedFd<'_>) -> bool {
        rustix::fs::fstat(fd).is_ok_and(|st| dir_holds(&st, node.mtime))
            && node.files.iter().all(|(name, size, mtime)| {
                rustix::fs::statat(fd, *name, AtFlags::SYMLINK_NOFOLLOW)
                    .is_ok_and(|st| file_holds(&st, *size, *mtime))
            })
    }
    /// [`here`] for a folder without stamped subfolders, `name` in the folder open at `parent`,
    /// without opening it: its files are stat'ed as `name/file` (two components), which saves
    /// the open, the fstat and the close. The folder itself is stat'ed first without following
    /// a link (a link put in its place later changes the parent's time, which the next build
    /// sees).
    fn leaf_here(node: &Node<'_>, parent: BorrowedFd<'_>, name: &str) -> bool {
        let mut path = String::with_capacity(name.len() + 64);
        rustix::fs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW)
            .is_ok_and(|st| dir_holds(&st, node.mtime))
            && node.files.iter().all(|(file, size, mtime)| {
                path.clear();
                path.push_str(name);
                path.push('/');
                path.push_str(file);
                rustix::fs::statat(parent, path.as_str(), AtFlags::SYMLINK_NOFOLLOW)
                    .is_ok_and(|st| file_holds(&st, *size, *mtime))
            })
    }
    /// Stamped folder `child` of the folder open at `parent`, and every stamped folder under it.
    fn child_holds(tree: &HashMap<&str, Node<'_>>, child: &str, parent: BorrowedFd<'_>) -> bool {
        let name = split(child).1;
        match tree.get(child) {
            Some(node) if node.dirs.is_empty() => leaf_here(node, parent, name),
            Some(_) => rustix::fs::openat(parent, name, DIR, Mode::empty())
                .is_ok_and(|sub| visit(tree, child, sub.as_fd())),
            None => false,
        }
    }
    /// [`here`] for folder `rel` open at `fd` and, depth first, every stamped folder under it.
    fn visit(tree: &HashMap<&str, Node<'_>>, rel: &str, fd: BorrowedFd<'_>) -> bool {
        tree.get(rel).is_some_and(|node| {
            here(node, fd) && node.dirs.iter().all(|child| child_holds(tree, child, fd))
        })
    }

    let mut tree: HashMap<&str, Node<'_>> = HashMap::with_capacity(dirs.len());
    for (rel, mtime) in dirs {
        tree.entry(rel.as_str()).or_default().mtime = *mtime;
    }
    for (rel, _) in dirs.iter().filter(|(rel, _)| !rel.is_empty()) {
        match tree.get_mut(split(rel).0) {
            Some(parent) => parent.dirs.push(rel.as_str()),
            // A folder whose parent is not stamped: `scan` never records one.
            None => return false,
        }
    }
    for (rel, size, mtime) in files {
        match tree.get_mut(split(rel).0) {
            Some(parent) => parent.files.push((split(rel).1, *size, *mtime)),
            None => return false,
        }
    }
    let Ok(root_fd) = rustix::fs::open(root, DIR, Mode::empty()) else {
        return false;
    };
    // The root here, its subtrees in parallel.
    tree.get("").is_some_and(|top| {
        here(top, root_fd.as_fd())
            && top
                .dirs
                .par_iter()
                .all(|child| child_holds(&tree, child, root_fd.as_fd()))
    })
}

/// [`TreeStamps::hold`] elsewhere: one metadata call per folder and file, by path.
#[cfg(not(unix))]
fn stamps_hold(root: &Path, dirs: &[(String, u64)], files: &[(String, u64, u64)]) -> bool {
    let stat = |rel: &str| {
        let path = if rel.is_empty() {
            root.to_path_buf()
        } else {
            root.join(rel)
        };
        std::fs::symlink_metadata(path).ok()
    };
    dirs.par_iter().all(|(rel, mtime)| {
        stat(rel).is_some_and(|m| m.is_dir() && crate::io::size_and_mtime(&m).1 == *mtime)
    }) && files.par_iter().all(|(rel, size, mtime)| {
        stat(rel).is_some_and(|m| m.is_file() && crate::io::size_and_mtime(&m) == (*size, *mtime))
    })
}

/// Stats a folder mod (no file content is read): the config, and everything under `content/`
/// and `RAW/`, listed by modforge-walk.
pub(crate) fn scan(root: &Path) -> Result<FolderScan> {
    let keep = |rel: &str, is_dir: bool| match rel.split_once('/') {
        None => {
            let lower = rel.to_ascii_lowercase();
            rel == CONFIG_JSON
                || rel == CONFIG_TOML
                || (lower == "content" || lower == "raw") && is_dir
        }
        Some((top, _)) => top.eq_ignore_ascii_case("content") || top.eq_ignore_ascii_case("raw"),
    };
    // The root's time is taken before its listing: an entry added during the scan moves it past
    // what is recorded, never before.
    let started = SystemTime::now();
    let root_mtime = std::fs::symlink_metadata(root)
        .map(|m| crate::io::size_and_mtime(&m).1)
        .map_err(|e| Error::io("stat", root, e))?;
    let listed = crate::tree::list(root, keep)?;
    let mut dirs = vec![(String::new(), root_mtime)];
    let mut records = Vec::new();
    let mut files = Vec::new();
    let mut warnings = Vec::new();
    let mut config = None;
    let mut toml = false;
    let mut ignored_dirs = BTreeSet::new();
    for entry in listed {
        let parts: Vec<&str> = entry.rel.split('/').collect();
        let Some((top, rest)) = parts.split_first() else {
            continue;
        };
        let lower = top.to_ascii_lowercase();
        let under_content = lower == "content" && entry.rel.contains('/');
        let under_raw = lower == "raw" && entry.rel.contains('/');
        if entry.kind == EntryKind::Symlink {
            if under_content
                || under_raw
                || lower == "content"
                || lower == "raw"
                || *top == CONFIG_JSON
            {
                warnings.push(symlink_warning(&entry.rel));
            }
            continue;
        }
        if entry.kind == EntryKind::Dir {
            dirs.push((entry.rel.clone(), entry.mtime_ns));
        }
        if rest.is_empty() {
            if entry.kind == EntryKind::File && *top == CONFIG_JSON {
                records.push(StatRecord {
                    key: entry.rel.clone(),
                    size: entry.size,
                    mtime_ns: entry.mtime_ns,
                });
                config = Some(root.join(CONFIG_JSON));
            } else if entry.kind == EntryKind::File && *top == CONFIG_TOML {
                toml = true;
            }
            continue;
        }
        if entry.kind == EntryKind::Dir {
            if under_content && rest.len() == 2 && !is_wad_dir(rest[1]) {
                ignored_dirs.insert(entry.rel.clone());
            }
            continue;
        }
        if entry.kind != EntryKind::File {
            continue;
        }
        records.push(StatRecord {
            key: entry.rel.clone(),
            size: entry.size,
            mtime_ns: entry.mtime_ns,
        });
        let class = if under_content {
            match rest {
                [layer, wad, inner @ ..] if !inner.is_empty() && is_wad_dir(wad) => {
                    Some(FileClass::Wad {
                        layer: (*layer).to_owned(),
                        wad: (*wad).to_owned(),
                        inner: inner.join("/"),
                    })
                }
                [_, wad, _, ..] if !is_wad_dir(wad) => None,
                _ => {
                    warnings.push(Warning::new(
                        WarningCode::IgnoredFile,
                        format!(
                            "{} is not inside a content/<layer>/<Name>.wad.client folder",
                            entry.rel
                        ),
                    ));
                    None
                }
            }
        } else {
            Some(FileClass::Raw {
                inner: rest.join("/"),
            })
        };
        if let Some(class) = class {
            files.push(FolderFile {
                rel: entry.rel,
                size: entry.size,
                mtime_ns: entry.mtime_ns,
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
    let fingerprint = stat_fingerprint(&mut records);
    let trusted_before = crate::hash::mtime_ns(
        started
            .checked_sub(RACY)
            .ok_or_else(|| std::io::Error::other("clock before the epoch")),
    );
    let stamps = dirs
        .iter()
        .all(|(_, mtime)| *mtime < trusted_before)
        .then(|| TreeStamps {
            root: root.to_string_lossy().into_owned(),
            fingerprint,
            dirs,
            files: records
                .iter()
                .map(|r| (r.key.clone(), r.size, r.mtime_ns))
                .collect(),
        });
    Ok(FolderScan {
        root: root.to_path_buf(),
        toml_only: toml && config.is_none(),
        config,
        files,
        warnings,
        fingerprint,
        stamps,
    })
}

fn symlink_warning(rel: &str) -> Warning {
    Warning::new(
        WarningCode::IgnoredSymlink,
        format!("{rel} is a symbolic link; links are not followed"),
    )
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
