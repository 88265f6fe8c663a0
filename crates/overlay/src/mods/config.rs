//! The metadata files of each mod format (docs/overlay.md, "Mod formats"): `mod.config.json`
//! of folder projects, `META/info.json` of fantome archives (UTF-8 BOM stripped) and
//! `_meta_/info.msgpack` of modpkg packages. Only the fields the builder uses are read; unknown
//! fields are ignored and mistyped optional fields fall back to their defaults.

use serde_json::Value;

use super::LayerInfo;
use crate::error::{Error, Result};

/// The fields a mod declares.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Declared {
    pub name: Option<String>,
    pub version: Option<String>,
    pub layers: Vec<LayerInfo>,
}

/// Strips a UTF-8 byte order mark.
pub(crate) fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

fn parse_json(bytes: &[u8], file: &str) -> Result<Value> {
    serde_json::from_slice(strip_bom(bytes)).map_err(|e| {
        Error::format(
            file,
            byte_offset(strip_bom(bytes), e.line(), e.column())
                + (bytes.len() - strip_bom(bytes).len()) as u64,
            format!("JSON: {e}"),
        )
    })
}

/// The byte offset of a 1-based line and column.
fn byte_offset(bytes: &[u8], line: usize, column: usize) -> u64 {
    let mut offset = 0usize;
    for (i, l) in bytes.split(|b| *b == b'\n').enumerate() {
        if i + 1 == line {
            return (offset + column.saturating_sub(1)).min(bytes.len()) as u64;
        }
        offset += l.len() + 1;
    }
    bytes.len() as u64
}

fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn priority(value: Option<&Value>) -> i32 {
    value
        .and_then(Value::as_i64)
        .map(|p| p.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32)
        .unwrap_or(0)
}

fn layer_list(
    value: Option<&Value>,
    name_key: &str,
    display_key: &str,
    prio_key: &str,
) -> Vec<LayerInfo> {
    let Some(Value::Array(items)) = value else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|l| {
            Some(LayerInfo {
                name: text(l.get(name_key))?,
                display_name: text(l.get(display_key)),
                priority: priority(l.get(prio_key)),
            })
        })
        .collect()
}

/// Parses `mod.config.json`.
pub(crate) fn parse_mod_config(bytes: &[u8], file: &str) -> Result<Declared> {
    let v = parse_json(bytes, file)?;
    if !v.is_object() {
        return Err(Error::format(
            file,
            0,
            "mod.config.json must hold a JSON object",
        ));
    }
    Ok(Declared {
        name: text(v.get("name")),
        version: text(v.get("version")),
        layers: layer_list(v.get("layers"), "name", "display_name", "priority"),
    })
}

/// Parses a fantome's `META/info.json`. `Layers` is an object keyed by layer name.
pub(crate) fn parse_fantome_info(bytes: &[u8], file: &str) -> Result<Declared> {
    let v = parse_json(bytes, file)?;
    if !v.is_object() {
        return Err(Error::format(file, 0, "info.json must hold a JSON object"));
    }
    let layers = match v.get("Layers") {
        Some(Value::Object(map)) => map
            .iter()
            .map(|(key, l)| LayerInfo {
                name: text(l.get("Name")).unwrap_or_else(|| key.clone()),
                display_name: text(l.get("DisplayName")),
                priority: priority(l.get("Priority")),
            })
            .collect(),
        _ => Vec::new(),
    };
    Ok(Declared {
        name: text(v.get("Name")),
        version: text(v.get("Version")),
        layers,
    })
}

/// Parses a modpkg's `_meta_/info.msgpack` (MessagePack with named fields).
pub(crate) fn parse_modpkg_info(bytes: &[u8], file: &str) -> Result<Declared> {
    let v: Value = rmp_serde::from_slice(bytes)
        .map_err(|e| Error::format(file, 0, format!("MessagePack metadata: {e}")))?;
    Ok(Declared {
        name: text(v.get("name")),
        version: text(v.get("version")),
        layers: layer_list(v.get("layers"), "name", "display_name", "priority"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mod_config_with_layers() {
        let d = parse_mod_config(
            br#"{"name":"x","version":"1.0.0","layers":[{"name":"base","priority":0},{"name":"chroma","display_name":"Chroma","priority":5},{"priority":3}]}"#,
            "mod.config.json",
        )
        .unwrap();
        assert_eq!(d.name.as_deref(), Some("x"));
        assert_eq!(d.layers.len(), 2);
        assert_eq!(d.layers[1].display_name.as_deref(), Some("Chroma"));
        assert_eq!(d.layers[1].priority, 5);
    }

    #[test]
    fn fantome_info_with_bom_and_numeric_version() {
        let d = parse_fantome_info(
            b"\xEF\xBB\xBF{\"Name\":\"Skin\",\"Version\":2,\"Layers\":{\"alt\":{\"Priority\":1}}}",
            "META/info.json",
        )
        .unwrap();
        assert_eq!(d.name.as_deref(), Some("Skin"));
        assert_eq!(d.version.as_deref(), Some("2"));
        assert_eq!(d.layers[0].name, "alt");
        let err = parse_fantome_info(b"{\n  \"Name\": ,}", "info.json").unwrap_err();
        assert!(matches!(err, Error::Format { offset: 12, .. }), "{err}");
    }
}
