//! JavaScript shapes of the resource index's values: sources, locations, discoveries, name
//! problems and build failures (docs/icons.md, "Node API").

use std::path::PathBuf;

use modforge_icons as icons;
use napi::bindgen_prelude::Either;
use napi_derive::napi;

use crate::runtime::NodeError;
use crate::store::display;

/// What a source is.
#[napi(string_enum = "lowercase")]
pub enum SourceKind {
    /// A folder, indexed recursively.
    Dir,
    /// A ZIP archive (`Data/*.zip`).
    Zip,
    /// An ERF-family archive (`.erf`, `.hak`, `.mod`, `.sav`, `.nwm`).
    Erf,
}

impl From<icons::SourceKind> for SourceKind {
    fn from(kind: icons::SourceKind) -> Self {
        match kind {
            icons::SourceKind::Dir => SourceKind::Dir,
            icons::SourceKind::Zip => SourceKind::Zip,
            icons::SourceKind::Erf => SourceKind::Erf,
        }
    }
}

impl From<SourceKind> for icons::SourceKind {
    fn from(kind: SourceKind) -> Self {
        match kind {
            SourceKind::Dir => icons::SourceKind::Dir,
            SourceKind::Zip => icons::SourceKind::Zip,
            SourceKind::Erf => icons::SourceKind::Erf,
        }
    }
}

/// One source of an ordered list (highest priority first).
#[napi(object)]
pub struct SourceSpec {
    /// The folder or archive.
    pub path: String,
    /// Its kind; default from the extension (`.zip`; `.erf`/`.hak`/`.mod`/`.sav`/`.nwm`; else a folder).
    pub kind: Option<SourceKind>,
    /// Label shown in locations and icons (default: the path).
    pub label: Option<String>,
    /// Which of its images form the icon set: `true` every image, `'iconDirs'` those under a
    /// folder named in `iconDirs`, `false` none (default).
    #[napi(ts_type = "boolean | 'iconDirs'")]
    pub icons: Option<Either<bool, String>>,
}

impl SourceSpec {
    /// The crate's source spec.
    pub fn resolve(self) -> Result<icons::SourceSpec, NodeError> {
        let icons = match self.icons {
            None | Some(Either::A(false)) => icons::IconScope::None,
            Some(Either::A(true)) => icons::IconScope::All,
            Some(Either::B(text)) if text == "iconDirs" => icons::IconScope::IconDirs,
            Some(Either::B(text)) => {
                return Err(NodeError::InvalidArg(format!(
                    "source icons must be true, false or 'iconDirs', got {text:?}"
                )));
            }
        };
        Ok(icons::SourceSpec {
            path: PathBuf::from(self.path),
            kind: self.kind.map(Into::into),
            label: self.label,
            icons,
        })
    }
}

impl From<&icons::SourceSpec> for SourceSpec {
    fn from(spec: &icons::SourceSpec) -> Self {
        SourceSpec {
            path: display(&spec.path),
            kind: Some(spec.resolved_kind().into()),
            label: Some(spec.resolved_label()),
            icons: Some(match spec.icons {
                icons::IconScope::None => Either::A(false),
                icons::IconScope::All => Either::A(true),
                icons::IconScope::IconDirs => Either::B("iconDirs".to_owned()),
            }),
        }
    }
}

/// Converts a JavaScript source list.
pub fn resolve_sources(sources: Vec<SourceSpec>) -> Result<Vec<icons::SourceSpec>, NodeError> {
    sources.into_iter().map(SourceSpec::resolve).collect()
}

/// One place a resource is stored.
#[napi(object, use_nullable = true, object_from_js = false)]
pub struct Location {
    /// The source's label.
    pub source: String,
    /// The source's kind.
    pub kind: SourceKind,
    /// The source's path.
    pub path: String,
    /// The entry: relative path (folders), entry name (ZIP) or `resref.ext` (ERF).
    pub entry: String,
    /// Data offset inside an ERF archive.
    pub offset: Option<f64>,
    /// Size in bytes.
    pub size: f64,
    /// The resref (lower case).
    pub name: String,
    /// The resource type id (3 tga, 2033 dds, 2110 png, ...).
    #[napi(js_name = "type")]
    pub res_type: u32,
    /// The type's extension.
    pub ext: String,
    /// Whether this location wins for its name and type.
    pub winner: bool,
}

impl From<&icons::Location> for Location {
    fn from(location: &icons::Location) -> Self {
        Location {
            source: location.source.clone(),
            kind: location.kind.into(),
            path: display(&location.path),
            entry: location.entry.clone(),
            offset: location.offset.map(|offset| offset as f64),
            size: location.size as f64,
            name: location.resref.as_str().to_owned(),
            res_type: u32::from(location.res_type.0),
            ext: location.ext.clone(),
            winner: location.winner,
        }
    }
}

/// Converts a list of locations.
pub fn locations(list: &[icons::Location]) -> Vec<Location> {
    list.iter().map(Location::from).collect()
}

/// A name that was not indexed.
#[napi(object, object_from_js = false)]
pub struct SkippedName {
    /// The source's label.
    pub source: String,
    /// The file or entry name.
    pub name: String,
    /// Why (`empty name`, `name of 33 bytes (at most 32)`, ...).
    pub problem: String,
}

impl From<&icons::SkippedName> for SkippedName {
    fn from(skipped: &icons::SkippedName) -> Self {
        SkippedName {
            source: skipped.source.clone(),
            name: skipped.name.clone(),
            problem: skipped.problem.to_string(),
        }
    }
}

/// The stable JavaScript code of an error category name of the crate's reports.
pub fn error_code(category: &str) -> String {
    match category {
        "io" => "ERR_MODFORGE_IO",
        "format" => "ERR_MODFORGE_FORMAT",
        "corrupt" => "ERR_MODFORGE_CORRUPT",
        "invalid-arg" => "ERR_MODFORGE_INVALID_ARG",
        "limit" => "ERR_MODFORGE_LIMIT",
        "aborted" => "ABORT_ERR",
        "missing" => "ERR_MODFORGE_MISSING",
        _ => "ERR_MODFORGE_INTERNAL",
    }
    .to_owned()
}

/// A source that was found.
#[napi(object, use_nullable = true, object_from_js = false)]
pub struct Found {
    /// The source's label.
    pub label: String,
    /// Its kind.
    pub kind: SourceKind,
    /// Its path.
    pub path: String,
    /// Entry count of ERF archives (from the header); `null` for folders and ZIPs.
    pub entries: Option<u32>,
}

/// Something looked for and not found.
#[napi(object, object_from_js = false)]
pub struct Missing {
    /// What (`hak <name>`, `module <name>`, `campaign <name>`).
    pub what: String,
    /// Every path tried.
    pub searched: Vec<String>,
}

/// The module and the HAKs it lists.
#[napi(object, object_from_js = false)]
pub struct ModuleHaks {
    /// The `.mod` file or module folder.
    pub path: String,
    /// `Mod_HakList` in list order, as written in the module.
    pub haks: Vec<String>,
}

/// What `discover` found, in precedence order.
#[napi(object, use_nullable = true, object_from_js = false)]
pub struct Discovery {
    /// The sources, highest priority first (give them to `ResourceIndex.open` or `IconCache.open`).
    pub sources: Vec<SourceSpec>,
    /// The places found, in the same order.
    pub found: Vec<Found>,
    /// What was looked for and not found (missing HAKs are listed here, never thrown).
    pub missing: Vec<Missing>,
    /// Notes (unknown Workshop order, unreadable module, ...).
    pub warnings: Vec<String>,
    /// The module, when one was found.
    pub module: Option<ModuleHaks>,
}

impl From<&icons::Discovery> for Discovery {
    fn from(found: &icons::Discovery) -> Self {
        Discovery {
            sources: found.sources.iter().map(SourceSpec::from).collect(),
            found: found
                .found
                .iter()
                .map(|f| Found {
                    label: f.label.clone(),
                    kind: f.kind.into(),
                    path: display(&f.path),
                    entries: f.entries,
                })
                .collect(),
            missing: found
                .missing
                .iter()
                .map(|m| Missing {
                    what: m.what.clone(),
                    searched: m.searched.iter().map(|p| display(p)).collect(),
                })
                .collect(),
            warnings: found.warnings.clone(),
            module: found.module.as_ref().map(|m| ModuleHaks {
                path: display(&m.path),
                haks: m.haks.clone(),
            }),
        }
    }
}

/// Where to look besides the fixed places of an install.
#[napi(object)]
pub struct DiscoverOptions {
    /// The module: a name (looked up in `<userDir>/modules` then `<gameDir>/modules`, as
    /// `<name>.mod` or a folder) or a path.
    pub module: Option<String>,
    /// The campaign: a name (looked up in `<userDir>/campaigns` then `<gameDir>/Campaigns`) or a path.
    pub campaign: Option<String>,
    /// Steam Workshop content roots, each holding one folder per item.
    pub workshop_dirs: Option<Vec<String>>,
}

impl DiscoverOptions {
    /// The crate's options.
    pub fn resolve(self) -> icons::DiscoverOptions {
        icons::DiscoverOptions {
            module: self.module,
            campaign: self.campaign,
            workshop_dirs: self
                .workshop_dirs
                .unwrap_or_default()
                .into_iter()
                .map(PathBuf::from)
                .collect(),
        }
    }
}

/// A resource type given by extension (`'tga'`) or id (`3`).
pub fn res_type(value: Either<String, u32>) -> Result<icons::ResType, NodeError> {
    match value {
        Either::A(ext) => icons::ResType::from_extension(ext.trim_start_matches('.'))
            .ok_or_else(|| NodeError::InvalidArg(format!("unknown resource type {ext:?}"))),
        Either::B(id) => u16::try_from(id)
            .map(icons::ResType)
            .map_err(|_| NodeError::InvalidArg(format!("resource type {id} is above 65535"))),
    }
}
