//! The default NWN2 source list: module HAKs in list order, the user's override, Workshop items,
//! the install's override, the campaign, the module, the Data zips, then `UI/upscaled` and
//! `UI/default` (docs/icons.md, "Discovery"). Well-known folder names are matched
//! case-insensitively, so `Data`/`data` and `UI`/`ui` work on case-sensitive file systems.
//!
//! [`discover_watched`] also stamps every place it consults, so a later open can tell with one
//! `stat` per place that a discovery still holds (docs/icons.md, "Discovery memo").

use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::erf::Erf;
use crate::error::Error;
use crate::io::FileAt;
use crate::key::{ResKey, ResRef, ResType};
use crate::source::{IconScope, SourceKind, SourceSpec};

/// Largest `module.ifo` read (16 MiB; real ones are a few KiB).
pub const MAX_MODULE_IFO: u64 = 16 << 20;

/// What to look for besides the fixed places.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscoverOptions {
    /// The module: a name (looked up in `<user>/modules` then `<install>/modules`, as
    /// `<name>.mod` or an unpacked folder) or a path to a `.mod` file or folder.
    pub module: Option<String>,
    /// The campaign: a name (looked up in `<user>/campaigns` then `<install>/Campaigns`) or a path.
    pub campaign: Option<String>,
    /// Steam Workshop content roots (`.../steamapps/workshop/content/2738630`), each holding one
    /// folder per item.
    pub workshop_dirs: Vec<PathBuf>,
}

/// One place found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Found {
    /// The source's label.
    pub label: String,
    /// Its kind.
    pub kind: SourceKind,
    /// Its path.
    pub path: PathBuf,
    /// Entry count, for ERF archives (read from the header); `None` for folders and ZIPs.
    pub entries: Option<u32>,
}

/// Something looked for and not found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Missing {
    /// What (`hak <name>`, `module <name>`, `campaign <name>`).
    pub what: String,
    /// Every path tried.
    pub searched: Vec<PathBuf>,
}

/// The module and the HAKs it lists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleHaks {
    /// The `.mod` file or module folder.
    pub path: PathBuf,
    /// `Mod_HakList` in list order, as written in the module.
    pub haks: Vec<String>,
}

/// The result of [`discover`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discovery {
    /// The sources, highest priority first.
    pub sources: Vec<SourceSpec>,
    /// The places found, in the same order.
    pub found: Vec<Found>,
    /// What was looked for and not found (missing HAKs are reported here, never thrown).
    pub missing: Vec<Missing>,
    /// Notes (unknown Workshop order, unreadable module, ...).
    pub warnings: Vec<String>,
    /// The module, when one was found.
    pub module: Option<ModuleHaks>,
}

/// How long before a discovery a stamp's time must lie for the stamp to prove that the place did
/// not change since: 2 s, the coarsest file-time step in use (FAT). A place changed within the
/// same step as its stamp could keep the stamp's time.
pub const SETTLED_NS: i64 = 2_000_000_000;

/// What a consulted place looked like: absent, a folder, or a file (links followed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "is", rename_all = "camelCase")]
pub enum Stamp {
    /// Nothing there, or nothing readable.
    Missing,
    /// A folder, with its modification time (it changes when an entry is added, removed or
    /// renamed).
    Dir {
        /// Modification time, ns since the Unix epoch.
        mtime_ns: i64,
    },
    /// A file, with its size and modification time.
    File {
        /// Size in bytes.
        size: u64,
        /// Modification time, ns since the Unix epoch.
        mtime_ns: i64,
    },
}

impl Stamp {
    /// The stamp of `path` now, from one `stat`.
    pub fn of(path: &Path) -> Stamp {
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => Stamp::Dir {
                mtime_ns: crate::source::mtime_ns(&meta),
            },
            Ok(meta) => Stamp::File {
                size: meta.len(),
                mtime_ns: crate::source::mtime_ns(&meta),
            },
            Err(_) => Stamp::Missing,
        }
    }

    /// (size, mtime_ns) as a source's stat gives them (size 0 for a folder); `None` when missing.
    pub fn stat(self) -> Option<(u64, i64)> {
        match self {
            Stamp::Missing => None,
            Stamp::Dir { mtime_ns } => Some((0, mtime_ns)),
            Stamp::File { size, mtime_ns } => Some((size, mtime_ns)),
        }
    }

    fn mtime_ns(self) -> Option<i64> {
        self.stat().map(|(_, mtime_ns)| mtime_ns)
    }
}

/// The places one discovery consulted, each stamped before it was read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watched {
    /// When the discovery started, ns since the Unix epoch.
    pub started_ns: i64,
    /// Every folder listed or looked into, every file read and every source, once each.
    pub places: Vec<(PathBuf, Stamp)>,
}

impl Watched {
    /// Whether every stamp is older than the discovery by [`SETTLED_NS`], so that a change made
    /// after it would show in the stamp.
    pub fn settled(&self) -> bool {
        let limit = self.started_ns.saturating_sub(SETTLED_NS);
        self.places
            .iter()
            .all(|(_, stamp)| stamp.mtime_ns().is_none_or(|t| t < limit))
    }

    /// Whether every place still has its stamp (one `stat` each).
    pub fn unchanged(&self) -> bool {
        self.places
            .iter()
            .all(|(path, stamp)| Stamp::of(path) == *stamp)
    }

    /// The stamp of `path`, when it was consulted.
    pub fn stamp(&self, path: &Path) -> Option<Stamp> {
        // The same bytes first: a warm open asks for the very paths the discovery stamped, and
        // `Path` equality walks the components of every place that differs.
        let same = |(p, _): &&(PathBuf, Stamp)| p.as_os_str() == path.as_os_str();
        self.places
            .iter()
            .find(same)
            .or_else(|| self.places.iter().find(|(p, _)| p == path))
            .map(|(_, stamp)| *stamp)
    }
}

/// The stamps of a discovery, or nothing for a plain [`discover`].
struct Watch(Option<Watched>);

impl Watch {
    /// Stamps `path` unless it was stamped already (so the first stamp, taken before the place
    /// was first read, stands).
    fn note(&mut self, path: &Path) {
        if let Some(w) = &mut self.0 {
            if w.stamp(path).is_none() {
                w.places.push((path.to_path_buf(), Stamp::of(path)));
            }
        }
    }
}

/// Builds the default source list of an install (`game_dir`) and a user folder (`user_dir`,
/// `Documents/Neverwinter Nights 2`). Nothing here fails for a missing place: it is left out and
/// reported. Only a `game_dir` that is not a folder is an error.
pub fn discover(
    game_dir: &Path,
    user_dir: &Path,
    options: &DiscoverOptions,
) -> Result<Discovery, Error> {
    discover_into(game_dir, user_dir, options, &mut Watch(None))
}

/// [`discover`], with the stamps of every place it consulted and of every source found.
pub fn discover_watched(
    game_dir: &Path,
    user_dir: &Path,
    options: &DiscoverOptions,
) -> Result<(Discovery, Watched), Error> {
    let started_ns = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
    let mut w = Watch(Some(Watched {
        started_ns,
        places: Vec::new(),
    }));
    let d = discover_into(game_dir, user_dir, options, &mut w)?;
    for source in &d.sources {
        w.note(&source.path);
    }
    Ok((d, w.0.unwrap_or_default()))
}

fn discover_into(
    game_dir: &Path,
    user_dir: &Path,
    options: &DiscoverOptions,
    w: &mut Watch,
) -> Result<Discovery, Error> {
    w.note(game_dir);
    if !game_dir.is_dir() {
        return Err(Error::InvalidArg(format!(
            "game folder {} is not a folder",
            game_dir.display()
        )));
    }
    let mut d = Discovery::default();

    // The module first: its HAK list ranks highest.
    let module = options
        .module
        .as_deref()
        .and_then(|name| find_module(game_dir, user_dir, name, &mut d, w));
    if let Some(module) = &module {
        // Each hak folder is looked up once for the whole list.
        let hak_dirs = [user_dir, game_dir]
            .map(|base| child_dir(base, "hak", w).unwrap_or_else(|| base.join("hak")));
        for hak in &module.haks.haks {
            add_hak(&hak_dirs, hak, &mut d, w);
        }
    }
    if let Some(dir) = child_dir(user_dir, "override", w) {
        push(
            &mut d,
            dir,
            SourceKind::Dir,
            "override (user)".into(),
            None,
            IconScope::None,
        );
    }
    for root in &options.workshop_dirs {
        add_workshop(root, &mut d, w);
    }
    if let Some(dir) = child_dir(game_dir, "override", w) {
        push(
            &mut d,
            dir,
            SourceKind::Dir,
            "override (install)".into(),
            None,
            IconScope::None,
        );
    }
    if let Some(name) = options.campaign.as_deref() {
        add_campaign(game_dir, user_dir, name, &mut d, w);
    }
    if let Some(module) = &module {
        let path = &module.haks.path;
        let kind = if module.is_dir {
            SourceKind::Dir
        } else {
            SourceKind::of_path(path)
        };
        let label = format!("module/{}", file_label(path));
        let entries = if kind == SourceKind::Erf {
            module.entries.or_else(|| erf_entry_count(path, w))
        } else {
            None
        };
        push(&mut d, path.clone(), kind, label, entries, IconScope::None);
    }
    match child_dir(game_dir, "Data", w) {
        Some(data) => add_data_zips(&data, &mut d, w),
        None => d
            .warnings
            .push(format!("no Data folder in {}", game_dir.display())),
    }
    let ui = child_dir(game_dir, "UI", w);
    for (name, label) in [("upscaled", "ui/upscaled"), ("default", "ui/default")] {
        if let Some(dir) = ui.as_deref().and_then(|ui| child_dir(ui, name, w)) {
            let (kind, label) = (SourceKind::Dir, label.into());
            push(&mut d, dir, kind, label, None, IconScope::IconDirs);
        }
    }
    d.module = module.map(|m| m.haks);
    Ok(d)
}

/// Adds a source (`entries`: the entry count of an ERF archive).
fn push(
    d: &mut Discovery,
    path: PathBuf,
    kind: SourceKind,
    label: String,
    entries: Option<u32>,
    icons: IconScope,
) {
    d.found.push(Found {
        label: label.clone(),
        kind,
        path: path.clone(),
        entries,
    });
    d.sources.push(SourceSpec {
        path,
        kind: Some(kind),
        label: Some(label),
        icons,
    });
}

/// The entry count of an ERF header (bytes 16..20), read without sizing the file.
fn erf_entry_count(path: &Path, w: &mut Watch) -> Option<u32> {
    w.note(path);
    let mut head = [0u8; 20];
    std::fs::File::open(path).ok()?.read_exact(&mut head).ok()?;
    Some(u32::from_le_bytes([head[16], head[17], head[18], head[19]]))
}

/// Whether a listed entry is a folder (`dir`) or a file, from the listing's file type where it
/// is not a link (no extra `stat`), else following the link.
fn entry_is(e: &std::fs::DirEntry, dir: bool) -> bool {
    match e.file_type() {
        Ok(t) if !t.is_symlink() => {
            if dir {
                t.is_dir()
            } else {
                t.is_file()
            }
        }
        _ => {
            let p = e.path();
            if dir { p.is_dir() } else { p.is_file() }
        }
    }
}

fn file_label(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// An existing path and whether it is a folder (links followed), from one `stat`.
struct Child {
    /// The path.
    path: PathBuf,
    /// Whether it is a folder.
    is_dir: bool,
}

/// The child of `dir` named `name`, compared case-insensitively (an exact match first).
fn child_ci(dir: &Path, name: &str, w: &mut Watch) -> Option<Child> {
    w.note(dir);
    let exact = dir.join(name);
    if let Ok(meta) = std::fs::metadata(&exact) {
        return Some(Child {
            path: exact,
            is_dir: meta.is_dir(),
        });
    }
    let mut matches: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
        .map(|e| e.path())
        .collect();
    matches.sort();
    let path = matches.into_iter().next()?;
    let meta = std::fs::metadata(&path).ok()?;
    Some(Child {
        path,
        is_dir: meta.is_dir(),
    })
}

/// The folder of `dir` named `name` (case-insensitively), if that child is a folder.
fn child_dir(dir: &Path, name: &str, w: &mut Watch) -> Option<PathBuf> {
    child_ci(dir, name, w).filter(|c| c.is_dir).map(|c| c.path)
}

/// `rel` (`/` or `\\` separated) under `dir`, each component matched case-insensitively; `None`
/// for a path that would leave `dir` (`..`, absolute) or does not exist.
fn path_ci(dir: &Path, rel: &str, w: &mut Watch) -> Option<Child> {
    let mut at = Child {
        path: dir.to_path_buf(),
        is_dir: true,
    };
    for part in rel.split(['/', '\\']).filter(|p| !p.is_empty()) {
        if matches!(
            Path::new(part).components().next(),
            Some(Component::ParentDir | Component::RootDir | Component::Prefix(_))
                | Some(Component::CurDir)
        ) {
            return None;
        }
        if !at.is_dir {
            return None;
        }
        at = child_ci(&at.path, part, w)?;
    }
    Some(at)
}

fn is_safe_relative(name: &str) -> bool {
    !name.is_empty()
        && !Path::new(name).is_absolute()
        && name
            .split(['/', '\\'])
            .all(|p| p != ".." && p != "." && !p.contains(':'))
}

/// The module found, with what its lookup already read (so nothing is read twice).
struct FoundModule {
    /// Its path and HAK list.
    haks: ModuleHaks,
    /// Whether it is an unpacked folder.
    is_dir: bool,
    /// The entry count of a `.mod` file whose HAK list was read.
    entries: Option<u32>,
}

fn find_module(
    game_dir: &Path,
    user_dir: &Path,
    name: &str,
    d: &mut Discovery,
    w: &mut Watch,
) -> Option<FoundModule> {
    let given = Path::new(name);
    let mut searched = Vec::new();
    let found = if given.is_absolute() || name.contains(['/', '\\']) {
        searched.push(given.to_path_buf());
        w.note(given);
        std::fs::metadata(given).ok().map(|meta| Child {
            path: given.to_path_buf(),
            is_dir: meta.is_dir(),
        })
    } else if !is_safe_relative(name) {
        d.warnings
            .push(format!("module name {name:?} is not a plain name"));
        None
    } else {
        let file = if name.to_ascii_lowercase().ends_with(".mod") {
            name.to_string()
        } else {
            format!("{name}.mod")
        };
        let bare = name.trim_end_matches(".mod").trim_end_matches(".MOD");
        let mut hit = None;
        for base in [user_dir, game_dir] {
            let Some(modules) = child_dir(base, "modules", w) else {
                searched.push(base.join("modules").join(&file));
                continue;
            };
            for candidate in [file.as_str(), bare] {
                searched.push(modules.join(candidate));
                if let Some(p) = path_ci(&modules, candidate, w) {
                    hit = Some(p);
                    break;
                }
            }
            if hit.is_some() {
                break;
            }
        }
        hit
    };
    let Some(Child { path, is_dir }) = found else {
        d.missing.push(Missing {
            what: format!("module {name}"),
            searched,
        });
        return None;
    };
    let (haks, entries) = match module_haks(&path, is_dir, w) {
        Ok(read) => read,
        Err(e) => {
            d.warnings
                .push(format!("module {}: HAK list not read: {e}", path.display()));
            (Vec::new(), None)
        }
    };
    Some(FoundModule {
        haks: ModuleHaks { path, haks },
        is_dir,
        entries,
    })
}

/// The HAK list of a `.mod` file or module folder.
pub fn read_module_haks(path: &Path) -> Result<Vec<String>, Error> {
    module_haks(path, path.is_dir(), &mut Watch(None)).map(|(haks, _)| haks)
}

/// The HAK list of a module folder (`is_dir`) or `.mod` file, and the file's ERF entry count.
fn module_haks(
    path: &Path,
    is_dir: bool,
    w: &mut Watch,
) -> Result<(Vec<String>, Option<u32>), Error> {
    let label = path.display().to_string();
    let mut entries = None;
    w.note(path);
    let ifo = if is_dir {
        let Some(file) = child_ci(path, "module.ifo", w).map(|c| c.path) else {
            return Err(Error::format(
                &label,
                0,
                "a module.ifo file in the module folder",
            ));
        };
        w.note(&file);
        let f = FileAt::open(&file)?;
        if crate::io::ReadAt::len(&f) > MAX_MODULE_IFO {
            return Err(Error::limit(
                &label,
                format!("module.ifo above {MAX_MODULE_IFO} bytes"),
            ));
        }
        f.read_range(0, crate::io::ReadAt::len(&f))?
    } else {
        let file = FileAt::open(path)?;
        let erf = Erf::parse(&file, &label)?;
        entries = Some(erf.header.entry_count);
        let key = ResKey {
            resref: ResRef::new(b"module").map_err(|p| Error::Internal(p.to_string()))?,
            res_type: ResType::IFO,
        };
        let entry = erf.entries.iter().find(|e| e.key == key).ok_or_else(|| {
            Error::format(
                &label,
                u64::from(erf.header.offset_to_keys),
                "a module.ifo key",
            )
        })?;
        if u64::from(entry.size) > MAX_MODULE_IFO {
            return Err(Error::limit(
                &label,
                format!("module.ifo above {MAX_MODULE_IFO} bytes"),
            ));
        }
        erf.read(&file, entry, &label)?
    };
    let haks = crate::gff::hak_list(&ifo, &format!("{label}:module.ifo"))?;
    Ok((haks, entries))
}

/// Adds HAK `name` from the first of `hak_dirs` (user, then install) holding it.
fn add_hak(hak_dirs: &[PathBuf; 2], name: &str, d: &mut Discovery, w: &mut Watch) {
    let file = if name.to_ascii_lowercase().ends_with(".hak") {
        name.to_string()
    } else {
        format!("{name}.hak")
    };
    if !is_safe_relative(&file) {
        d.warnings
            .push(format!("HAK name {name:?} leaves the hak folder; skipped"));
        d.missing.push(Missing {
            what: format!("hak {name}"),
            searched: Vec::new(),
        });
        return;
    }
    let mut searched = Vec::new();
    for hak_dir in hak_dirs {
        searched.push(hak_dir.join(file.replace('\\', "/")));
        if let Some(hak) = path_ci(hak_dir, &file, w).filter(|c| !c.is_dir) {
            let entries = erf_entry_count(&hak.path, w);
            let label = format!("hak/{name}");
            push(
                d,
                hak.path,
                SourceKind::Erf,
                label,
                entries,
                IconScope::None,
            );
            return;
        }
    }
    d.missing.push(Missing {
        what: format!("hak {name}"),
        searched,
    });
}

fn add_workshop(root: &Path, d: &mut Discovery, w: &mut Watch) {
    w.note(root);
    let Ok(items) = std::fs::read_dir(root) else {
        d.missing.push(Missing {
            what: "workshop folder".into(),
            searched: vec![root.to_path_buf()],
        });
        return;
    };
    let mut items: Vec<(Option<u64>, String, PathBuf)> = items
        .flatten()
        .filter(|e| entry_is(e, true))
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            (name.parse::<u64>().ok(), name, e.path())
        })
        .collect();
    // Numeric ids ascending (lower id ranks higher), other names after them by name.
    items.sort_by(|a, b| match (a.0, b.0) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.1.cmp(&b.1),
    });
    let mut added = 0;
    for (_, name, path) in items {
        if let Some(dir) = child_dir(&path, "override", w) {
            let label = format!("workshop/{name}");
            push(d, dir, SourceKind::Dir, label, None, IconScope::None);
            added += 1;
        }
    }
    if added > 1 {
        d.warnings.push(format!(
            "{}: the engine's order of Workshop items is unknown; lower item ids rank higher here",
            root.display()
        ));
    }
}

fn add_campaign(game_dir: &Path, user_dir: &Path, name: &str, d: &mut Discovery, w: &mut Watch) {
    let given = Path::new(name);
    let mut searched = Vec::new();
    let found = if given.is_absolute() {
        searched.push(given.to_path_buf());
        w.note(given);
        given.is_dir().then(|| given.to_path_buf())
    } else if is_safe_relative(name) {
        let mut hit = None;
        for (base, folder) in [(user_dir, "campaigns"), (game_dir, "Campaigns")] {
            let dir = child_dir(base, folder, w).unwrap_or_else(|| base.join(folder));
            searched.push(dir.join(name));
            if let Some(c) = path_ci(&dir, name, w).filter(|c| c.is_dir) {
                hit = Some(c.path);
                break;
            }
        }
        hit
    } else {
        None
    };
    match found {
        Some(dir) => push(
            d,
            dir,
            SourceKind::Dir,
            format!("campaign/{name}"),
            None,
            IconScope::None,
        ),
        None => d.missing.push(Missing {
            what: format!("campaign {name}"),
            searched,
        }),
    }
}

/// The tier of a Data zip: base < x1 < x2 < patch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ZipTier {
    /// A base-game archive (`2da.zip`).
    Base,
    /// Mask of the Betrayer (`2da_x1.zip`).
    X1,
    /// Storm of Zehir (`2da_x2.zip`).
    X2,
    /// A patch (`nwn2_models_v121.zip`, `actors_v103x1.zip`, `vo_106.zip`).
    Patch,
}

/// The rank of a Data zip name: (tier, expansion level, version). Higher ranks win.
pub fn data_zip_rank(file_name: &str) -> (ZipTier, u8, u32) {
    let stem = file_name.to_ascii_lowercase();
    let stem = stem.strip_suffix(".zip").unwrap_or(&stem);
    let mut level = 0u8;
    let mut version = None;
    for token in stem.split('_').skip(1) {
        match token {
            "x1" => level = level.max(1),
            "x2" => level = level.max(2),
            _ => {
                let digits_from = usize::from(token.starts_with('v'));
                let rest = token.get(digits_from..).unwrap_or_default();
                let n_digits = rest.bytes().take_while(u8::is_ascii_digit).count();
                let (digits, suffix) = rest.split_at(n_digits);
                let suffix_level = match suffix {
                    "" => Some(0),
                    "x1" => Some(1),
                    "x2" => Some(2),
                    _ => None,
                };
                if let (false, Some(l), Ok(v)) =
                    (digits.is_empty(), suffix_level, digits.parse::<u32>())
                {
                    version = Some(v);
                    level = level.max(l);
                }
            }
        }
    }
    match (version, level) {
        (Some(v), l) => (ZipTier::Patch, l, v),
        (None, 2) => (ZipTier::X2, 2, 0),
        (None, 1) => (ZipTier::X1, 1, 0),
        (None, _) => (ZipTier::Base, 0, 0),
    }
}

fn add_data_zips(data: &Path, d: &mut Discovery, w: &mut Watch) {
    w.note(data);
    let Ok(entries) = std::fs::read_dir(data) else {
        d.warnings.push(format!("{}: not readable", data.display()));
        return;
    };
    let mut zips: Vec<(String, PathBuf)> = entries
        .flatten()
        .filter(|e| entry_is(e, false))
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_string();
            name.to_ascii_lowercase()
                .ends_with(".zip")
                .then(|| (name, e.path()))
        })
        .collect();
    // Highest first: patch tier (expansion level, then version, descending), then x2, x1, base
    // (each by name).
    zips.sort_by(|a, b| {
        let (ra, rb) = (data_zip_rank(&a.0), data_zip_rank(&b.0));
        rb.0.cmp(&ra.0)
            .then(match ra.0 {
                ZipTier::Patch => (rb.1, rb.2).cmp(&(ra.1, ra.2)),
                _ => std::cmp::Ordering::Equal,
            })
            .then_with(|| a.0.to_ascii_lowercase().cmp(&b.0.to_ascii_lowercase()))
    });
    for (name, path) in zips {
        push(
            d,
            path,
            SourceKind::Zip,
            format!("data/{name}"),
            None,
            IconScope::None,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_is_found_by_the_same_bytes_or_by_an_equal_path() {
        let file = Stamp::File {
            size: 3,
            mtime_ns: 7,
        };
        let folder = Stamp::Dir { mtime_ns: 9 };
        let watched = Watched {
            started_ns: 0,
            places: vec![
                (PathBuf::from("/game/Data"), folder),
                (PathBuf::from("/game/Data/2da.zip"), file),
            ],
        };
        assert_eq!(watched.stamp(Path::new("/game/Data/2da.zip")), Some(file));
        assert_eq!(watched.stamp(Path::new("/game//Data/")), Some(folder));
        assert_eq!(watched.stamp(Path::new("/game/data")), None);
    }

    #[test]
    fn data_zip_tiers() {
        assert_eq!(data_zip_rank("2da.zip"), (ZipTier::Base, 0, 0));
        assert_eq!(data_zip_rank("nwn2_models.zip"), (ZipTier::Base, 0, 0));
        assert_eq!(data_zip_rank("2da_x1.zip"), (ZipTier::X1, 1, 0));
        assert_eq!(data_zip_rank("Templates_X2.zip"), (ZipTier::X2, 2, 0));
        assert_eq!(
            data_zip_rank("nwn2_models_v121.zip"),
            (ZipTier::Patch, 0, 121)
        );
        assert_eq!(data_zip_rank("actors_v103x1.zip"), (ZipTier::Patch, 1, 103));
        assert_eq!(
            data_zip_rank("nwn2_materials_x1_v121.zip"),
            (ZipTier::Patch, 1, 121)
        );
        assert_eq!(data_zip_rank("vo_106.zip"), (ZipTier::Patch, 0, 106));
        assert_eq!(data_zip_rank("lod-merged.zip"), (ZipTier::Base, 0, 0));
    }
}
