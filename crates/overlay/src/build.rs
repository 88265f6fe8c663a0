//! The two-pass overlay build (docs/overlay.md, "Two-pass pipeline", "State file"):
//!
//! 1. **fingerprint** (stat only): game WADs, every mod; decide skip / incremental / full. A
//!    skip reads no mod byte and loads no index: sweep, report, return.
//! 2. **index**: the slice of the game index saved by an earlier build, else the game index
//!    (loaded from the store when its fingerprint matches, else built from the TOCs).
//! 3. **collect** (pass 1): each mod from its cache or by reading it (mods in parallel).
//! 4. **route**: the slice when it answers for every path hash of the mods, else the index;
//!    merge, route, lazy filter, blocklist, per-WAD fingerprints; partition.
//! 5. **patch** (pass 2): prepare each winning override once, mark the rebuild set dirty in the
//!    state, write the WADs in parallel.
//! 6. **sweep**, final state (dirty marks cleared), conflicts report, caches.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use modforge_core::{Control, Progress, Stage};
use rayon::prelude::*;

use crate::cache::{self, Cached};
use crate::error::{Error, Result, label};
use crate::game::{self, GameIndex, GameWad, Memo, path_of};
use crate::hash::{archive_fingerprint, mod_key};
use crate::latch::Latch;
use crate::meter::Meter;
use crate::mods::{
    self, FolderScan, GameFacts, ModKind, ModMeta, ModSpec, OpenFile, Packed, Prepared, Source,
    SourceReader,
};
use crate::plan::{self, ItemRef, ModInput};
use crate::report::{Conflict, Warning, WarningCode};
use crate::state::{self, Hex, OverrideRecord, SourceRecord, State, StateOptions, WadLayoutRecord};
use crate::wad::{TocEntry, chunk_type, read_toc_from};
use crate::write::{self, Previous, SourceIdentity};

/// TOC slots reserved beyond a WAD's entries by default, so that adding entries keeps the data
/// region in place (ltk_overlay reserves 16384; the most new entries seen for one mod in one WAD
/// is about 1650). A multiple of 128 keeps the region 4 KiB-aligned relative to the source.
pub const DEFAULT_TOC_SLACK: u32 = 2048;

/// WADs written at once at least (their fdatasync waits overlap).
const WRITER_THREADS: usize = 8;

/// Build options. `Default` gives the documented defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildOptions {
    /// WAD file names never patched (case-insensitive), e.g. `scripts.wad.client`,
    /// `map22.wad.client`. Default: none.
    pub blocked_wads: Vec<String>,
    /// Ignore the state and rebuild everything. Default: false.
    pub force: bool,
    /// Worker threads; `None` = rayon's default (one per core).
    pub threads: Option<usize>,
    /// TOC slots reserved per WAD ([`DEFAULT_TOC_SLACK`]; 0 = none, as in the format vectors).
    pub toc_slack: u32,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            blocked_wads: Vec::new(),
            force: false,
            threads: None,
            toc_slack: DEFAULT_TOC_SLACK,
        }
    }
}

/// What to build.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildRequest {
    /// The game's `Game` folder (holding `DATA/FINAL`).
    pub game_dir: PathBuf,
    /// Where overlay WADs go (`<overlayDir>/DATA/FINAL/…`).
    pub overlay_dir: PathBuf,
    /// Where the state file, conflicts report and caches go.
    pub state_dir: PathBuf,
    /// Mods in priority order: index 0 wins.
    pub mods: Vec<ModSpec>,
    /// Options.
    pub options: BuildOptions,
}

/// Which way the build went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuildMode {
    /// Nothing changed: no WAD written, no mod byte read.
    Skip,
    /// Only WADs whose override set changed were rebuilt.
    Incremental,
    /// Everything was rebuilt.
    Full,
    /// No mods: the overlay was emptied.
    Empty,
}

impl BuildMode {
    /// `skip`, `incremental`, `full`, `empty`.
    pub fn as_str(self) -> &'static str {
        match self {
            BuildMode::Skip => "skip",
            BuildMode::Incremental => "incremental",
            BuildMode::Full => "full",
            BuildMode::Empty => "empty",
        }
    }
}

/// Byte and work counters of a build.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BuildStats {
    /// Mod bytes read, in all.
    pub mod_bytes_read: u64,
    /// Game bytes read (TOCs, chunks hashed for the lazy filter, regions copied).
    pub game_bytes_read: u64,
    /// Bytes written to overlay WADs.
    pub bytes_written: u64,
    /// Overrides this build compressed.
    pub overrides_compressed: u64,
    /// WAD regions copied in the kernel (`copy_file_range`).
    pub regions_kernel_copied: u64,
    /// WAD regions copied through a buffer.
    pub regions_buffer_copied: u64,
    /// WADs whose region came from a whole-file clone of the previous overlay WAD.
    pub regions_cloned: u64,
}

/// The outcome of a build.
#[derive(Clone, Debug, PartialEq)]
pub struct BuildResult {
    /// Game-relative keys of the WADs written, sorted.
    pub built: Vec<String>,
    /// Keys of the WADs kept from an earlier build, sorted.
    pub reused: Vec<String>,
    /// Whether the build was skipped.
    pub skipped: bool,
    /// Which way it went.
    pub mode: BuildMode,
    /// Conflicts (on a skip: those of the build that wrote the overlay).
    pub conflicts: Vec<Conflict>,
    /// Warnings (on a skip: those of the build that wrote the overlay).
    pub warnings: Vec<Warning>,
    /// Wall time in milliseconds.
    pub time_ms: f64,
    /// The most mod bytes held at once (read buffers and prepared overrides); 0 when none was read.
    pub peak_bytes_read: u64,
    /// Counters.
    pub stats: BuildStats,
}

/// Builds (or skips) the overlay. See the module documentation for the stages.
pub fn build_overlay(request: &BuildRequest, control: &Control<'_>) -> Result<BuildResult> {
    match request.options.threads {
        Some(n) => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(n.max(1))
                .build()
                .map_err(|e| Error::Internal(format!("thread pool: {e}")))?;
            pool.install(|| run(request, control))
        }
        None => run(request, control),
    }
}

/// The builder string recorded in the state; another value forces a full build.
pub fn builder_string(toc_slack: u32) -> String {
    format!(
        "modforge {}; zstd {}; level {}; toc slack {toc_slack}",
        env!("CARGO_PKG_VERSION"),
        zstd::zstd_safe::version_string(),
        crate::wad::OVERRIDE_ZSTD_LEVEL
    )
}

/// A mod after the fingerprint stage.
struct Probe {
    kind: ModKind,
    fingerprint: u64,
    key: u64,
    scan: Option<FolderScan>,
}

/// The fingerprint of one mod, from stats only. A folder mod whose stamps from an earlier build
/// still hold is not scanned; after a scan its stamps are saved for the next build (a cache: a
/// failure to save only costs that build a scan).
fn probe(spec: &ModSpec, state_dir: &Path) -> Result<Probe> {
    let kind = mods::detect_kind(&spec.path)?;
    let (fingerprint, scan) = match kind {
        ModKind::Folder => {
            let recorded = cache::load_tree(state_dir, &spec.id);
            match recorded.as_ref().filter(|s| s.hold(&spec.path)) {
                Some(stamps) => (stamps.fingerprint, None),
                None => {
                    let scan = mods::scan_folder(&spec.path)?;
                    if let Some(stamps) = &scan.stamps {
                        let _ = cache::save_tree(state_dir, &spec.id, stamps);
                    }
                    (scan.fingerprint, Some(scan))
                }
            }
        }
        _ => {
            let meta =
                std::fs::metadata(&spec.path).map_err(|e| Error::io("stat", &spec.path, e))?;
            let (size, mtime) = crate::io::size_and_mtime(&meta);
            (archive_fingerprint(size, mtime), None)
        }
    };
    Ok(Probe {
        kind,
        fingerprint,
        key: mod_key(fingerprint, spec.layers.as_deref()),
        scan,
    })
}

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

fn validate(request: &BuildRequest) -> Result<()> {
    let mut ids = HashSet::new();
    for m in &request.mods {
        if m.id.is_empty() {
            return Err(Error::InvalidArg("a mod id is empty".into()));
        }
        if !ids.insert(m.id.as_str()) {
            return Err(Error::InvalidArg(format!(
                "mod id {:?} is used twice",
                m.id
            )));
        }
    }
    let data = canonical(&request.overlay_dir).join("DATA");
    let game = canonical(&request.game_dir);
    let state = canonical(&request.state_dir);
    let nested = |a: &Path, b: &Path| a.starts_with(b) || b.starts_with(a);
    if nested(&data, &game.join("DATA")) || game.starts_with(&data) {
        return Err(Error::InvalidArg(format!(
            "overlayDir {} and gameDir {} overlap; the overlay's DATA folder is swept on every build",
            request.overlay_dir.display(),
            request.game_dir.display()
        )));
    }
    if state.starts_with(&data) {
        return Err(Error::InvalidArg(format!(
            "stateDir {} lies inside the overlay's DATA folder, which is swept on every build",
            request.state_dir.display()
        )));
    }
    Ok(())
}

fn normalised_blocked(names: &[String]) -> Vec<String> {
    let set: BTreeSet<String> = names
        .iter()
        .map(|n| n.trim().to_lowercase())
        .filter(|n| !n.is_empty())
        .collect();
    set.into_iter().collect()
}

/// Whether the state allows a skip: same builder, mods, keys, game, options, nothing dirty, and
/// every WAD file present with its recorded length.
fn can_skip(
    prev: &state::SkipView,
    request: &BuildRequest,
    probes: &[Probe],
    game_fp: u64,
    options: &StateOptions,
    builder: &str,
) -> bool {
    let ids: Vec<&str> = request.mods.iter().map(|m| m.id.as_str()).collect();
    if prev.format != state::STATE_FORMAT
        || prev.version != state::STATE_VERSION
        || prev.builder != builder
        || prev.mods.iter().map(String::as_str).ne(ids.iter().copied())
        || prev.game_fingerprint.0 != game_fp
        || &prev.options != options
        || !prev.dirty_wads.is_empty()
    {
        return false;
    }
    for (m, p) in request.mods.iter().zip(probes) {
        if prev.mod_fingerprints.get(&m.id).map(|h| h.0) != Some(p.key) {
            return false;
        }
    }
    prev.wad_fingerprints.keys().all(|key| {
        let Some(len) = prev.len_of(key) else {
            return false;
        };
        let key = key.replace('\\', "/");
        std::fs::metadata(path_of(&request.overlay_dir, &key))
            .is_ok_and(|m| m.is_file() && m.len() == len)
    })
}

struct Ctx<'a> {
    request: &'a BuildRequest,
    control: &'a Control<'a>,
    meter: Arc<Meter>,
    warnings: Vec<Warning>,
}

fn stats_of(meter: &Meter) -> (BuildStats, u64) {
    let (m, g, w, peak, c) = meter.totals();
    let (kernel, buffered, cloned) = meter.copies();
    (
        BuildStats {
            mod_bytes_read: m,
            game_bytes_read: g,
            bytes_written: w,
            overrides_compressed: c,
            regions_kernel_copied: kernel,
            regions_buffer_copied: buffered,
            regions_cloned: cloned,
        },
        if m == 0 { 0 } else { peak },
    )
}

fn run(request: &BuildRequest, control: &Control<'_>) -> Result<BuildResult> {
    let start = Instant::now();
    validate(request)?;
    let total_fp = request.mods.len() as u64 + 1;
    control.report(Progress::of(Stage::Fingerprint, 0, total_fp));
    let (game_wads, game_fp) = game::list_game_wads(&request.game_dir)?;
    let probes: Vec<Probe> = request
        .mods
        .par_iter()
        .map(|m| probe(m, &request.state_dir).map_err(|e| e.in_mod(&m.id)))
        .collect::<Result<_>>()?;
    control.report(Progress::of(Stage::Fingerprint, total_fp, total_fp));
    control.check()?;
    let options = StateOptions {
        blocked_wads: normalised_blocked(&request.options.blocked_wads),
    };
    let builder = builder_string(request.options.toc_slack);
    let view = if request.options.force || request.mods.is_empty() {
        None
    } else {
        state::load_skip_view(&request.state_dir)
    };
    let mut ctx = Ctx {
        request,
        control,
        meter: Arc::new(Meter::default()),
        warnings: Vec::new(),
    };
    let finish = |ctx: &Ctx<'_>,
                  mode: BuildMode,
                  built: Vec<String>,
                  reused: Vec<String>,
                  conflicts: Vec<Conflict>,
                  warnings: Vec<Warning>| {
        let (stats, peak) = stats_of(&ctx.meter);
        control.report(Progress::of(Stage::Done, 1, 1));
        BuildResult {
            built,
            reused,
            skipped: mode == BuildMode::Skip,
            mode,
            conflicts,
            warnings,
            time_ms: start.elapsed().as_secs_f64() * 1000.0,
            peak_bytes_read: peak,
            stats,
        }
    };

    if request.mods.is_empty() {
        let data = request.overlay_dir.join("DATA");
        if data.exists() {
            std::fs::remove_dir_all(&data).map_err(|e| Error::io("rmdir", &data, e))?;
        }
        let empty = empty_state(builder, game_fp, options);
        state::save(&request.state_dir, &empty)?;
        save_conflicts(&mut ctx, &[]);
        let warnings = std::mem::take(&mut ctx.warnings);
        return Ok(finish(
            &ctx,
            BuildMode::Empty,
            Vec::new(),
            Vec::new(),
            Vec::new(),
            warnings,
        ));
    }

    if let Some(v) = &view {
        if can_skip(v, request, &probes, game_fp, &options, &builder) {
            control.report(Progress::of(Stage::Sweep, 0, 1));
            let keep: HashSet<String> = v
                .wad_fingerprints
                .keys()
                .map(|k| k.replace('\\', "/").to_lowercase())
                .collect();
            crate::sweep::sweep(&request.overlay_dir, &keep, control)?;
            let (conflicts, warnings) = state::load_conflicts(&request.state_dir);
            let reused = v
                .wad_fingerprints
                .keys()
                .map(|k| k.replace('\\', "/"))
                .collect();
            return Ok(finish(
                &ctx,
                BuildMode::Skip,
                Vec::new(),
                reused,
                conflicts,
                warnings,
            ));
        }
    }
    drop(view);
    let prev = state::load(&request.state_dir).filter(|s| {
        s.format == state::STATE_FORMAT && s.version == state::STATE_VERSION && s.builder == builder
    });
    let full = request.options.force
        || prev
            .as_ref()
            .is_none_or(|p| p.game_fingerprint.0 != game_fp);
    let prev = if full { None } else { prev };

    // Stage: index. The slice an earlier build saved stands in for the index until a mod asks
    // about a hash it cannot answer for (docs/overlay.md, "Game slice").
    control.report(Progress::of(Stage::Index, 0, game_wads.len() as u64));
    let saver = Saver::new(request.state_dir.clone());
    let slice = game::load_slice(&request.state_dir, game_fp);
    let whole = match slice {
        Some(_) => None,
        None => Some(load_or_build_index(&mut ctx, &game_wads, game_fp, &saver)?),
    };
    control.report(Progress::of(
        Stage::Index,
        game_wads.len() as u64,
        game_wads.len() as u64,
    ));
    let mut memo = game::load_memo(&request.state_dir, game_fp);

    // Stage: collect (pass 1).
    let mod_keys: Vec<u64> = probes.iter().map(|p| p.key).collect();
    let loaded = std::sync::OnceLock::new();
    if let Some(index) = whole {
        let _ = loaded.set(Some(index));
    }
    let facts = Facts {
        slice: slice.as_ref(),
        whole: loaded,
        state_dir: &request.state_dir,
        game_fp,
        memo: &memo,
    };
    let metas = collect_all(&mut ctx, probes, &facts, &saver)?;
    let whole = facts.whole.into_inner().flatten();
    let inputs: Vec<ModInput<'_>> = request
        .mods
        .iter()
        .zip(&metas)
        .map(|(spec, meta)| ModInput { spec, meta })
        .collect();
    let asked = asked_hashes(&metas);
    // Whether routing runs on the slice (else on the full index, whose slice for these hashes is
    // saved once routing is done).
    let (index, from_slice) = match (slice, whole) {
        (Some(slice), _) if slice.covers(&asked) => (slice.into_index(), true),
        (_, Some(index)) => (index, false),
        (_, None) => (
            load_or_build_index(&mut ctx, &game_wads, game_fp, &saver)?,
            false,
        ),
    };

    // Stage: route.
    control.report(Progress::of(Stage::Route, 0, 3));
    let merged = plan::merge_and_route(&inputs, &index);
    control.report(Progress::of(Stage::Route, 1, 3));
    let needs = plan::memo_needs(&merged, &inputs, &index);
    game::fill_memo(
        &request.game_dir,
        &index,
        &mut memo,
        &needs,
        &ctx.meter,
        control,
    )?;
    control.report(Progress::of(Stage::Route, 2, 3));
    let blocked: HashSet<String> = options.blocked_wads.iter().cloned().collect();
    let planned = plan::finish(merged, &inputs, &index, &memo, &blocked);
    control.report(Progress::of(Stage::Route, 3, 3));
    ctx.warnings.extend(planned.warnings.iter().cloned());

    let key_of_wad = |w: u16| index.wads()[usize::from(w)].key.clone();
    let wad_keys: BTreeMap<u16, String> =
        planned.wads.keys().map(|w| (*w, key_of_wad(*w))).collect();
    saver.send(if from_slice {
        SaveJob::Free(Box::new(index))
    } else {
        SaveJob::Slice {
            index: Box::new(index),
            asked,
        }
    });

    // Partition. Each previous overlay WAD is checked once (one stat): `lift` asks about every
    // WAD for every override it looks for.
    let previous_valid: HashMap<&str, &WadLayoutRecord> = wad_keys
        .values()
        .filter_map(|key| {
            let p = prev.as_ref()?;
            if p.is_dirty(key) {
                return None;
            }
            let layout = p.layout(key)?;
            std::fs::metadata(path_of(&request.overlay_dir, key))
                .ok()
                .filter(|m| m.is_file() && m.len() == layout.len)
                .map(|_| (key.as_str(), layout))
        })
        .collect();
    let valid_previous = |key: &str| previous_valid.get(key).copied();
    let mut rebuild: BTreeSet<u16> = BTreeSet::new();
    for (w, key) in &wad_keys {
        let fp = planned.fingerprints.get(w).copied().unwrap_or(0);
        let same = prev.as_ref().and_then(|p| p.wad_fingerprint(key)) == Some(fp);
        if !(same && valid_previous(key).is_some()) {
            rebuild.insert(*w);
        }
    }

    // Pass 2: prepare every needed override once (and widen the rebuild set until every WAD
    // sharing an override holds the same packed bytes).
    let mut reps: HashMap<u64, Arc<Rep>> = HashMap::new();
    let mut lift_cache = Lifts::default();
    let mut prepared_content: HashMap<u64, Arc<Rep>> = HashMap::new();
    loop {
        let needed: BTreeSet<u64> = rebuild
            .iter()
            .flat_map(|w| planned.wads[w].iter().map(|(h, _)| *h))
            .filter(|h| !reps.contains_key(h))
            .collect();
        let winners: BTreeMap<u64, ItemRef> = rebuild
            .iter()
            .flat_map(|w| planned.wads[w].iter().copied())
            .filter(|(h, _)| needed.contains(h))
            .collect();
        // Lifts from earlier overlay WADs (the first in key order that recorded this content).
        let mut fresh: Vec<(u64, ItemRef)> = Vec::new();
        for (h, r) in &winners {
            let content = inputs[r.0 as usize].meta.items[r.1 as usize].content_hash;
            match lift(
                &mut ctx,
                &wad_keys,
                &valid_previous,
                &mut lift_cache,
                *h,
                content,
            ) {
                Some(rep) => {
                    reps.insert(*h, rep);
                }
                None => fresh.push((*h, *r)),
            }
        }
        prepare_fresh(&mut ctx, &inputs, &fresh, &mut reps, &mut prepared_content)?;
        // Reused WADs that recorded other packed bytes for an override now written elsewhere.
        let written: HashSet<u64> = rebuild
            .iter()
            .flat_map(|w| planned.wads[w].iter().map(|(h, _)| *h))
            .collect();
        let mut widened = false;
        for (w, key) in &wad_keys {
            if rebuild.contains(w) {
                continue;
            }
            let Some(layout) = valid_previous(key) else {
                continue;
            };
            let stale = layout.overrides.iter().any(|(h, rec)| {
                crate::report::hex64::parse(h)
                    .filter(|h| written.contains(h))
                    .and_then(|h| reps.get(&h))
                    .is_some_and(|rep| rep.p.checksum != rec.checksum)
            });
            if stale {
                rebuild.insert(*w);
                widened = true;
            }
        }
        if !widened {
            break;
        }
    }
    drop(prepared_content);
    drop(lift_cache);

    // The rebuild set is marked dirty before any overlay WAD is replaced. In an incremental build
    // the marks are saved on a thread of their own while the temp files are written, and every
    // rename waits for them.
    let new_fps: BTreeMap<String, Hex> = wad_keys
        .iter()
        .map(|(w, k)| {
            (
                k.clone(),
                Hex(planned.fingerprints.get(w).copied().unwrap_or(0)),
            )
        })
        .collect();
    let mut layouts: BTreeMap<String, WadLayoutRecord> = BTreeMap::new();
    for (w, key) in &wad_keys {
        if !rebuild.contains(w) {
            if let Some(l) = valid_previous(key) {
                layouts.insert(key.clone(), l.clone());
            }
        }
    }
    let mut dirty: BTreeSet<String> = rebuild.iter().map(|w| wad_keys[w].clone()).collect();
    let mut state = State {
        format: state::STATE_FORMAT.into(),
        version: state::STATE_VERSION,
        builder: builder.clone(),
        mods: request.mods.iter().map(|m| m.id.clone()).collect(),
        mod_fingerprints: request
            .mods
            .iter()
            .zip(&mod_keys)
            .map(|(m, k)| (m.id.clone(), Hex(*k)))
            .collect(),
        game_fingerprint: Hex(game_fp),
        options,
        wad_fingerprints: new_fps,
        wad_layouts: layouts.clone(),
        dirty_wads: dirty.iter().cloned().collect(),
    };
    let marks = Latch::default();
    if full {
        // The old overlay goes only once the marks are durable: if they cannot be saved, it stands.
        state::save(&request.state_dir, &state)?;
        marks.open(true);
        let data = request.overlay_dir.join("DATA");
        if data.exists() {
            std::fs::remove_dir_all(&data).map_err(|e| Error::io("rmdir", &data, e))?;
        }
    }

    // Stage: patch.
    let jobs: Vec<Job> = rebuild
        .iter()
        .map(|w| {
            let key = wad_keys[w].clone();
            let overrides = planned.wads[w]
                .iter()
                .filter_map(|(h, _)| reps.get(h).map(|r| (*h, Arc::clone(r))))
                .collect();
            let previous = if full {
                None
            } else {
                valid_previous(&key).map(previous_of)
            };
            (*w, key, overrides, previous)
        })
        .collect();
    drop(reps);
    let total = jobs.len() as u64;
    let done = AtomicU64::new(0);
    let failed = AtomicBool::new(false);
    let finished: Mutex<Vec<(String, WadLayoutRecord)>> = Mutex::new(Vec::new());
    control.report(Progress::of(Stage::Patch, 0, total));
    let slack = request.options.toc_slack;
    let meter = Arc::clone(&ctx.meter);
    // Writing waits on the disk (fdatasync) more than on the processor: more writers than cores
    // keep the device busy while others copy. A thread count chosen by the caller is kept.
    let writers = match request.options.threads {
        Some(_) => rayon::current_num_threads(),
        None => rayon::current_num_threads()
            .max(WRITER_THREADS)
            .min(jobs.len().max(1)),
    };
    let marks_saved = || -> Result<()> {
        if marks.wait() {
            Ok(())
        } else {
            Err(Error::Internal("the dirty marks were not saved".into()))
        }
    };
    let write_all = || -> Vec<Result<()>> {
        jobs.into_par_iter()
            .map(|(_, key, overrides, previous)| {
                if failed.load(Ordering::Relaxed) {
                    return Ok(());
                }
                let result = (|| {
                    control.check()?;
                    let src = path_of(&request.game_dir, &key);
                    let dest = path_of(&request.overlay_dir, &key);
                    let list: Vec<(u64, &Prepared)> =
                        overrides.iter().map(|(h, r)| (*h, &r.p)).collect();
                    let written = write::write_wad(
                        &src,
                        &dest,
                        &list,
                        slack,
                        previous.as_ref(),
                        &meter,
                        control,
                        &marks_saved,
                    )?;
                    meter.copied_with(written.method);
                    let record = layout_record(&written, &overrides);
                    drop(overrides);
                    if let Ok(mut f) = finished.lock() {
                        f.push((key.clone(), record));
                    }
                    let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                    control.report(Progress::of(Stage::Patch, n, total).at(&key));
                    Ok(())
                })();
                if result.is_err() {
                    failed.store(true, Ordering::Relaxed);
                }
                result
            })
            .collect()
    };
    let (outcomes, marked) = std::thread::scope(|scope| {
        let saving = (!full).then(|| {
            scope.spawn(|| {
                let guard = marks.guard();
                let saved = state::save(&request.state_dir, &state);
                guard.open(saved.is_ok());
                saved
            })
        });
        let outcomes: Vec<Result<()>> =
            match rayon::ThreadPoolBuilder::new().num_threads(writers).build() {
                Ok(pool) if writers > rayon::current_num_threads() => pool.install(write_all),
                _ => write_all(),
            };
        let marked = saving.map_or(Ok(()), |saving| {
            saving
                .join()
                .unwrap_or_else(|_| Err(Error::Internal("saving the dirty marks panicked".into())))
        });
        (outcomes, marked)
    });
    // Without durable marks no WAD was renamed (each temp file is gone): the previous overlay and
    // state stand.
    marked?;
    let finished = finished.into_inner().unwrap_or_default();
    for (key, record) in &finished {
        dirty.remove(key);
        layouts.insert(key.clone(), record.clone());
    }
    sync_dirs(
        &request.overlay_dir,
        finished.iter().map(|(k, _)| k.as_str()),
    );
    if let Some(err) = outcomes.into_iter().find_map(Result::err) {
        // Unfinished WADs stay dirty; their stale files are removed.
        for key in &dirty {
            let dest = path_of(&request.overlay_dir, key);
            let _ = std::fs::remove_file(write::temp_path(&dest));
            let _ = std::fs::remove_file(&dest);
        }
        state.wad_layouts = layouts;
        state.dirty_wads = dirty.into_iter().collect();
        let _ = state::save(&request.state_dir, &state);
        return Err(err);
    }

    // Stage: sweep.
    control.report(Progress::of(Stage::Sweep, 0, 1));
    let keep: HashSet<String> = wad_keys.values().map(|k| k.to_lowercase()).collect();
    if let Err(err) = crate::sweep::sweep(&request.overlay_dir, &keep, control) {
        // Every WAD is written: record them clean so an abort here costs no rebuild.
        state.wad_layouts = layouts;
        state.dirty_wads = dirty.into_iter().collect();
        let _ = state::save(&request.state_dir, &state);
        return Err(err);
    }
    state.wad_layouts = layouts;
    state.dirty_wads = Vec::new();
    state::save(&request.state_dir, &state)?;

    let mut conflicts = planned.conflicts;
    conflicts.sort_by_key(|c| c.path_hash);
    if memo.grown() {
        saver.send(SaveJob::Memo { fp: game_fp, memo });
    }
    cache::prune(&request.state_dir, &state.mods);
    let warnings = dedup_warnings(std::mem::take(&mut ctx.warnings));
    saver.send(SaveJob::Conflicts {
        conflicts: conflicts.clone(),
        warnings: warnings.clone(),
    });
    let warnings = {
        let mut w = warnings;
        w.extend(saver.finish());
        w
    };
    let built: Vec<String> = rebuild.iter().map(|w| wad_keys[w].clone()).collect();
    let reused: Vec<String> = wad_keys
        .iter()
        .filter(|(w, _)| !rebuild.contains(w))
        .map(|(_, k)| k.clone())
        .collect();
    let mode = if full {
        BuildMode::Full
    } else {
        BuildMode::Incremental
    };
    let mut built = built;
    built.sort();
    let mut reused = reused;
    reused.sort();
    Ok(finish(&ctx, mode, built, reused, conflicts, warnings))
}

/// One WAD to write: (index, key, overrides, reusable previous layout).
type Job = (u16, String, Vec<(u64, Arc<Rep>)>, Option<Previous>);

/// Prepared overrides of one mod: (winner, hashes it serves, prepared bytes).
type Prepared3 = Vec<(ItemRef, Vec<u64>, Prepared)>;

fn empty_state(builder: String, game_fp: u64, options: StateOptions) -> State {
    State {
        format: state::STATE_FORMAT.into(),
        version: state::STATE_VERSION,
        builder,
        mods: Vec::new(),
        mod_fingerprints: BTreeMap::new(),
        game_fingerprint: Hex(game_fp),
        options,
        wad_fingerprints: BTreeMap::new(),
        wad_layouts: BTreeMap::new(),
        dirty_wads: Vec::new(),
    }
}

fn cache_warning(ctx: &mut Ctx<'_>, what: &str, e: &Error) {
    ctx.warnings.push(Warning::new(
        WarningCode::CacheSaveFailed,
        format!("{what} was not saved: {e}"),
    ));
}

fn save_conflicts(ctx: &mut Ctx<'_>, conflicts: &[Conflict]) {
    let warnings = ctx.warnings.clone();
    save_conflicts_with(ctx, conflicts, &warnings);
}

fn save_conflicts_with(ctx: &mut Ctx<'_>, conflicts: &[Conflict], warnings: &[Warning]) {
    if let Err(e) = state::save_conflicts(&ctx.request.state_dir, conflicts, warnings) {
        cache_warning(ctx, "conflicts.json", &e);
    }
}

fn dedup_warnings(warnings: Vec<Warning>) -> Vec<Warning> {
    let mut seen = HashSet::new();
    warnings
        .into_iter()
        .filter(|w| {
            seen.insert((
                w.code,
                w.message.clone(),
                w.mod_id.clone(),
                w.wad.clone(),
                w.path_hash,
            ))
        })
        .collect()
}

fn load_or_build_index(
    ctx: &mut Ctx<'_>,
    wads: &[GameWad],
    game_fp: u64,
    saver: &Saver,
) -> Result<GameIndex> {
    if let Some(index) = game::load_index(&ctx.request.state_dir, game_fp)? {
        return Ok(index);
    }
    let (index, warnings, bytes) =
        game::build_index(&ctx.request.game_dir, wads, game_fp, ctx.control)?;
    ctx.meter.game_read(bytes);
    ctx.warnings.extend(warnings);
    saver.send(SaveJob::Index {
        fp: game_fp,
        payload: index.payload_bytes().to_vec(),
    });
    Ok(index)
}

/// A file persisted off the build's critical path (caches and the conflicts report), or memory
/// freed there.
enum SaveJob {
    /// The game index once routing is done: freeing its 20 MB (for an install of 500k chunks) takes
    /// milliseconds.
    Free(Box<GameIndex>),
    /// The slice of the full index for the hashes this build's mods asked about (ascending); the
    /// index is freed after.
    Slice {
        index: Box<GameIndex>,
        asked: Vec<u64>,
    },
    Index {
        fp: u64,
        payload: Vec<u8>,
    },
    ModCache {
        id: String,
        meta: Box<ModMeta>,
    },
    Memo {
        fp: u64,
        memo: Memo,
    },
    Conflicts {
        conflicts: Vec<Conflict>,
        warnings: Vec<Warning>,
    },
}

/// Runs [`SaveJob`]s on a thread of its own, so their fsyncs overlap the build; always
/// joined before the build returns (also on errors: see `Drop`).
struct Saver {
    tx: Option<std::sync::mpsc::Sender<SaveJob>>,
    handle: Option<std::thread::JoinHandle<Vec<Warning>>>,
}

impl Saver {
    fn new(state_dir: PathBuf) -> Saver {
        let (tx, rx) = std::sync::mpsc::channel::<SaveJob>();
        let handle = std::thread::spawn(move || {
            let mut warnings = Vec::new();
            let warn = |what: String, e: Error| {
                Warning::new(
                    WarningCode::CacheSaveFailed,
                    format!("{what} was not saved: {e}"),
                )
            };
            for job in rx {
                let outcome = match job {
                    SaveJob::Free(index) => {
                        drop(index);
                        Ok(())
                    }
                    SaveJob::Slice { index, asked } => game::save_slice(&state_dir, &index, &asked)
                        .map_err(|e| warn("the game slice".into(), e)),
                    SaveJob::Index { fp, payload } => game::save_index(&state_dir, fp, &payload)
                        .map_err(|e| warn("the game index".into(), e)),
                    SaveJob::ModCache { id, meta } => cache::save(&state_dir, &id, &meta)
                        .map_err(|e| warn(format!("the cache of mod {id:?}"), e)),
                    SaveJob::Memo { fp, memo } => game::save_memo(&state_dir, fp, &memo)
                        .map_err(|e| warn("the game content memo".into(), e)),
                    SaveJob::Conflicts {
                        conflicts,
                        warnings: w,
                    } => state::save_conflicts(&state_dir, &conflicts, &w)
                        .map_err(|e| warn(state::CONFLICTS_FILE.into(), e)),
                };
                if let Err(w) = outcome {
                    warnings.push(w);
                }
            }
            warnings
        });
        Saver {
            tx: Some(tx),
            handle: Some(handle),
        }
    }

    fn send(&self, job: SaveJob) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(job);
        }
    }

    /// Waits for every job; returns their warnings.
    fn finish(mut self) -> Vec<Warning> {
        self.tx = None;
        self.handle
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for Saver {
    fn drop(&mut self) {
        self.tx = None;
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// What pass 1 may look up about the game: the slice where it answers, else the full index,
/// loaded from the store the first time a mod read now asks about a hash the slice cannot answer
/// for. Without a saved index the answer is "not the game's" and the chunk is decoded: slower,
/// the same result.
struct Facts<'a> {
    slice: Option<&'a game::Slice>,
    whole: std::sync::OnceLock<Option<GameIndex>>,
    state_dir: &'a Path,
    game_fp: u64,
    memo: &'a Memo,
}

impl Facts<'_> {
    fn lookup(&self, hash: u64) -> Option<game::HashInfo> {
        if let Some(slice) = self.slice {
            match slice.answer(hash) {
                game::Answer::Held(info) => return Some(info),
                game::Answer::Absent => return None,
                game::Answer::Unknown => {}
            }
        }
        self.whole
            .get_or_init(|| {
                game::load_index(self.state_dir, self.game_fp)
                    .ok()
                    .flatten()
            })
            .as_ref()?
            .lookup(hash)
    }
}

impl GameFacts for Facts<'_> {
    fn identical_content(&self, entry: &TocEntry, packed_checksum: u64) -> Option<u64> {
        let info = self.lookup(entry.path_hash)?;
        let same = info.chunk_type == entry.chunk_type
            && info.packed_size == entry.packed_size
            && info.size == entry.size
            && info.checksum == packed_checksum;
        if same {
            self.memo.get(entry.path_hash)
        } else {
            None
        }
    }
}

fn collect_all(
    ctx: &mut Ctx<'_>,
    probes: Vec<Probe>,
    facts: &Facts<'_>,
    saver: &Saver,
) -> Result<Vec<ModMeta>> {
    let request = ctx.request;
    let control = ctx.control;
    let total = probes.len() as u64;
    let done = AtomicU64::new(0);
    let meter = Arc::clone(&ctx.meter);
    control.report(Progress::of(Stage::Collect, 0, total));
    let results: Vec<Result<(ModMeta, bool)>> = request
        .mods
        .par_iter()
        .zip(probes.into_par_iter())
        .map(|(spec, probe)| {
            let r = collect_one(spec, probe, &request.state_dir, facts, &meter, control)
                .map_err(|e| e.in_mod(&spec.id));
            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
            control.report(Progress::of(Stage::Collect, n, total).at(&spec.id));
            r
        })
        .collect();
    let mut metas = Vec::with_capacity(results.len());
    for (spec, r) in request.mods.iter().zip(results) {
        let (meta, fresh) = r?;
        if fresh {
            saver.send(SaveJob::ModCache {
                id: spec.id.clone(),
                meta: Box::new(meta.clone()),
            });
        }
        ctx.warnings
            .extend(meta.warnings.iter().cloned().map(|w| w.for_mod(&spec.id)));
        metas.push(meta);
    }
    Ok(metas)
}

/// Every path hash the mods hold, ascending without repeats: a superset of what routing asks
/// the game about.
fn asked_hashes(metas: &[ModMeta]) -> Vec<u64> {
    let mut asked: Vec<u64> = metas
        .iter()
        .flat_map(|m| m.items.iter().map(|it| it.path_hash))
        .collect();
    asked.sort_unstable();
    asked.dedup();
    asked
}

/// Pass 1 of one mod: (metadata, whether it was read now).
fn collect_one(
    spec: &ModSpec,
    probe: Probe,
    state_dir: &Path,
    facts: &Facts<'_>,
    meter: &Meter,
    control: &Control<'_>,
) -> Result<(ModMeta, bool)> {
    let cached = cache::load(state_dir, &spec.id, probe.fingerprint);
    if let Cached::Hit(meta) = &cached {
        if meta.info.kind == probe.kind {
            return Ok((meta.clone(), false));
        }
    }
    let meta = match probe.kind {
        ModKind::Folder => {
            // A probe proven by the mod's stamps did not scan: scan now.
            let scan = match probe.scan {
                Some(scan) => scan,
                None => mods::scan_folder(&spec.path)?,
            };
            let stamps = match &cached {
                Cached::Stale(m) | Cached::Hit(m) if m.info.kind == ModKind::Folder => {
                    m.stamps.as_slice()
                }
                _ => &[],
            };
            mods::collect_folder(&scan, stamps, meter, control)?
        }
        ModKind::Fantome => {
            mods::collect_fantome(&spec.path, probe.fingerprint, Some(facts), meter, control)?
        }
        ModKind::Modpkg => mods::collect_modpkg(&spec.path, probe.fingerprint, meter)?,
    };
    Ok((meta, true))
}

/// A prepared override and the meter it is counted in (released on drop).
pub(crate) struct Rep {
    pub p: Prepared,
    /// Content hash of the uncompressed bytes.
    pub content: u64,
    meter: Arc<Meter>,
}

impl Rep {
    fn new(p: Prepared, content: u64, meter: &Arc<Meter>) -> Arc<Rep> {
        meter.acquire(p.packed.held());
        if p.compressed_here {
            meter.compressed_one();
        }
        Arc::new(Rep {
            p,
            content,
            meter: Arc::clone(meter),
        })
    }
}

impl Drop for Rep {
    fn drop(&mut self) {
        self.meter.release(self.p.packed.held());
    }
}

/// An earlier overlay WAD whose tail can supply packed overrides, opened once for all of them.
struct LiftSource {
    wad: Arc<OpenFile>,
    entries: HashMap<u64, TocEntry>,
}

/// The earlier overlay WADs opened for lifting (by key; `None`: unreadable) and the buffer their
/// bytes are checked through.
#[derive(Default)]
struct Lifts {
    sources: HashMap<String, Option<LiftSource>>,
    scratch: Vec<u8>,
}

/// Bytes checked per read when lifting.
const LIFT_STEP: usize = 256 << 10;

/// XXH3_64 of `len` bytes of `file` at `offset`, read through `scratch`.
fn hash_range(file: &std::fs::File, offset: u64, len: u64, scratch: &mut Vec<u8>) -> Option<u64> {
    scratch.resize(LIFT_STEP, 0);
    let mut state = xxhash_rust::xxh3::Xxh3::new();
    let mut done = 0u64;
    while done < len {
        let step = usize::try_from(len - done).map_or(LIFT_STEP, |n| n.min(LIFT_STEP));
        crate::io::read_exact_at(file, &mut scratch[..step], offset + done).ok()?;
        state.update(&scratch[..step]);
        done += step as u64;
    }
    Some(state.digest())
}

/// Lifts the packed bytes of `hash` with content `content` from an earlier overlay WAD: the
/// first (key order) valid one whose layout recorded that content; its bytes must hash to the
/// recorded checksum.
fn lift<'p>(
    ctx: &mut Ctx<'_>,
    wad_keys: &BTreeMap<u16, String>,
    valid_previous: &impl Fn(&str) -> Option<&'p WadLayoutRecord>,
    lifts: &mut Lifts,
    hash: u64,
    content: u64,
) -> Option<Arc<Rep>> {
    let hex = format!("{hash:016x}");
    for key in wad_keys.values() {
        let Some(layout) = valid_previous(key) else {
            continue;
        };
        let Some(rec) = layout.overrides.get(&hex) else {
            continue;
        };
        if rec.content != content {
            continue;
        }
        let source = lifts.sources.entry(key.clone()).or_insert_with(|| {
            let path = path_of(&ctx.request.overlay_dir, key);
            let file = std::fs::File::open(&path).ok()?;
            let len = file.metadata().ok()?.len();
            let toc = read_toc_from(&file, len, &label(&path), &path).ok()?;
            Some(LiftSource {
                entries: toc.entries.iter().map(|e| (e.path_hash, *e)).collect(),
                wad: Arc::new(OpenFile { file, path }),
            })
        });
        let Some(source) = source.as_ref() else {
            continue;
        };
        let Some(entry) = source.entries.get(&hash) else {
            continue;
        };
        if !matches!(entry.chunk_type, chunk_type::RAW | chunk_type::ZSTD)
            || entry.checksum != rec.checksum
        {
            continue;
        }
        let (offset, len) = (u64::from(entry.offset), u64::from(entry.packed_size));
        if hash_range(&source.wad.file, offset, len, &mut lifts.scratch) != Some(rec.checksum) {
            continue;
        }
        return Some(Rep::new(
            Prepared {
                chunk_type: entry.chunk_type,
                checksum: rec.checksum,
                packed: Packed::InFile {
                    wad: Arc::clone(&source.wad),
                    offset,
                    len,
                },
                size: entry.size,
                compressed_here: false,
            },
            content,
            &ctx.meter,
        ));
    }
    None
}

/// Whether a source's packed form depends on the source (pass-through) rather than only on the
/// content (so it is not shared by content hash).
fn passes_through(source: &Source) -> bool {
    match source {
        Source::PackedChunk { entry, .. } => {
            entry.chunk_type == chunk_type::ZSTD
                || (entry.chunk_type == chunk_type::RAW && entry.packed_size == entry.size)
        }
        Source::Modpkg { compression, .. } => *compression == 1,
        _ => false,
    }
}

/// Prepares overrides from their mods: pass-through sources per hash, the rest once per content.
fn prepare_fresh(
    ctx: &mut Ctx<'_>,
    inputs: &[ModInput<'_>],
    fresh: &[(u64, ItemRef)],
    reps: &mut HashMap<u64, Arc<Rep>>,
    by_content: &mut HashMap<u64, Arc<Rep>>,
) -> Result<()> {
    let control = ctx.control;
    // One job per distinct (content) for encoded sources, per hash for pass-through ones.
    let mut jobs: BTreeMap<(u32, u32), Vec<u64>> = BTreeMap::new();
    let mut content_job: HashMap<u64, (u32, u32)> = HashMap::new();
    for (h, r) in fresh {
        let item = &inputs[r.0 as usize].meta.items[r.1 as usize];
        if passes_through(&item.source) {
            jobs.entry(*r).or_default().push(*h);
        } else if let Some(rep) = by_content.get(&item.content_hash) {
            reps.insert(*h, Arc::clone(rep));
        } else {
            let job = *content_job.entry(item.content_hash).or_insert(*r);
            jobs.entry(job).or_default().push(*h);
        }
    }
    let mut by_mod: BTreeMap<u32, Vec<(ItemRef, Vec<u64>)>> = BTreeMap::new();
    for (r, hashes) in jobs {
        by_mod.entry(r.0).or_default().push((r, hashes));
    }
    let meter = Arc::clone(&ctx.meter);
    let results: Vec<Result<(Prepared3, Vec<Warning>)>> = by_mod
        .into_par_iter()
        .map(|(mi, list)| {
            let m = &inputs[mi as usize];
            let reader = SourceReader::open(m.meta.info.kind, &m.spec.path, &meter)
                .map_err(|e| e.in_mod(&m.spec.id))?;
            let (packed, loose): (Vec<_>, Vec<_>) = list.into_iter().partition(|(r, _)| {
                matches!(
                    m.meta.items[r.1 as usize].source,
                    Source::PackedChunk { .. }
                )
            });
            let mut out = Vec::with_capacity(packed.len() + loose.len());
            let mut warnings = Vec::new();
            if !packed.is_empty() {
                let items: Vec<&crate::mods::Item> = packed
                    .iter()
                    .map(|(r, _)| &m.meta.items[r.1 as usize])
                    .collect();
                let (prepared, w) = reader
                    .prepare_packed(&items, control)
                    .map_err(|e| e.in_mod(&m.spec.id))?;
                warnings.extend(w.into_iter().map(|w| w.for_mod(&m.spec.id)));
                for ((r, hashes), p) in packed.into_iter().zip(prepared) {
                    out.push((r, hashes, p));
                }
            }
            let loose_out: Vec<Result<(ItemRef, Vec<u64>, Prepared)>> = loose
                .into_par_iter()
                .map(|(r, hashes)| {
                    control.check()?;
                    let p = reader
                        .prepare_one(&m.meta.items[r.1 as usize])
                        .map_err(|e| e.in_mod(&m.spec.id))?;
                    Ok((r, hashes, p))
                })
                .collect();
            for r in loose_out {
                out.push(r?);
            }
            Ok((out, warnings))
        })
        .collect();
    for r in results {
        let (list, warnings) = r?;
        ctx.warnings.extend(warnings);
        for (r, hashes, p) in list {
            let item = &inputs[r.0 as usize].meta.items[r.1 as usize];
            let through = passes_through(&item.source);
            let rep = Rep::new(p, item.content_hash, &ctx.meter);
            if !through {
                by_content.insert(item.content_hash, Arc::clone(&rep));
            }
            for h in hashes {
                reps.insert(h, Arc::clone(&rep));
            }
        }
    }
    Ok(())
}

fn previous_of(layout: &WadLayoutRecord) -> Previous {
    Previous {
        source: SourceIdentity {
            len: layout.source.len,
            mtime_ns: layout.source.mtime_ns,
            toc_hash: layout.source.toc_hash,
        },
        toc_capacity: layout.toc_capacity,
        region: (layout.region_start, layout.region_end),
        data_region_offset: layout.data_region_offset,
    }
}

fn layout_record(written: &write::Written, overrides: &[(u64, Arc<Rep>)]) -> WadLayoutRecord {
    let l = &written.layout;
    WadLayoutRecord {
        source: SourceRecord {
            len: written.source.len,
            mtime_ns: written.source.mtime_ns,
            toc_hash: written.source.toc_hash,
        },
        region_start: l.region_start,
        region_end: l.region_end,
        data_region_offset: l.data_region_offset,
        offset_delta: l.offset_delta(),
        tail_offset: l.tail_offset,
        toc_capacity: l.toc_capacity,
        len: l.len,
        overrides: overrides
            .iter()
            .map(|(h, r)| {
                (
                    format!("{h:016x}"),
                    OverrideRecord {
                        content: r.content,
                        checksum: r.p.checksum,
                    },
                )
            })
            .collect(),
    }
}

/// Flushes the directory entries of the folders holding `keys` (one fsync per folder).
fn sync_dirs<'k>(overlay_dir: &Path, keys: impl Iterator<Item = &'k str>) {
    let dirs: BTreeSet<PathBuf> = keys
        .filter_map(|k| path_of(overlay_dir, k).parent().map(Path::to_path_buf))
        .collect();
    for d in dirs {
        #[cfg(unix)]
        if let Ok(f) = std::fs::File::open(&d) {
            let _ = f.sync_all();
        }
        #[cfg(not(unix))]
        let _ = d;
    }
}
