//! Analysing one mod without building (docs/overlay.md, "analyzeMod"): what it declares, its
//! WAD folders with file counts and bytes, its RAW files, its fingerprint, and, given a game
//! folder, where each WAD folder routes. Nothing is written.

use std::path::{Path, PathBuf};

use modforge_core::Control;

use crate::error::Result;
use crate::game;
use crate::hash::{archive_fingerprint, mod_key};
use crate::meter::Meter;
use crate::mods::{self, LayerInfo, ModKind, ModSpec};
use crate::plan::{ModInput, Resolution, Resolver};
use crate::report::Warning;

/// Options of [`analyze_mod`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AnalyzeOptions {
    /// A game folder to resolve WAD folders against.
    pub game_dir: Option<PathBuf>,
    /// Active layers (`None` = all; `base` always).
    pub layers: Option<Vec<String>>,
}

/// One WAD folder (or packed WAD) of an active layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WadSummary {
    /// The name as the mod wrote it.
    pub name: String,
    /// Its layer.
    pub layer: String,
    /// Overrides in it.
    pub files: u64,
    /// Their uncompressed bytes.
    pub bytes: u64,
    /// The game WAD it resolves to (with a game folder).
    pub routed_to: Option<String>,
    /// How it resolved (with a game folder).
    pub routing: Option<Resolution>,
}

/// RAW files.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RawSummary {
    /// Files.
    pub files: u64,
    /// Uncompressed bytes.
    pub bytes: u64,
}

/// What [`analyze_mod`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModAnalysis {
    /// The container.
    pub kind: ModKind,
    /// The mod's name.
    pub name: String,
    /// Its version.
    pub version: Option<String>,
    /// Every layer in apply order.
    pub layers: Vec<LayerInfo>,
    /// WAD folders of the active layers, in apply order.
    pub wads: Vec<WadSummary>,
    /// RAW files.
    pub raw: RawSummary,
    /// The mod fingerprint (stat only).
    pub fingerprint: u64,
    /// The mod key for these layers.
    pub key: u64,
    /// Warnings.
    pub warnings: Vec<Warning>,
}

/// Analyses the mod at `path`.
pub fn analyze_mod(
    path: &Path,
    options: &AnalyzeOptions,
    control: &Control<'_>,
) -> Result<ModAnalysis> {
    let meter = Meter::default();
    let kind = mods::detect_kind(path)?;
    let meta = match kind {
        ModKind::Folder => {
            let scan = mods::scan_folder(path)?;
            mods::collect_folder(&scan, &[], &meter, control)?
        }
        ModKind::Fantome | ModKind::Modpkg => {
            let m = std::fs::metadata(path).map_err(|e| crate::Error::io("stat", path, e))?;
            let (size, mtime) = crate::io::size_and_mtime(&m);
            let fp = archive_fingerprint(size, mtime);
            if kind == ModKind::Fantome {
                mods::collect_fantome(path, fp, None, &meter, control)?
            } else {
                mods::collect_modpkg(path, fp, &meter)?
            }
        }
    };
    let spec = ModSpec {
        id: meta.info.name.clone(),
        path: path.to_path_buf(),
        layers: options.layers.clone(),
    };
    let input = ModInput {
        spec: &spec,
        meta: &meta,
    };
    let index = match &options.game_dir {
        Some(dir) => {
            let (wads, fp) = game::list_game_wads(dir)?;
            Some(game::build_index(dir, &wads, fp, control)?.0)
        }
        None => None,
    };
    let mut resolver = index.as_ref().map(Resolver::new);
    let mut wads = Vec::new();
    let mut raw = RawSummary::default();
    let mut warnings = meta.warnings.clone();
    for (d, dir) in meta.dirs.iter().enumerate() {
        let Some(layer) = meta.info.layers.get(usize::from(dir.layer)) else {
            continue;
        };
        if !spec.layer_active(&layer.name) {
            continue;
        }
        let items = meta.items.iter().filter(|it| it.dir == Some(d as u32));
        let (files, bytes) = items.fold((0, 0), |(f, b), it| (f + 1, b + it.size));
        let (routed_to, routing) = match (&mut resolver, &index) {
            (Some(r), Some(index)) => {
                let t = r.dir(0, &input, d as u32, &spec.id);
                let key = t
                    .wad
                    .and_then(|w| index.wads().get(usize::from(w)))
                    .map(|w| w.key.clone());
                (key, Some(t.how))
            }
            _ => (None, None),
        };
        wads.push(WadSummary {
            name: dir.raw_name.clone(),
            layer: layer.name.clone(),
            files,
            bytes,
            routed_to,
            routing,
        });
    }
    for it in meta.items.iter().filter(|it| it.dir.is_none()) {
        raw.files += 1;
        raw.bytes += it.size;
    }
    if let Some(r) = resolver {
        warnings.extend(r.warnings);
    }
    Ok(ModAnalysis {
        kind,
        name: meta.info.name.clone(),
        version: meta.info.version.clone(),
        layers: meta.info.layers.clone(),
        wads,
        raw,
        fingerprint: meta.fingerprint,
        key: mod_key(meta.fingerprint, options.layers.as_deref()),
        warnings,
    })
}
