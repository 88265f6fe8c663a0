//! Extraction of an ERF-family archive's resources into a folder (`modforge erf extract`): each
//! resource becomes `<resref>.<ext>` written atomically; a name that could leave the folder or is
//! not a plain file name is skipped and reported (docs/icons.md, "ERF extraction").

use std::path::{Path, PathBuf};

use modforge_core::{Control, Progress, Stage};

use crate::erf::Erf;
use crate::error::Error;
use crate::io::FileAt;

/// What [`extract`] wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Extracted {
    /// Files written, in key-list order.
    pub files: Vec<PathBuf>,
    /// Bytes written.
    pub bytes: u64,
    /// Entries whose name is not a safe file name (`resref.ext` with `/`, `\`, `:`, a leading
    /// dot, ...), not written.
    pub skipped: Vec<String>,
    /// Warnings of the archive reader (rejected keys and the like).
    pub warnings: Vec<String>,
}

/// The file name of a resource: `<resref>.<ext>`, or `<resref>.<type id>` for a type NWN2 does
/// not name.
pub fn file_name(resref: &str, res_type: crate::key::ResType) -> String {
    match res_type.extension() {
        Some(ext) => format!("{resref}.{ext}"),
        None => format!("{resref}.{}", res_type.0),
    }
}

/// Whether `name` is one plain file name on every platform: no separators or drive colons, no
/// characters Windows refuses, not starting with a dot (so never `.` or `..`).
fn is_plain(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && !name.ends_with(['.', ' '])
        && !name.chars().any(|c| {
            matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|') || c.is_control()
        })
}

/// Writes the resources of the archive at `path` (all of them, or those whose `resref.ext` or
/// resref is in `names`) into `out_dir`, each through the store's atomic write. Progress: stage
/// `extract`, `done`/`total` = resources.
pub fn extract(
    path: &Path,
    out_dir: &Path,
    names: Option<&[String]>,
    control: &Control<'_>,
) -> Result<Extracted, Error> {
    let label = path.display().to_string();
    let file = FileAt::open(path)?;
    let erf = Erf::parse(&file, &label)?;
    let wanted = |resref: &str, name: &str| {
        names.is_none_or(|list| {
            list.iter()
                .any(|n| n.eq_ignore_ascii_case(name) || n.eq_ignore_ascii_case(resref))
        })
    };
    let chosen: Vec<_> = erf
        .entries
        .iter()
        .filter(|e| {
            wanted(
                e.key.resref.as_str(),
                &file_name(e.key.resref.as_str(), e.key.res_type),
            )
        })
        .collect();
    std::fs::create_dir_all(out_dir).map_err(|e| Error::io("mkdir", out_dir, e))?;
    let total = chosen.len() as u64;
    let mut out = Extracted {
        warnings: erf.warnings.clone(),
        ..Extracted::default()
    };
    // Writes poll the same cancellation flag but report no progress of their own.
    let quiet = Control {
        cancel: control.cancel,
        progress: None,
    };
    let hooks = modforge_store::Hooks {
        control: quiet,
        ..Default::default()
    };
    for (done, entry) in chosen.into_iter().enumerate() {
        control.check()?;
        let name = file_name(entry.key.resref.as_str(), entry.key.res_type);
        control.report(Progress::of(Stage::Extract, done as u64, total).at(&name));
        if !is_plain(&name) {
            out.skipped.push(name);
            continue;
        }
        let data = erf.read(&file, entry, &label)?;
        let target = out_dir.join(&name);
        modforge_store::write_file(&target, &data, &hooks).map_err(|e| match e {
            modforge_store::Error::Io { path, op, source } => Error::io(op, path, source),
            modforge_store::Error::Aborted => Error::Aborted,
            other => Error::InvalidArg(other.to_string()),
        })?;
        out.bytes += data.len() as u64;
        out.files.push(target);
    }
    control.report(Progress::of(Stage::Extract, total, total));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_names_are_written() {
        assert!(is_plain("is_fireball.tga"));
        assert!(is_plain("a b.txt"));
        for bad in [
            "../x.tga",
            "..",
            ".hidden.tga",
            "a/b.tga",
            "a\\b.tga",
            "c:x.tga",
            "x.tga.",
            "nul\u{1}.txt",
        ] {
            assert!(!is_plain(bad), "{bad}");
        }
    }
}
