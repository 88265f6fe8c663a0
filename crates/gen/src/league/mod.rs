//! A seeded League of Legends install with mods (docs/overlay.md, "Generated install"), for the
//! overlay builder's tests, demo and benchmarks: [`generate`] writes `Game/DATA/FINAL/**` (see
//! [`game`]), `mods/` (folder projects, `.fantome` and `.modpkg`, see [`mods`]), `legacy/`
//! (WAD 1.x, 2.x and odd chunk types for the reader) and `hashes.game.txt` (a hash list).
//! The same seed and options give the same bytes on every platform.

mod content;
pub mod game;
mod legacy;
mod modpkg;
pub mod mods;

use std::path::{Path, PathBuf};

pub use game::{GameChunk, GamePlan, GameWadPlan};
pub use legacy::legacy_chunk;
pub use mods::{GeneratedMod, ModFormat};

use crate::error::Error;

/// What to generate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeagueOptions {
    /// The seed.
    pub seed: u64,
    /// Game WADs in all (champion WADs, their localized siblings, maps, global WADs).
    pub wads: usize,
    /// Chunks per champion WAD.
    pub chunks_per_wad: usize,
    /// Median uncompressed chunk size.
    pub chunk_median: u32,
    /// Approximate size of the big map WAD in bytes (0: an ordinary one).
    pub big_wad_bytes: u64,
    /// Make four WADs versions 3.0, 3.1, 3.2 and 3.3.
    pub legacy_minors: bool,
    /// Clean mods (no case where modforge deliberately differs from ltk_overlay).
    pub mods: usize,
    /// Uncompressed override bytes over all clean mods (approximate).
    pub override_bytes: u64,
    /// Add the quirky mods.
    pub quirks: bool,
    /// Threads writing WADs.
    pub threads: usize,
}

impl LeagueOptions {
    /// A small install for tests: 24 WADs of 60 chunks, 4 clean mods of ~1 MB, quirks.
    pub fn small(seed: u64) -> Self {
        LeagueOptions {
            seed,
            wads: 24,
            chunks_per_wad: 60,
            chunk_median: 3_000,
            big_wad_bytes: 0,
            legacy_minors: true,
            mods: 4,
            override_bytes: 1_000_000,
            quirks: true,
            threads: 2,
        }
    }

    /// The benchmark install: ~200 WADs, ~500k chunks, one ~256 MiB WAD, 10 mods with
    /// ~200 MB of overrides.
    pub fn benchmark(seed: u64) -> Self {
        LeagueOptions {
            seed,
            wads: 200,
            chunks_per_wad: 2_600,
            chunk_median: 6_000,
            big_wad_bytes: 256 << 20,
            legacy_minors: false,
            mods: 10,
            override_bytes: 200_000_000,
            quirks: false,
            threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
        }
    }
}

/// What was generated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeagueInstall {
    /// The output folder.
    pub root: PathBuf,
    /// `root/Game` (holding `DATA/FINAL`).
    pub game_dir: PathBuf,
    /// The plan of the install (regenerates any chunk's bytes).
    pub game: GamePlan,
    /// The mods, clean ones first.
    pub mods: Vec<GeneratedMod>,
    /// The hash list of every game path.
    pub hash_list: PathBuf,
    /// WADs for reader tests (1.x, 2.x, types 1, 2 and 5).
    pub legacy: Vec<PathBuf>,
}

pub(crate) fn io_err(syscall: &'static str, path: &Path, e: std::io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        syscall,
        source: e,
    }
}

/// Generates an install under `root` (which must be empty or absent).
pub fn generate(root: &Path, options: &LeagueOptions) -> Result<LeagueInstall, Error> {
    if root.exists()
        && std::fs::read_dir(root)
            .map_err(|e| io_err("opendir", root, e))?
            .next()
            .is_some()
    {
        return Err(Error::InvalidArgument(format!(
            "{} is not empty",
            root.display()
        )));
    }
    let game_dir = root.join("Game");
    let plan = game::plan(options);
    let hash_list = root.join("hashes.game.txt");
    std::fs::create_dir_all(&game_dir).map_err(|e| io_err("mkdir", &game_dir, e))?;
    game::write(&game_dir, &plan, options.threads, &hash_list)?;
    let mods = mods::write(&root.join("mods"), options, &plan)?;
    let legacy = legacy::write(&root.join("legacy"), options.seed)?;
    Ok(LeagueInstall {
        root: root.to_path_buf(),
        game_dir,
        game: plan,
        mods,
        hash_list,
        legacy,
    })
}
