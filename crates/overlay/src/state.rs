//! The state file `<stateDir>/overlay-state.json` (docs/overlay.md, "State file"): what the
//! last build was made from and what it wrote, so the next one can skip, rebuild some WADs or
//! rebuild all. Pretty JSON, written with the store's atomic protocol; u64 values are 16-digit
//! lower-case hex strings, `mtimeNs` decimal strings. WAD keys keep their original case and are
//! compared case-insensitively. A state that does not parse, or names a path that could leave
//! the overlay folder, is treated as absent (a full build follows).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::report::{Conflict, Warning, hex64};

/// The `format` value.
pub const STATE_FORMAT: &str = "modforge-overlay-state";
/// The `version` value.
pub const STATE_VERSION: u32 = 1;
/// The state file's name.
pub const STATE_FILE: &str = "overlay-state.json";
/// The conflicts report's name.
pub const CONFLICTS_FILE: &str = "conflicts.json";

/// The options that shape the output and are compared for the skip.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StateOptions {
    /// Blocked WAD file names, lower case, sorted, unique.
    pub blocked_wads: Vec<String>,
}

/// The source a WAD's region was copied from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceRecord {
    /// Length of the game WAD.
    pub len: u64,
    /// Its mtime, ns, as a decimal string.
    #[serde(with = "decimal")]
    pub mtime_ns: u64,
    /// XXH3_64 of its TOC re-encoded as 3.4 in hash order.
    #[serde(with = "hex64")]
    pub toc_hash: u64,
}

/// One override a WAD holds: its content and the checksum of the packed bytes written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OverrideRecord {
    /// XXH3_64 of the uncompressed bytes.
    #[serde(with = "hex64")]
    pub content: u64,
    /// XXH3_64 of the packed bytes.
    #[serde(with = "hex64")]
    pub checksum: u64,
}

/// The layout of one overlay WAD.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WadLayoutRecord {
    /// The source's identity.
    pub source: SourceRecord,
    /// `s0`.
    pub region_start: u64,
    /// `s1`.
    pub region_end: u64,
    /// `D`.
    pub data_region_offset: u64,
    /// `D − s0`.
    pub offset_delta: i64,
    /// `T`.
    pub tail_offset: u64,
    /// TOC slots.
    pub toc_capacity: u32,
    /// File length.
    pub len: u64,
    /// Overrides by path hash (16 hex digits).
    pub overrides: BTreeMap<String, OverrideRecord>,
}

/// The whole state file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct State {
    /// [`STATE_FORMAT`].
    pub format: String,
    /// [`STATE_VERSION`].
    pub version: u32,
    /// What wrote it: modforge, zstd and the layout parameters; another value forces a full build.
    pub builder: String,
    /// Mod ids in priority order.
    pub mods: Vec<String>,
    /// Mod keys by id.
    pub mod_fingerprints: BTreeMap<String, Hex>,
    /// The game fingerprint.
    pub game_fingerprint: Hex,
    /// Options.
    pub options: StateOptions,
    /// Per-WAD fingerprints by key.
    pub wad_fingerprints: BTreeMap<String, Hex>,
    /// Per-WAD layouts by key.
    pub wad_layouts: BTreeMap<String, WadLayoutRecord>,
    /// WADs whose file may not match their fingerprint.
    pub dirty_wads: Vec<String>,
}

/// A u64 as 16 hex digits in JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Hex(#[serde(with = "hex64")] pub u64);

mod decimal {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl State {
    /// Whether every WAD key is a safe relative path under `DATA/` (no `..`, no absolute part).
    fn keys_are_safe(&self) -> bool {
        self.wad_fingerprints
            .keys()
            .chain(self.wad_layouts.keys())
            .chain(self.dirty_wads.iter())
            .all(|k| safe_key(k))
    }

    /// The layout of `key` (case-insensitive).
    pub fn layout(&self, key: &str) -> Option<&WadLayoutRecord> {
        self.wad_layouts.get(key).or_else(|| {
            self.wad_layouts
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v)
        })
    }

    /// The fingerprint of `key` (case-insensitive).
    pub fn wad_fingerprint(&self, key: &str) -> Option<u64> {
        self.wad_fingerprints
            .get(key)
            .or_else(|| {
                self.wad_fingerprints
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(key))
                    .map(|(_, v)| v)
            })
            .map(|h| h.0)
    }

    /// Whether `key` is dirty (case-insensitive).
    pub fn is_dirty(&self, key: &str) -> bool {
        self.dirty_wads.iter().any(|k| k.eq_ignore_ascii_case(key))
    }
}

/// Whether a WAD key (`/` or `\` separated) stays under the overlay's `DATA/`.
pub(crate) fn safe_key(key: &str) -> bool {
    let parts: Vec<&str> = key.split(['/', '\\']).collect();
    parts.len() >= 2
        && parts[0].eq_ignore_ascii_case("DATA")
        && parts
            .iter()
            .all(|p| !p.is_empty() && *p != "." && *p != ".." && !p.contains(':'))
}

/// The fields the skip decision reads; the rest of the file (the per-override records) is
/// skipped over by the parser, not built, so the no-op path stays cheap.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SkipView {
    pub format: String,
    pub version: u32,
    pub builder: String,
    pub mods: Vec<String>,
    pub mod_fingerprints: BTreeMap<String, Hex>,
    pub game_fingerprint: Hex,
    pub options: StateOptions,
    pub wad_fingerprints: BTreeMap<String, Hex>,
    pub wad_layouts: BTreeMap<String, LenOnly>,
    pub dirty_wads: Vec<String>,
}

/// A WAD layout's recorded length.
#[derive(Clone, Copy, Debug, Deserialize)]
pub(crate) struct LenOnly {
    pub len: u64,
}

impl SkipView {
    /// The recorded length of `key` (case-insensitive, either separator).
    pub fn len_of(&self, key: &str) -> Option<u64> {
        let norm = |k: &str| k.replace('\\', "/").to_lowercase();
        let want = norm(key);
        self.wad_layouts
            .iter()
            .find(|(k, _)| norm(k) == want)
            .map(|(_, v)| v.len)
    }
}

/// Loads the skip view; `None` when absent, unreadable, or naming unsafe paths.
pub(crate) fn load_skip_view(state_dir: &Path) -> Option<SkipView> {
    let bytes = read_record(&state_dir.join(STATE_FILE))?;
    let view: SkipView = serde_json::from_slice(&bytes).ok()?;
    let safe = view
        .wad_fingerprints
        .keys()
        .chain(view.wad_layouts.keys())
        .chain(view.dirty_wads.iter())
        .all(|k| safe_key(k));
    safe.then_some(view)
}

/// Loads the state; `None` when absent, unreadable, or unsafe. Keys written with `\`
/// separators (by a Windows build of another tool) are read with `/`.
pub(crate) fn load(state_dir: &Path) -> Option<State> {
    let bytes = read_record(&state_dir.join(STATE_FILE))?;
    let mut state: State = serde_json::from_slice(&bytes).ok()?;
    if !state.keys_are_safe() {
        return None;
    }
    let slash = |k: String| k.replace('\\', "/");
    state.wad_fingerprints = std::mem::take(&mut state.wad_fingerprints)
        .into_iter()
        .map(|(k, v)| (slash(k), v))
        .collect();
    state.wad_layouts = std::mem::take(&mut state.wad_layouts)
        .into_iter()
        .map(|(k, v)| (slash(k), v))
        .collect();
    state.dirty_wads = std::mem::take(&mut state.dirty_wads)
        .into_iter()
        .map(slash)
        .collect();
    Some(state)
}

/// The bytes of a record in the state folder; `None` when it is absent, unreadable or not a
/// regular file (a FIFO or device put in its place is refused without blocking).
fn read_record(path: &Path) -> Option<Vec<u8>> {
    modforge_store::read_source(path, &modforge_core::Control::default()).ok()
}

/// Saves the state atomically.
pub(crate) fn save(state_dir: &Path, state: &State) -> Result<()> {
    let mut text = serde_json::to_vec_pretty(state)
        .map_err(|e| Error::Internal(format!("state serialisation: {e}")))?;
    text.push(b'\n');
    modforge_store::write_file(
        &state_dir.join(STATE_FILE),
        &text,
        &modforge_store::Hooks::default(),
    )?;
    Ok(())
}

/// The conflicts report.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ConflictsFile {
    pub format: String,
    pub version: u32,
    pub conflicts: Vec<Conflict>,
    pub warnings: Vec<Warning>,
}

/// Saves the conflicts report atomically.
pub(crate) fn save_conflicts(
    state_dir: &Path,
    conflicts: &[Conflict],
    warnings: &[Warning],
) -> Result<()> {
    let file = ConflictsFile {
        format: "modforge-overlay-conflicts".into(),
        version: 1,
        conflicts: conflicts.to_vec(),
        warnings: warnings.to_vec(),
    };
    let mut text = serde_json::to_vec_pretty(&file)
        .map_err(|e| Error::Internal(format!("conflicts serialisation: {e}")))?;
    text.push(b'\n');
    modforge_store::write_file(
        &state_dir.join(CONFLICTS_FILE),
        &text,
        &modforge_store::Hooks::default(),
    )?;
    Ok(())
}

/// Loads the conflicts report (empty when absent or unreadable).
pub(crate) fn load_conflicts(state_dir: &Path) -> (Vec<Conflict>, Vec<Warning>) {
    read_record(&state_dir.join(CONFLICTS_FILE))
        .and_then(|b| serde_json::from_slice::<ConflictsFile>(&b).ok())
        .map(|f| (f.conflicts, f.warnings))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_must_stay_under_data() {
        assert!(safe_key("DATA/FINAL/Champions/Aatrox.wad.client"));
        assert!(safe_key("data\\final\\a.wad.client"));
        assert!(!safe_key("DATA/../x"));
        assert!(!safe_key("/DATA/x"));
        assert!(!safe_key("C:/DATA/x"));
        assert!(!safe_key("DATA/c:x"));
        assert!(!safe_key("other/x"));
        assert!(!safe_key("DATA"));
    }

    #[test]
    fn serialises_as_documented() {
        let mut overrides = BTreeMap::new();
        overrides.insert(
            "152d887203df4615".to_owned(),
            OverrideRecord {
                content: 0x1596eaf52536a7a4,
                checksum: 0x1596eaf52536a7a4,
            },
        );
        let state = State {
            format: STATE_FORMAT.into(),
            version: STATE_VERSION,
            builder: "b".into(),
            mods: vec!["mod-a".into()],
            mod_fingerprints: [("mod-a".to_owned(), Hex(0x9d2491ed9c425bb7))].into(),
            game_fingerprint: Hex(0x43969f81a36c9912),
            options: StateOptions {
                blocked_wads: vec!["map22.wad.client".into()],
            },
            wad_fingerprints: [(
                "DATA/FINAL/Champions/Aatrox.wad.client".to_owned(),
                Hex(0x2fad9a6ddba962f1),
            )]
            .into(),
            wad_layouts: [(
                "DATA/FINAL/Champions/Aatrox.wad.client".to_owned(),
                WadLayoutRecord {
                    source: SourceRecord {
                        len: 309,
                        mtime_ns: 1_700_000_000_123_456_789,
                        toc_hash: 5,
                    },
                    region_start: 304,
                    region_end: 309,
                    data_region_offset: 336,
                    offset_delta: 32,
                    tail_offset: 341,
                    toc_capacity: 2,
                    len: 353,
                    overrides,
                },
            )]
            .into(),
            dirty_wads: vec![],
        };
        let v = serde_json::to_value(&state).unwrap();
        assert_eq!(v["modFingerprints"]["mod-a"], "9d2491ed9c425bb7");
        assert_eq!(v["gameFingerprint"], "43969f81a36c9912");
        assert_eq!(v["options"]["blockedWads"][0], "map22.wad.client");
        let layout = &v["wadLayouts"]["DATA/FINAL/Champions/Aatrox.wad.client"];
        assert_eq!(layout["source"]["mtimeNs"], "1700000000123456789");
        assert_eq!(layout["source"]["tocHash"], "0000000000000005");
        assert_eq!(layout["offsetDelta"], 32);
        assert_eq!(
            layout["overrides"]["152d887203df4615"]["content"],
            "1596eaf52536a7a4"
        );
        assert_eq!(v["dirtyWads"], serde_json::json!([]));
        let back: State = serde_json::from_value(v).unwrap();
        assert_eq!(back, state);
        assert_eq!(
            back.wad_fingerprint("data/final/champions/AATROX.wad.client"),
            Some(0x2fad9a6ddba962f1)
        );
    }
}
