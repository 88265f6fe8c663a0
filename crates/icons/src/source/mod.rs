//! Sources of resources: folders (recursive), ZIP archives and ERF-family archives, each indexed
//! into a list of entries in the order the engine prefers them inside that source
//! (docs/icons.md, "Sources" and "Precedence").

mod dir;
mod erf_source;
mod zip_source;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use crate::error::Error;
use crate::key::{NameProblem, ResKey, ResRef, ResType, split_name};

pub(crate) use zip_source::ZipBacking;

/// What a source is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SourceKind {
    /// A folder, indexed recursively.
    Dir,
    /// A ZIP archive (`Data/*.zip`).
    Zip,
    /// An ERF-family archive (`.erf`, `.hak`, `.mod`, `.sav`, `.nwm`).
    Erf,
}

impl SourceKind {
    /// `dir`, `zip` or `erf`.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Dir => "dir",
            SourceKind::Zip => "zip",
            SourceKind::Erf => "erf",
        }
    }

    /// The kind named by `dir`, `zip` or `erf`.
    pub fn parse(name: &str) -> Option<SourceKind> {
        match name {
            "dir" => Some(SourceKind::Dir),
            "zip" => Some(SourceKind::Zip),
            "erf" => Some(SourceKind::Erf),
            _ => None,
        }
    }

    /// The kind of a path from its extension (`.zip`; `.erf`, `.hak`, `.mod`, `.sav`, `.nwm`),
    /// else a folder.
    pub fn of_path(path: &Path) -> SourceKind {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("zip") => SourceKind::Zip,
            Some("erf" | "hak" | "mod" | "sav" | "nwm") => SourceKind::Erf,
            _ => SourceKind::Dir,
        }
    }

    /// The byte stored in the cache's `sources` section.
    pub(crate) fn code(self) -> u8 {
        match self {
            SourceKind::Dir => 0,
            SourceKind::Zip => 1,
            SourceKind::Erf => 2,
        }
    }

    /// The kind of a stored byte.
    pub(crate) fn from_code(code: u8) -> Option<SourceKind> {
        match code {
            0 => Some(SourceKind::Dir),
            1 => Some(SourceKind::Zip),
            2 => Some(SourceKind::Erf),
            _ => None,
        }
    }
}

/// Which image resources of a source belong to the icon set.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub enum IconScope {
    /// None (its images still win over lower sources for icons named elsewhere).
    #[default]
    None,
    /// Every image resource.
    All,
    /// Images under a folder named in the icon-folder list (default `icons`).
    IconDirs,
}

impl IconScope {
    pub(crate) fn code(self) -> u8 {
        match self {
            IconScope::None => 0,
            IconScope::All => 1,
            IconScope::IconDirs => 2,
        }
    }

    pub(crate) fn from_code(code: u8) -> Option<IconScope> {
        match code {
            0 => Some(IconScope::None),
            1 => Some(IconScope::All),
            2 => Some(IconScope::IconDirs),
            _ => None,
        }
    }
}

/// One source as a caller lists it; a list is ordered highest priority first.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct SourceSpec {
    /// The folder or archive.
    pub path: PathBuf,
    /// Its kind; `None` = from the extension ([`SourceKind::of_path`]).
    pub kind: Option<SourceKind>,
    /// A label shown in locations (default: the path).
    pub label: Option<String>,
    /// Which of its images form the icon set.
    pub icons: IconScope,
}

impl SourceSpec {
    /// A source of the kind its path suggests, labelled with its path, contributing no icons.
    pub fn new(path: impl Into<PathBuf>) -> SourceSpec {
        SourceSpec {
            path: path.into(),
            kind: None,
            label: None,
            icons: IconScope::None,
        }
    }

    /// The same source with a label.
    pub fn labelled(mut self, label: impl Into<String>) -> SourceSpec {
        self.label = Some(label.into());
        self
    }

    /// The same source with an icon scope.
    pub fn with_icons(mut self, icons: IconScope) -> SourceSpec {
        self.icons = icons;
        self
    }

    /// The kind, given or from the path.
    pub fn resolved_kind(&self) -> SourceKind {
        self.kind.unwrap_or_else(|| SourceKind::of_path(&self.path))
    }

    /// The label, given or the path.
    pub fn resolved_label(&self) -> String {
        self.label
            .clone()
            .unwrap_or_else(|| self.path.display().to_string())
    }

    /// Whether `label` is [`SourceSpec::resolved_label`], without building that string when the
    /// path is UTF-8 (the warm open compares every stored source this way).
    pub(crate) fn has_label(&self, label: &str) -> bool {
        match (&self.label, self.path.to_str()) {
            (Some(own), _) => own == label,
            (None, Some(path)) => path == label,
            (None, None) => self.path.display().to_string() == label,
        }
    }
}

/// What the index knows about one source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceInfo {
    /// Position in the source list (0 = highest priority).
    pub id: u16,
    /// Label.
    pub label: String,
    /// Kind.
    pub kind: SourceKind,
    /// Path.
    pub path: PathBuf,
    /// Icon scope.
    pub icons: IconScope,
    /// Size in bytes (archives; 0 for folders) at indexing time.
    pub size: u64,
    /// Modification time in ns since the Unix epoch (of the archive or the folder root).
    pub mtime_ns: i64,
    /// Archives: XXH3-64 of the key list and resource list (ERF) or central directory (ZIP).
    /// Folders: XXH3-64 over the sorted (lower-cased relative path, size, mtime_ns) of the
    /// indexed files (the tree hash).
    pub hash: u64,
    /// Resources indexed.
    pub entries: u32,
    /// Why the source could not be read, if it could not (then it has no entries).
    pub error: Option<SourceError>,
}

/// A source that could not be indexed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceError {
    /// The error's category code (`io`, `format`, ...).
    pub code: &'static str,
    /// The message.
    pub message: String,
}

/// Where an entry's bytes are inside its source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum EntryRef {
    /// A file: its path relative to the folder root, `/`-separated.
    File { rel: Box<str> },
    /// A ZIP entry: central-directory index and name.
    Zip { index: u32, name: Box<str> },
    /// An ERF entry: key index and data offset.
    Erf { index: u32, offset: u32 },
}

/// One indexed resource of a source.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub key: ResKey,
    pub size: u64,
    /// Files: modification time in ns; archive entries: 0.
    pub mtime_ns: i64,
    pub at: EntryRef,
    /// Under a folder named in the icon-folder list.
    pub in_icon_dir: bool,
}

/// A name that was not indexed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedName {
    /// The source's label.
    pub source: String,
    /// The file or entry name.
    pub name: String,
    /// Why.
    pub problem: NameProblem,
}

/// A source after indexing: its description, its entries in in-source precedence order, and what
/// reading an entry needs.
pub(crate) struct Indexed {
    pub info: SourceInfo,
    pub entries: Vec<Entry>,
    pub backing: Backing,
    pub warnings: Vec<String>,
    pub skipped_names: Vec<SkippedName>,
    pub unknown_types: u64,
}

/// What reading an entry of a source needs besides its path.
pub(crate) enum Backing {
    None,
    Zip(Arc<ZipBacking>),
}

/// Options of indexing.
#[derive(Clone, Debug)]
pub(crate) struct IndexSettings {
    /// Folder names (lower-case) whose images form the icon set of `IconDirs` sources.
    pub icon_dirs: Vec<String>,
}

/// Indexes one source; an unreadable source is returned with its error and no entries.
pub(crate) fn index_source(id: u16, spec: &SourceSpec, settings: &IndexSettings) -> Indexed {
    let kind = spec.resolved_kind();
    let mut indexed = Indexed {
        info: SourceInfo {
            id,
            label: spec.resolved_label(),
            kind,
            path: spec.path.clone(),
            icons: spec.icons,
            size: 0,
            mtime_ns: 0,
            hash: 0,
            entries: 0,
            error: None,
        },
        entries: Vec::new(),
        backing: Backing::None,
        warnings: Vec::new(),
        skipped_names: Vec::new(),
        unknown_types: 0,
    };
    let result = match kind {
        SourceKind::Dir => dir::index(&mut indexed, settings),
        SourceKind::Zip => zip_source::index(&mut indexed, settings),
        SourceKind::Erf => erf_source::index(&mut indexed),
    };
    if let Err(e) = result {
        indexed.entries.clear();
        indexed.info.error = Some(SourceError {
            code: e.code(),
            message: e.to_string(),
        });
    }
    indexed.info.entries = indexed.entries.len() as u32;
    indexed
}

/// Reads an entry's bytes. `max` caps the size read (a larger entry is a Limit error).
pub(crate) fn read_entry(
    info: &SourceInfo,
    backing: &Backing,
    entry: &Entry,
    max: u64,
) -> Result<Vec<u8>, Error> {
    let label = entry_label(info, entry);
    if entry.size > max {
        return Err(Error::limit(
            &label,
            format!("resource of {} bytes (at most {max})", entry.size),
        ));
    }
    match (&entry.at, backing) {
        (EntryRef::File { rel }, _) => dir::read(&info.path, rel, max),
        (EntryRef::Zip { index, name }, Backing::Zip(zip)) => {
            zip.read(&info.path, *index, name, entry.size, &label)
        }
        (EntryRef::Erf { offset, .. }, _) => {
            let file = crate::io::FileAt::open(&info.path)?;
            file.read_range(u64::from(*offset), entry.size)
        }
        (EntryRef::Zip { .. }, Backing::None) => Err(Error::Internal(format!(
            "{label}: ZIP entry without its archive's directory"
        ))),
    }
}

/// `<source label>:<entry>` for messages.
pub(crate) fn entry_label(info: &SourceInfo, entry: &Entry) -> String {
    format!("{}:{}", info.path.display(), entry_name(entry))
}

/// The entry's name inside its source: relative path, ZIP name, or `resref.ext` for ERF keys.
pub(crate) fn entry_name(entry: &Entry) -> String {
    match &entry.at {
        EntryRef::File { rel } => rel.to_string(),
        EntryRef::Zip { name, .. } => name.to_string(),
        EntryRef::Erf { .. } => format!("{}.{}", entry.key.resref, entry.key.res_type),
    }
}

/// The key of a file or entry name (last path segment), or why it has none: `Ok(None)` for an
/// unknown extension.
pub(crate) fn key_of_name(name: &str) -> Result<Option<ResKey>, NameProblem> {
    let last = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let (stem, ext) = split_name(last);
    let Some(res_type) = ext.and_then(ResType::from_extension) else {
        return Ok(None);
    };
    let resref = ResRef::new(stem.as_bytes())?;
    Ok(Some(ResKey { resref, res_type }))
}

/// Modification time in ns since the Unix epoch (negative before it, saturating).
pub(crate) fn mtime_ns(meta: &std::fs::Metadata) -> i64 {
    match meta.modified() {
        Ok(t) => match t.duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
            Err(before) => i64::try_from(before.duration().as_nanos())
                .map(|n| -n)
                .unwrap_or(i64::MIN),
        },
        Err(_) => 0,
    }
}

/// (size, mtime_ns) of a path, or `None` when it cannot be stat'ed.
pub(crate) fn stat(path: &Path) -> Option<(u64, i64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((if meta.is_dir() { 0 } else { meta.len() }, mtime_ns(&meta)))
}

/// Whether any folder component of `rel` (not the file name) is one of `icon_dirs`.
pub(crate) fn under_icon_dir(rel: &str, icon_dirs: &[String]) -> bool {
    let mut parts: Vec<&str> = rel.split(['/', '\\']).collect();
    parts.pop();
    parts
        .iter()
        .any(|p| icon_dirs.iter().any(|d| d.eq_ignore_ascii_case(p)))
}
