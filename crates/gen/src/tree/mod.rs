//! Seeded, reproducible directory trees for tests, benchmarks and demos (docs/profile.md, "Generated trees").
//!
//! The same seed and version give the same names, sizes and modification ages on every platform:
//! the generator draws from [`SplitMix64`] in a fixed order, plans the whole tree first and only
//! then creates it (in parallel). Modification times are `now` minus the planned age; set
//! [`TreeSpec::now`] for identical absolute times.

mod build;
mod extras;
mod plan;
mod shapes;

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::SystemTime;

pub use crate::rng::SplitMix64;

use modforge_core::Control;

use crate::error::Error;
use build::fail;

/// The shape of a generated tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Shape {
    /// 10 folders sharing a third of the entries, one folder with two thirds (at 300,000 entries:
    /// 10 x 10,000 files + 200,000 files).
    Wide,
    /// Chains of depth 64-256 with short names; on Linux one more chain longer than 4,096 bytes of path.
    Deep,
    /// A `node_modules`-like tree with nested `node_modules` and log-normal sizes (median ~1 KiB).
    Node,
    /// A game install: few folders, large sparse archives (`.pak`, `.bif`, `.wad`), many small files.
    Game,
    /// A source repository: about six files per folder (2-10), folders nested up to 20 levels.
    Source,
    /// Half node, a third game, the rest deep chains (the demo default).
    Mixed,
}

impl Shape {
    /// All shapes.
    pub const ALL: [Shape; 6] = [
        Shape::Wide,
        Shape::Deep,
        Shape::Node,
        Shape::Game,
        Shape::Source,
        Shape::Mixed,
    ];

    /// The shape's name: `wide`, `deep`, `node`, `game`, `source` or `mixed`.
    pub fn name(self) -> &'static str {
        match self {
            Shape::Wide => "wide",
            Shape::Deep => "deep",
            Shape::Node => "node",
            Shape::Game => "game",
            Shape::Source => "source",
            Shape::Mixed => "mixed",
        }
    }

    /// The benchmark size of the shape (entries).
    pub fn default_entries(self) -> u64 {
        match self {
            Shape::Wide => 300_000,
            Shape::Deep | Shape::Node | Shape::Game | Shape::Source => 100_000,
            Shape::Mixed => 20_000,
        }
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Shape {
    type Err = Error;

    /// Accepts the names of [`Shape::name`], plus `realistic-node` and `realistic-game`.
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "wide" => Ok(Shape::Wide),
            "deep" => Ok(Shape::Deep),
            "node" | "realistic-node" => Ok(Shape::Node),
            "game" | "realistic-game" => Ok(Shape::Game),
            "source" => Ok(Shape::Source),
            "mixed" => Ok(Shape::Mixed),
            other => Err(Error::InvalidArgument(format!(
                "unknown tree shape {other:?} (wide, deep, node, game, source, mixed)"
            ))),
        }
    }
}

/// What to generate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeSpec {
    /// The shape.
    pub shape: Shape,
    /// Approximate number of entries (files and folders) of the shape, extras not included.
    pub entries: u64,
    /// Seed of every random choice.
    pub seed: u64,
    /// Add the `extras/` folder: hard links, every sort of symbolic link, empty and unreadable
    /// folders, awkward names, FIFO and socket, hidden entries, all age buckets, special sizes.
    pub extras: bool,
    /// pnpm layout: every file of the shape is written to `outside/store` and hard-linked into the tree.
    pub pnpm: bool,
    /// Folder outside the tree for link partners (required by `pnpm`; with `extras` it adds a hard
    /// link whose partner is outside the root).
    pub outside: Option<PathBuf>,
    /// Reference time of the modification ages (`None` = now).
    pub now: Option<SystemTime>,
}

impl Default for TreeSpec {
    fn default() -> Self {
        TreeSpec {
            shape: Shape::Mixed,
            entries: Shape::Mixed.default_entries(),
            seed: 1,
            extras: false,
            pnpm: false,
            outside: None,
            now: None,
        }
    }
}

/// What was created inside the tree (counted as `find` and the profiler count: per name).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TreeSummary {
    /// Regular files (per name).
    pub files: u64,
    /// Folders, the root included.
    pub dirs: u64,
    /// Symbolic links.
    pub symlinks: u64,
    /// FIFOs and sockets.
    pub other: u64,
    /// Names inside the tree that are extra hard links of a file already inside it.
    pub hard_links: u64,
    /// Apparent bytes of regular files, each file once.
    pub file_bytes: u64,
}

/// Generates a tree into `dir` (created if missing; it must be empty): [`generate_tree_with`]
/// without progress or cancellation.
pub fn generate_tree(dir: &Path, spec: &TreeSpec) -> Result<TreeSummary, Error> {
    generate_tree_with(dir, spec, &Control::default())
}

/// Generates a tree into `dir` (created if missing; it must be empty), reporting progress
/// (stage `generate`, folders and files of the shape; the extras come after the last event) and
/// stopping when `control` is cancelled.
///
/// Errors: [`Error::InvalidArgument`] when `dir` is not empty or `pnpm` has no `outside` folder;
/// [`Error::Io`] naming the path and operation that failed.
pub fn generate_tree_with(
    dir: &Path,
    spec: &TreeSpec,
    control: &Control<'_>,
) -> Result<TreeSummary, Error> {
    fs::create_dir_all(dir).map_err(fail(dir, "mkdir"))?;
    if fs::read_dir(dir)
        .map_err(fail(dir, "opendir"))?
        .next()
        .is_some()
    {
        return Err(Error::InvalidArgument(format!(
            "{} is not empty",
            dir.display()
        )));
    }
    let store = match (spec.pnpm, &spec.outside) {
        (false, _) => None,
        (true, Some(outside)) => Some(outside.join("store")),
        (true, None) => {
            return Err(Error::InvalidArgument(
                "pnpm mode needs an outside folder".into(),
            ));
        }
    };
    let now = spec.now.unwrap_or_else(SystemTime::now);
    let mut rng = SplitMix64::new(spec.seed);
    let mut plan = plan::Plan::new(control.cancel);
    match spec.shape {
        Shape::Wide => shapes::wide(&mut plan, plan::ROOT, spec.entries, &mut rng),
        Shape::Deep => shapes::deep(&mut plan, plan::ROOT, spec.entries, &mut rng),
        Shape::Node => shapes::node(&mut plan, plan::ROOT, spec.entries, &mut rng),
        Shape::Game => shapes::game(&mut plan, plan::ROOT, spec.entries, &mut rng),
        Shape::Source => shapes::source(&mut plan, plan::ROOT, spec.entries, &mut rng),
        Shape::Mixed => shapes::mixed(&mut plan, spec.entries, &mut rng),
    }
    control.check()?;
    build::build(dir, &plan, spec.seed, now, store.as_deref(), control)?;
    let mut summary = TreeSummary {
        files: plan.files.len() as u64,
        dirs: plan.dirs.len() as u64,
        file_bytes: plan.files.iter().map(|f| f.size).sum(),
        ..TreeSummary::default()
    };
    let content = build::Content::new(spec.seed);
    let mut maker = extras::Maker::new(&content, now, &mut summary);
    if spec.shape == Shape::Deep {
        extras::long_chain(dir, &mut maker)?;
    }
    if spec.extras {
        extras::extras(dir, spec.outside.as_deref(), &mut maker)?;
        extras::lock(dir)?;
    }
    Ok(summary)
}
