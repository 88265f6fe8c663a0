//! Warnings and conflicts a build reports (docs/overlay.md, "Conflicts and warnings"). Neither
//! is ever fatal. Both serialise to the camelCase JSON of `conflicts.json`, with u64 values as
//! 16-digit lower-case hex strings.

use serde::{Deserialize, Serialize};

/// What a warning is about; the string form is stable (`WAD_NAME_FALLBACK`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WarningCode {
    /// A WAD folder's name matched no game WAD (or several): routed by hash overlap instead.
    WadNameFallback,
    /// An override could be routed to no WAD and was dropped.
    UnroutableOverride,
    /// A blocked WAD holds a chunk that is overridden elsewhere: its copy will differ.
    BlockedSharedChunk,
    /// A mod override of a `.SubChunkTOC` chunk was dropped.
    SubchunktocOverrideDropped,
    /// A mod override replaced a subchunked (type 4) entry with an ordinary one.
    SubchunkedOverride,
    /// A zip entry's CRC-32 did not match; its bytes were used anyway.
    ZipCrcIgnored,
    /// A folder mod has only `mod.config.toml`, which is not read.
    ConfigTomlIgnored,
    /// A folder that is not a layer, WAD folder or RAW folder was ignored.
    IgnoredFolder,
    /// A file outside any WAD folder or RAW folder was ignored.
    IgnoredFile,
    /// A symbolic link inside a folder mod was not followed.
    IgnoredSymlink,
    /// A cache or the conflicts report could not be saved; the build result stands.
    CacheSaveFailed,
    /// A chunk of a type that cannot be decoded (2 = redirect, 5–15) was skipped.
    UndecodableChunk,
    /// A packed chunk's recorded checksum differs from its bytes; the computed one is written.
    ChecksumMismatch,
    /// A requested layer does not exist in the mod.
    UnknownLayer,
    /// A path from a hash list would leave the output folder; the hex name was used instead.
    UnsafePath,
    /// Two extracted paths collide (a file where a folder is needed); the hex name was used.
    PathCollision,
    /// A game WAD's TOC could not be read; it is left out of the index.
    GameWadUnreadable,
}

impl WarningCode {
    /// The stable string form.
    pub fn as_str(self) -> &'static str {
        match self {
            WarningCode::WadNameFallback => "WAD_NAME_FALLBACK",
            WarningCode::UnroutableOverride => "UNROUTABLE_OVERRIDE",
            WarningCode::BlockedSharedChunk => "BLOCKED_SHARED_CHUNK",
            WarningCode::SubchunktocOverrideDropped => "SUBCHUNKTOC_OVERRIDE_DROPPED",
            WarningCode::SubchunkedOverride => "SUBCHUNKED_OVERRIDE",
            WarningCode::ZipCrcIgnored => "ZIP_CRC_IGNORED",
            WarningCode::ConfigTomlIgnored => "CONFIG_TOML_IGNORED",
            WarningCode::IgnoredFolder => "IGNORED_FOLDER",
            WarningCode::IgnoredFile => "IGNORED_FILE",
            WarningCode::IgnoredSymlink => "IGNORED_SYMLINK",
            WarningCode::CacheSaveFailed => "CACHE_SAVE_FAILED",
            WarningCode::UndecodableChunk => "UNDECODABLE_CHUNK",
            WarningCode::ChecksumMismatch => "CHECKSUM_MISMATCH",
            WarningCode::UnknownLayer => "UNKNOWN_LAYER",
            WarningCode::UnsafePath => "UNSAFE_PATH",
            WarningCode::PathCollision => "PATH_COLLISION",
            WarningCode::GameWadUnreadable => "GAME_WAD_UNREADABLE",
        }
    }

    pub(crate) fn code(self) -> u8 {
        WarningCode::ALL
            .iter()
            .position(|c| *c == self)
            .map_or(u8::MAX, |i| i as u8)
    }

    pub(crate) fn from_code(code: u8) -> Option<Self> {
        WarningCode::ALL.get(usize::from(code)).copied()
    }

    /// Every code, in declaration order.
    pub const ALL: [WarningCode; 17] = [
        WarningCode::WadNameFallback,
        WarningCode::UnroutableOverride,
        WarningCode::BlockedSharedChunk,
        WarningCode::SubchunktocOverrideDropped,
        WarningCode::SubchunkedOverride,
        WarningCode::ZipCrcIgnored,
        WarningCode::ConfigTomlIgnored,
        WarningCode::IgnoredFolder,
        WarningCode::IgnoredFile,
        WarningCode::IgnoredSymlink,
        WarningCode::CacheSaveFailed,
        WarningCode::UndecodableChunk,
        WarningCode::ChecksumMismatch,
        WarningCode::UnknownLayer,
        WarningCode::UnsafePath,
        WarningCode::PathCollision,
        WarningCode::GameWadUnreadable,
    ];
}

impl std::fmt::Display for WarningCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One warning.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Warning {
    /// What it is about.
    pub code: WarningCode,
    /// A sentence for people.
    pub message: String,
    /// The mod concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mod_id: Option<String>,
    /// The WAD concerned (a game-relative key or a mod's WAD folder name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wad: Option<String>,
    /// The chunk concerned.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_hex64")]
    pub path_hash: Option<u64>,
}

impl Warning {
    /// A warning with only a code and a message.
    pub fn new(code: WarningCode, message: impl Into<String>) -> Self {
        Warning {
            code,
            message: message.into(),
            mod_id: None,
            wad: None,
            path_hash: None,
        }
    }

    /// The same warning about `mod_id`.
    pub fn for_mod(mut self, mod_id: &str) -> Self {
        self.mod_id = Some(mod_id.to_owned());
        self
    }

    /// The same warning about `wad`.
    pub fn in_wad(mut self, wad: impl Into<String>) -> Self {
        self.wad = Some(wad.into());
        self
    }

    /// The same warning about chunk `hash`.
    pub fn at_hash(mut self, hash: u64) -> Self {
        self.path_hash = Some(hash);
        self
    }
}

/// One source that offered an override for a conflicting hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Contributor {
    /// The mod.
    pub mod_id: String,
    /// The layer; `None` for a RAW file.
    pub layer: Option<String>,
    /// The WAD folder (or packed WAD) name as the mod wrote it; `None` for a RAW file.
    pub wad: Option<String>,
    /// The path inside the WAD or RAW folder.
    pub rel_path: String,
    /// XXH3_64 of the offered bytes.
    #[serde(with = "hex64")]
    pub content_hash: u64,
}

/// A path hash that two or more sources override.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Conflict {
    /// The chunk.
    #[serde(with = "hex64")]
    pub path_hash: u64,
    /// Its path, when a contributor named it by path rather than by hash.
    pub path: Option<String>,
    /// The game-relative WAD keys the winner was routed to.
    pub wads: Vec<String>,
    /// Every source, in mod order and, inside a mod, in apply order.
    pub contributors: Vec<Contributor>,
    /// Index into `contributors` of the source whose bytes win.
    pub winner: usize,
    /// Whether every contributor offered the same bytes.
    pub same_content: bool,
    /// Whether the winner equals the game's chunk, so the game original is kept.
    pub kept_game_original: bool,
}

/// Serde for u64 as 16 lower-case hex digits.
pub(crate) mod hex64 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{value:016x}"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let text = String::deserialize(d)?;
        parse(&text).ok_or_else(|| serde::de::Error::custom(format!("not 16 hex digits: {text:?}")))
    }

    /// Parses exactly 16 hex digits.
    pub fn parse(text: &str) -> Option<u64> {
        if text.len() != 16 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u64::from_str_radix(text, 16).ok()
    }
}

/// Serde for `Option<u64>` as 16 hex digits.
pub(crate) mod opt_hex64 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(v) => s.serialize_str(&format!("{v:016x}")),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        let text = Option::<String>::deserialize(d)?;
        match text {
            None => Ok(None),
            Some(t) => super::hex64::parse(&t)
                .map(Some)
                .ok_or_else(|| serde::de::Error::custom(format!("not 16 hex digits: {t:?}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_serialise() {
        for code in WarningCode::ALL {
            assert_eq!(WarningCode::from_code(code.code()), Some(code));
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
        }
        let w = Warning::new(WarningCode::UnroutableOverride, "dropped")
            .for_mod("m")
            .at_hash(0xab);
        let json = serde_json::to_value(&w).unwrap();
        assert_eq!(json["pathHash"], "00000000000000ab");
        assert_eq!(json["modId"], "m");
        assert!(json.get("wad").is_none());
        let back: Warning = serde_json::from_value(json).unwrap();
        assert_eq!(back, w);
    }
}
