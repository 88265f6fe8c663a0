//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::Path;

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
