//! A `.modpkg` (format version 1) writer for generated mods, laid out as ltk_modpkg's builder
//! lays them out: header, layer/path/WAD tables, padding to 8 bytes, 61-byte chunk records, then
//! the metadata chunk and the chunks sorted by (WAD name, layer name). `.bnk`/`.wpk` chunks and
//! chunks that compress to 95 % or more are stored raw, others as one zstd frame (level 3).

use serde::Serialize;
use xxhash_rust::xxh3::xxh3_64;

use crate::error::Error;
use modforge_overlay::hash::{hex_name, path_hash};

/// One chunk to store.
#[derive(Clone, Debug)]
pub(crate) struct PkgChunk {
    /// Path (a hex name like `0123456789abcdef.bin` stands for that hash).
    pub path: String,
    /// Layer name.
    pub layer: String,
    /// WAD name (`Aatrox.wad.client`).
    pub wad: String,
    /// Uncompressed bytes.
    pub bytes: Vec<u8>,
}

#[derive(Serialize)]
struct LayerMeta<'a> {
    name: &'a str,
    display_name: &'a str,
    priority: i32,
}

#[derive(Serialize)]
struct License {
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
struct Author<'a> {
    name: &'a str,
    role: Option<&'a str>,
}

#[derive(Serialize)]
struct Info<'a> {
    schema_version: u32,
    name: &'a str,
    display_name: &'a str,
    description: Option<&'a str>,
    version: &'a str,
    distributor: Option<()>,
    authors: Vec<Author<'a>>,
    license: License,
    layers: Vec<LayerMeta<'a>>,
}

/// Encodes a package: `layers` are (name, priority); `base` must be among them.
pub(crate) fn encode(
    name: &str,
    layers: &[(&str, i32)],
    chunks: &[PkgChunk],
) -> Result<Vec<u8>, Error> {
    let info = Info {
        schema_version: 2,
        name,
        display_name: name,
        description: Some("generated"),
        version: "1.0.0",
        distributor: None,
        authors: vec![Author {
            name: "modforge-gen",
            role: None,
        }],
        license: License { kind: "none" },
        layers: layers
            .iter()
            .map(|(n, p)| LayerMeta {
                name: n,
                display_name: n,
                priority: *p,
            })
            .collect(),
    };
    let info_bytes = rmp_serde::to_vec_named(&info)
        .map_err(|e| Error::InvalidArgument(format!("msgpack: {e}")))?;

    let mut paths: Vec<String> = Vec::new();
    let mut wads: Vec<String> = Vec::new();
    let index_of = |list: &mut Vec<String>, s: &str| -> u32 {
        match list.iter().position(|x| x == s) {
            Some(i) => i as u32,
            None => {
                list.push(s.to_owned());
                (list.len() - 1) as u32
            }
        }
    };
    struct Rec {
        hash: u64,
        compression: u8,
        stored: Vec<u8>,
        size: u64,
        content: u64,
        path_index: u32,
        layer_index: u32,
        wad_index: u32,
    }
    let mut recs: Vec<Rec> = Vec::new();
    let meta_path = "_meta_/info.msgpack";
    let mi = index_of(&mut paths, meta_path);
    recs.push(Rec {
        hash: path_hash(meta_path),
        compression: 0,
        content: xxh3_64(&info_bytes),
        size: info_bytes.len() as u64,
        stored: info_bytes,
        path_index: mi,
        layer_index: u32::MAX,
        wad_index: u32::MAX,
    });
    let mut sorted: Vec<&PkgChunk> = chunks.iter().collect();
    sorted.sort_by(|a, b| {
        (a.wad.as_str(), a.layer.as_str()).cmp(&(b.wad.as_str(), b.layer.as_str()))
    });
    for c in sorted {
        let path = c.path.replace('\\', "/").to_lowercase();
        let file = path.rsplit('/').next().unwrap_or(&path);
        let hash = hex_name(file).unwrap_or_else(|| path_hash(&path));
        let raw_ext = path.ends_with(".bnk") || path.ends_with(".wpk");
        let z = zstd::bulk::compress(&c.bytes, 3)
            .map_err(|e| Error::InvalidArgument(format!("zstd: {e}")))?;
        let (compression, stored) = if raw_ext || z.len() * 100 >= c.bytes.len() * 95 {
            (0u8, c.bytes.clone())
        } else {
            (1u8, z)
        };
        let layer_index = layers
            .iter()
            .position(|(n, _)| *n == c.layer)
            .ok_or_else(|| Error::InvalidArgument(format!("layer {} not declared", c.layer)))?
            as u32;
        recs.push(Rec {
            hash,
            compression,
            content: xxh3_64(&c.bytes),
            size: c.bytes.len() as u64,
            stored,
            path_index: index_of(&mut paths, &path),
            layer_index,
            wad_index: index_of(&mut wads, &c.wad),
        });
    }
    let mut out = Vec::new();
    out.extend_from_slice(b"_modpkg_");
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&(recs.len() as u32).to_le_bytes());
    out.extend_from_slice(&(layers.len() as u32).to_le_bytes());
    for (n, p) in layers {
        out.extend_from_slice(&(n.len() as u32).to_le_bytes());
        out.extend_from_slice(n.as_bytes());
        out.extend_from_slice(&p.to_le_bytes());
    }
    for list in [&paths, &wads] {
        out.extend_from_slice(&(list.len() as u32).to_le_bytes());
        for s in list.iter() {
            out.extend_from_slice(s.as_bytes());
            out.push(0);
        }
    }
    while out.len() % 8 != 0 {
        out.push(0);
    }
    let mut data_at = (out.len() + recs.len() * 61) as u64;
    let mut data = Vec::new();
    for r in &recs {
        out.extend_from_slice(&r.hash.to_le_bytes());
        out.extend_from_slice(&data_at.to_le_bytes());
        out.push(r.compression);
        out.extend_from_slice(&(r.stored.len() as u64).to_le_bytes());
        out.extend_from_slice(&r.size.to_le_bytes());
        out.extend_from_slice(&xxh3_64(&r.stored).to_le_bytes());
        out.extend_from_slice(&r.content.to_le_bytes());
        out.extend_from_slice(&r.path_index.to_le_bytes());
        out.extend_from_slice(&r.layer_index.to_le_bytes());
        out.extend_from_slice(&r.wad_index.to_le_bytes());
        data_at += r.stored.len() as u64;
        data.extend_from_slice(&r.stored);
    }
    out.extend_from_slice(&data);
    Ok(out)
}
