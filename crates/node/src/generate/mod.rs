//! The seeded data generators of modforge-gen (test, demo and benchmark data).

mod install;

use std::path::{Path, PathBuf};

use napi::Env;
use napi::bindgen_prelude::PromiseRaw;
use napi_derive::napi;

use modforge_core::Control;
use modforge_gen::{dataset, tree};

use crate::runtime::convert::integer_option;
use crate::runtime::{Call, CancelFlag, NodeError, ProgressCallback, promise, sync};
use crate::store::display;

/// The shape of a generated tree.
#[napi(string_enum = "lowercase")]
pub enum TreeShape {
    /// 10 folders sharing a third of the entries, one folder with two thirds.
    Wide,
    /// Chains of depth 64-256 with short names (and, on Linux, one path longer than 4,096 bytes).
    Deep,
    /// A `node_modules`-like tree with nested `node_modules` and log-normal sizes.
    Node,
    /// A game install: few folders, large sparse archives, many small files.
    Game,
    /// A source repository: about six files per folder, folders nested up to 20 levels.
    Source,
    /// Half node, a third game, the rest deep chains (the default).
    Mixed,
}

impl From<TreeShape> for tree::Shape {
    fn from(shape: TreeShape) -> Self {
        match shape {
            TreeShape::Wide => tree::Shape::Wide,
            TreeShape::Deep => tree::Shape::Deep,
            TreeShape::Node => tree::Shape::Node,
            TreeShape::Game => tree::Shape::Game,
            TreeShape::Source => tree::Shape::Source,
            TreeShape::Mixed => tree::Shape::Mixed,
        }
    }
}

/// The size of a generated CSV data set.
#[napi(string_enum = "lowercase")]
pub enum DatasetScale {
    /// 19 tables, about 12.5k rows, about 595 KB (the default).
    Dalle,
    /// The same 19 tables with about 1M rows.
    Large,
}

/// Options of `generateTree`.
#[napi(object)]
#[derive(Default)]
pub struct TreeOptions {
    /// The shape; default `mixed`.
    pub shape: Option<TreeShape>,
    /// Approximate number of entries (default: 20,000 for `mixed`, the benchmark size otherwise).
    pub entries: Option<f64>,
    /// Seed of every random choice (default 1); the same seed gives the same tree on every platform.
    pub seed: Option<f64>,
    /// Add the `extras/` folder: hard links, every sort of symbolic link (a loop included), empty
    /// and unreadable folders, awkward names, a FIFO and a socket, hidden entries, all age buckets.
    pub extras: Option<bool>,
    /// pnpm layout: files hard-linked from a store in `outside` (required then).
    pub pnpm: Option<bool>,
    /// A folder outside the tree for link partners.
    pub outside: Option<String>,
}

/// What `generateTree` created (counted per name, as `find` does).
#[napi(object)]
pub struct TreeSummary {
    /// Regular files.
    pub files: f64,
    /// Folders, the root included.
    pub dirs: f64,
    /// Symbolic links.
    pub symlinks: f64,
    /// FIFOs and sockets.
    pub other: f64,
    /// Extra names of files already in the tree.
    pub hard_links: f64,
    /// Apparent bytes of regular files, each file once.
    pub file_bytes: f64,
}

fn tree_spec(options: TreeOptions) -> Result<tree::TreeSpec, NodeError> {
    let shape: tree::Shape = options.shape.unwrap_or(TreeShape::Mixed).into();
    Ok(tree::TreeSpec {
        shape,
        entries: integer_option("entries", options.entries, 1, 100_000_000)?
            .unwrap_or_else(|| shape.default_entries()),
        seed: integer_option("seed", options.seed, 0, u32::MAX as u64)?.unwrap_or(1),
        extras: options.extras.unwrap_or(false),
        pnpm: options.pnpm.unwrap_or(false),
        outside: options.outside.map(PathBuf::from),
        now: None,
    })
}

fn generate_tree_now(
    dir: &Path,
    options: TreeOptions,
    control: &Control<'_>,
) -> Result<TreeSummary, NodeError> {
    let summary = tree::generate_tree_with(dir, &tree_spec(options)?, control)?;
    Ok(TreeSummary {
        files: summary.files as f64,
        dirs: summary.dirs as f64,
        symlinks: summary.symlinks as f64,
        other: summary.other as f64,
        hard_links: summary.hard_links as f64,
        file_bytes: summary.file_bytes as f64,
    })
}

/// Generates a seeded folder tree into `dir` (created if missing; must be empty), off the main
/// thread. Progress: stage `generate`, `done`/`total` = folders and files created.
#[napi(ts_return_type = "Promise<TreeSummary>")]
pub fn generate_tree<'env>(
    env: &'env Env,
    dir: String,
    options: Option<TreeOptions>,
    cancel: Option<&CancelFlag>,
    #[napi(ts_arg_type = "(event: ProgressEvent) => void")] on_progress: Option<ProgressCallback>,
) -> napi::Result<PromiseRaw<'env, TreeSummary>> {
    let options = options.unwrap_or_default();
    promise(
        env,
        "generate",
        Call::new(cancel, on_progress),
        move |control| generate_tree_now(Path::new(&dir), options, control),
        |_env, summary| Ok(summary),
    )
}

/// Generates a seeded folder tree into `dir` on the calling thread.
#[napi]
pub fn generate_tree_sync(
    env: &Env,
    dir: String,
    options: Option<TreeOptions>,
) -> napi::Result<TreeSummary> {
    sync(env, |control| {
        generate_tree_now(Path::new(&dir), options.unwrap_or_default(), control)
    })
}

/// Options of `generateDataset`.
#[napi(object)]
#[derive(Default)]
pub struct DatasetGeneratorOptions {
    /// Seed of every random choice (default 1).
    pub seed: Option<f64>,
    /// The size; default `dalle`.
    pub scale: Option<DatasetScale>,
}

/// One generated CSV file.
#[napi(object)]
pub struct GeneratedTable {
    /// Table name.
    pub name: String,
    /// The CSV file.
    pub path: String,
    /// Header columns, the version column first.
    pub columns: Vec<String>,
    /// Data rows.
    pub rows: u32,
}

/// A generated CSV data set.
#[napi(object)]
pub struct GeneratedDataset {
    /// The folder of the CSV files.
    pub dir: String,
    /// The value of the `version` column in every row.
    pub version: String,
    /// The tables in order.
    pub tables: Vec<GeneratedTable>,
    /// Data rows of all tables.
    pub rows: f64,
    /// CSV bytes of all tables.
    pub bytes: f64,
}

fn generate_dataset_now(
    dir: &Path,
    options: DatasetGeneratorOptions,
    control: &Control<'_>,
) -> Result<GeneratedDataset, NodeError> {
    let scale = match options.scale {
        None | Some(DatasetScale::Dalle) => dataset::Scale::Dalle,
        Some(DatasetScale::Large) => dataset::Scale::Large,
    };
    let seed = integer_option("seed", options.seed, 0, u32::MAX as u64)?.unwrap_or(1);
    let set = dataset::dalle_with(dir, seed, scale, control)?;
    Ok(GeneratedDataset {
        dir: display(&set.dir),
        version: set.version.clone(),
        rows: set.rows() as f64,
        bytes: set.bytes as f64,
        tables: set
            .tables
            .into_iter()
            .map(|table| GeneratedTable {
                name: table.name,
                path: display(&table.path),
                columns: table.columns,
                rows: table.rows,
            })
            .collect(),
    })
}

/// Writes a seeded CSV data set with the shape of a real game-data export into `dir`, off the main
/// thread. Progress: stage `generate`, `done`/`total` = data rows.
#[napi(ts_return_type = "Promise<GeneratedDataset>")]
pub fn generate_dataset<'env>(
    env: &'env Env,
    dir: String,
    options: Option<DatasetGeneratorOptions>,
    cancel: Option<&CancelFlag>,
    #[napi(ts_arg_type = "(event: ProgressEvent) => void")] on_progress: Option<ProgressCallback>,
) -> napi::Result<PromiseRaw<'env, GeneratedDataset>> {
    let options = options.unwrap_or_default();
    promise(
        env,
        "generate",
        Call::new(cancel, on_progress),
        move |control| generate_dataset_now(Path::new(&dir), options, control),
        |_env, generated| Ok(generated),
    )
}

/// Writes a seeded CSV data set into `dir` on the calling thread.
#[napi]
pub fn generate_dataset_sync(
    env: &Env,
    dir: String,
    options: Option<DatasetGeneratorOptions>,
) -> napi::Result<GeneratedDataset> {
    sync(env, |control| {
        generate_dataset_now(Path::new(&dir), options.unwrap_or_default(), control)
    })
}

/// The size of a generated League install.
#[napi(string_enum = "lowercase")]
pub enum LeagueScale {
    /// 24 WADs of 60 chunks, 4 clean mods of about 1 MB, the quirky mods and the legacy WADs
    /// (the default; the tests' install).
    Small,
    /// About 200 WADs and 500k chunks, one WAD of about 256 MiB, 10 mods with about 200 MB of
    /// overrides, no quirky mods (the benchmark's install; several GB).
    Benchmark,
}

/// Options of `generateLeague`.
#[napi(object)]
#[derive(Default)]
pub struct LeagueGeneratorOptions {
    /// Seed of every random choice (default 1).
    pub seed: Option<f64>,
    /// The size; default `small`.
    pub scale: Option<LeagueScale>,
    /// Clean mods (default: 4 small, 10 benchmark).
    pub mods: Option<f64>,
    /// Uncompressed override bytes over all clean mods (default: 1 MB small, 200 MB benchmark).
    pub override_bytes: Option<f64>,
}

/// A generated mod's container.
#[napi(string_enum = "lowercase")]
pub enum GeneratedModFormat {
    /// A folder project.
    Folder,
    /// A `.fantome` archive.
    Fantome,
    /// A `.modpkg` package.
    Modpkg,
}

/// One generated mod.
#[napi(object, object_from_js = false)]
pub struct GeneratedLeagueMod {
    /// Its id.
    pub id: String,
    /// The folder or archive.
    pub path: String,
    /// Its container.
    pub format: GeneratedModFormat,
    /// Game WAD keys it declares content for.
    pub touched_wads: Vec<String>,
    /// Uncompressed override bytes.
    pub override_bytes: f64,
    /// Whether it holds the cases modforge deliberately treats unlike ltk_overlay.
    pub quirky: bool,
    /// For a folder mod touching one WAD: an override file to edit.
    pub edit_file: Option<String>,
}

/// A generated League install with mods.
#[napi(object, object_from_js = false)]
pub struct GeneratedLeague {
    /// The output folder.
    pub root: String,
    /// `root/Game` (holding `DATA/FINAL`).
    pub game_dir: String,
    /// Keys of the game WADs (relative to `gameDir`, `/` separators), sorted.
    pub wads: Vec<String>,
    /// The mods, clean ones first.
    pub mods: Vec<GeneratedLeagueMod>,
    /// The hash list of every game path (`<16 hex> <path>` lines).
    pub hash_list: String,
    /// WADs for reader tests (1.x, 2.x, chunk types 1, 2 and 5).
    pub legacy: Vec<String>,
}

fn generate_league_now(
    dir: &Path,
    options: LeagueGeneratorOptions,
    control: &Control<'_>,
) -> Result<GeneratedLeague, NodeError> {
    use modforge_gen::league;
    control.check()?;
    let seed = integer_option("seed", options.seed, 0, u32::MAX as u64)?.unwrap_or(1);
    let mut spec = match options.scale {
        None | Some(LeagueScale::Small) => league::LeagueOptions::small(seed),
        Some(LeagueScale::Benchmark) => league::LeagueOptions::benchmark(seed),
    };
    if let Some(mods) = integer_option("mods", options.mods, 0, 100)? {
        spec.mods = mods as usize;
    }
    if let Some(bytes) = integer_option("overrideBytes", options.override_bytes, 0, 1 << 32)? {
        spec.override_bytes = bytes;
    }
    let install = league::generate(dir, &spec)?;
    Ok(GeneratedLeague {
        root: display(&install.root),
        game_dir: display(&install.game_dir),
        wads: install.game.wads.iter().map(|w| w.key.clone()).collect(),
        mods: install
            .mods
            .into_iter()
            .map(|m| GeneratedLeagueMod {
                id: m.id,
                path: display(&m.path),
                format: match m.format {
                    league::ModFormat::Folder => GeneratedModFormat::Folder,
                    league::ModFormat::Fantome => GeneratedModFormat::Fantome,
                    league::ModFormat::Modpkg => GeneratedModFormat::Modpkg,
                },
                touched_wads: m.touched_wads,
                override_bytes: m.override_bytes as f64,
                quirky: m.quirky,
                edit_file: m.edit.map(|(file, _)| display(&file)),
            })
            .collect(),
        hash_list: display(&install.hash_list),
        legacy: install.legacy.iter().map(|p| display(p)).collect(),
    })
}

/// Writes a seeded League of Legends install (`Game/DATA/FINAL/**`) with folder, fantome and
/// modpkg mods into `dir` (must be empty or absent), off the main thread.
#[napi(ts_return_type = "Promise<GeneratedLeague>")]
pub fn generate_league<'env>(
    env: &'env Env,
    dir: String,
    options: Option<LeagueGeneratorOptions>,
    cancel: Option<&CancelFlag>,
) -> napi::Result<PromiseRaw<'env, GeneratedLeague>> {
    let options = options.unwrap_or_default();
    promise(
        env,
        "generate",
        Call::new(cancel, None),
        move |control| generate_league_now(Path::new(&dir), options, control),
        |_env, generated| Ok(generated),
    )
}

/// Writes a seeded League install into `dir` on the calling thread.
#[napi]
pub fn generate_league_sync(
    env: &Env,
    dir: String,
    options: Option<LeagueGeneratorOptions>,
) -> napi::Result<GeneratedLeague> {
    sync(env, |control| {
        generate_league_now(Path::new(&dir), options.unwrap_or_default(), control)
    })
}
