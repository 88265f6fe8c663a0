//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::Path;

use modforge_dataset::{Dataset, DatasetOptions, TableInput, open_dataset};
use modforge_store::{Error, Hooks, Opened, Source};

/// Options for a dataset with an explicit version and a token source.
pub fn opts(dir: &Path, name: &str, version: &str, token: &str) -> DatasetOptions {
    let mut o = DatasetOptions::new(dir, name);
    o.version = Some(version.into());
    o.source = Some(Source::Token(token.into()));
    o
}

/// Builds a one-table dataset from CSV text.
pub fn csv_table(
    dir: &Path,
    csv: &[u8],
    configure: impl FnOnce(&mut DatasetOptions),
) -> Result<Opened<Dataset>, Error> {
    let mut o = opts(dir, "t", "1", &format!("{:?}", csv));
    configure(&mut o);
    open_dataset(
        o,
        vec![("t".into(), TableInput::CsvBytes(csv.to_vec()))],
        &Hooks::default(),
    )
}

/// Recomputes the payload length, payload checksum and header checksum of an image, so a
/// crafted payload passes checks 6 and 7 and reaches the structural checks (docs/store.md,
/// "Load checks").
pub fn reseal(image: &mut [u8]) {
    let payload_len = (image.len() - 192) as u64;
    image[152..160].copy_from_slice(&payload_len.to_le_bytes());
    let sum = xxhash_rust::xxh3::xxh3_128(&image[192..]);
    image[160..176].copy_from_slice(&sum.to_le_bytes());
    let head = xxhash_rust::xxh3::xxh3_64(&image[..184]);
    image[184..192].copy_from_slice(&head.to_le_bytes());
}

/// Names of the `.tmp` and `.del` files in a directory.
pub fn leftovers(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp") || n.ends_with(".del"))
        .collect();
    out.sort();
    out
}

/// Names of the `.mfs` files in a directory.
pub fn snapshots(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".mfs"))
        .collect();
    out.sort();
    out
}

/// A generated data set's tables as dataset inputs (CSV paths), in order.
pub fn inputs(set: &modforge_gen::dataset::GeneratedSet) -> Vec<(String, TableInput)> {
    set.tables
        .iter()
        .map(|t| (t.name.clone(), TableInput::CsvPath(t.path.clone())))
        .collect()
}
