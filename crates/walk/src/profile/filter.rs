//! Name filters: gitignore-like glob lists, the extension list and extension keys
//! (docs/profile.md, "Options" and "Semantics").

use std::ffi::OsStr;
use std::path::Path;

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use crate::error::Error;

/// A list of gitignore-like patterns, split by what they are matched against.
///
/// Rules: a pattern without `/` (other than a trailing one) matches the entry's name at any depth; a
/// leading or inner `/` anchors it at the root and it is matched against the `/`-separated relative
/// path; a trailing `/` restricts it to directories; `*`, `?` and `[...]` never cross `/`, `**` does;
/// case-sensitive; `\` escapes.
#[derive(Debug)]
pub(crate) struct Patterns {
    by_name: GlobSet,
    by_name_dirs: GlobSet,
    by_path: GlobSet,
    by_path_dirs: GlobSet,
}

impl Patterns {
    /// Compiles `patterns`; `option` names the option in error messages.
    pub(crate) fn new(patterns: &[String], option: &str) -> Result<Self, Error> {
        let mut by_name = GlobSetBuilder::new();
        let mut by_name_dirs = GlobSetBuilder::new();
        let mut by_path = GlobSetBuilder::new();
        let mut by_path_dirs = GlobSetBuilder::new();
        for pattern in patterns {
            let invalid = |why: &str| {
                Error::InvalidArgument(format!("{option}: bad pattern {pattern:?}: {why}"))
            };
            let (body, dirs_only) = match pattern.strip_suffix('/') {
                Some(body) => (body, true),
                None => (pattern.as_str(), false),
            };
            let anchored = body.contains('/');
            let body = body.strip_prefix('/').unwrap_or(body);
            if body.is_empty() {
                return Err(invalid("empty pattern"));
            }
            let glob = GlobBuilder::new(body)
                .literal_separator(true)
                .backslash_escape(true)
                .case_insensitive(false)
                .build()
                .map_err(|e| invalid(&e.kind().to_string()))?;
            let target = match (anchored, dirs_only) {
                (false, false) => &mut by_name,
                (false, true) => &mut by_name_dirs,
                (true, false) => &mut by_path,
                (true, true) => &mut by_path_dirs,
            };
            target.add(glob);
        }
        let build = |b: GlobSetBuilder| {
            b.build()
                .map_err(|e| Error::InvalidArgument(format!("{option}: {e}")))
        };
        Ok(Patterns {
            by_name: build(by_name)?,
            by_name_dirs: build(by_name_dirs)?,
            by_path: build(by_path)?,
            by_path_dirs: build(by_path_dirs)?,
        })
    }

    /// No pattern at all.
    pub(crate) fn is_empty(&self) -> bool {
        self.by_name.is_empty() && self.by_name_dirs.is_empty() && !self.needs_path()
    }

    /// Some pattern is matched against the relative path (the caller must build it).
    pub(crate) fn needs_path(&self) -> bool {
        !self.by_path.is_empty() || !self.by_path_dirs.is_empty()
    }

    /// Whether an entry matches. `rel_path` is required when [`Self::needs_path`].
    pub(crate) fn matches(&self, name: &OsStr, rel_path: Option<&str>, is_dir: bool) -> bool {
        let name = Path::new(name);
        if self.by_name.is_match(name) || (is_dir && self.by_name_dirs.is_match(name)) {
            return true;
        }
        match rel_path {
            Some(rel) => self.by_path.is_match(rel) || (is_dir && self.by_path_dirs.is_match(rel)),
            None => false,
        }
    }
}

/// The extension of a file name as Rust's `Path::extension` finds it, `None` when there is none or
/// it is empty (`a.`), or for a dot-file without another dot (`.bashrc`).
pub(crate) fn raw_extension(name: &[u8]) -> Option<&[u8]> {
    if name == b".." {
        return None;
    }
    let dot = name.iter().rposition(|&b| b == b'.')?;
    if dot == 0 {
        return None;
    }
    name.get(dot + 1..).filter(|ext| !ext.is_empty())
}

/// The report key of a raw extension: `.` + lower case (Unicode, locale-free), or `"<none>"`.
pub(crate) fn extension_key(raw: Option<&[u8]>) -> String {
    match raw {
        Some(ext) => format!(".{}", String::from_utf8_lossy(ext).to_lowercase()),
        None => NO_EXTENSION.to_string(),
    }
}

/// Key of files without an extension.
pub(crate) const NO_EXTENSION: &str = "<none>";

/// The `extensions` option: a set of report keys (`.txt`, or `<none>` for `""`).
#[derive(Debug)]
pub(crate) struct Extensions {
    keys: Vec<String>,
}

impl Extensions {
    /// Normalises the option values: leading dot optional, case-insensitive, `""` = no extension.
    pub(crate) fn new(values: &[String]) -> Self {
        let keys = values
            .iter()
            .map(|v| {
                let bare = v.strip_prefix('.').unwrap_or(v);
                if bare.is_empty() {
                    NO_EXTENSION.to_string()
                } else {
                    format!(".{}", bare.to_lowercase())
                }
            })
            .collect();
        Extensions { keys }
    }

    /// No restriction.
    pub(crate) fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether a file with this raw extension is selected.
    pub(crate) fn selects(&self, raw: Option<&[u8]>) -> bool {
        match raw {
            Some(ext) if ext.is_ascii() => self.keys.iter().any(|k| {
                k.as_bytes()
                    .get(1..)
                    .is_some_and(|k| k.eq_ignore_ascii_case(ext))
                    && k.starts_with('.')
            }),
            _ => {
                let key = extension_key(raw);
                self.keys.contains(&key)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ext(name: &str) -> String {
        extension_key(raw_extension(name.as_bytes()))
    }

    #[test]
    fn extension_edge_names() {
        assert_eq!(ext(".bashrc"), "<none>");
        assert_eq!(ext("a."), "<none>");
        assert_eq!(ext("A.TAR.GZ"), ".gz");
        assert_eq!(ext("x.<none>"), ".<none>");
        assert_eq!(ext("noext"), "<none>");
        assert_eq!(ext(".."), "<none>");
        assert_eq!(ext("..foo"), ".foo");
        assert_eq!(ext("Ä.ÖL"), ".öl");
    }

    #[test]
    fn extension_list_matches_case_insensitively() {
        let e = Extensions::new(&["TXT".into(), ".Gz".into(), String::new()]);
        assert!(e.selects(Some(b"txt")));
        assert!(e.selects(Some(b"TxT")));
        assert!(e.selects(Some(b"gz")));
        assert!(e.selects(None));
        assert!(!e.selects(Some(b"js")));
        let e = Extensions::new(&["öl".into()]);
        assert!(e.selects(Some("ÖL".as_bytes())));
        assert!(!Extensions::new(&["<none>".into()]).selects(None));
    }

    #[test]
    fn patterns_follow_gitignore_rules() {
        let p = Patterns::new(
            &[
                "*.txt".into(),
                "build/".into(),
                "/top".into(),
                "a/**/z".into(),
                "x/*".into(),
            ],
            "exclude",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(p.needs_path());
        let m = |name: &str, rel: &str, dir: bool| p.matches(OsStr::new(name), Some(rel), dir);
        assert!(m("a.txt", "a.txt", false));
        assert!(m("a.txt", "deep/er/a.txt", false));
        assert!(!m("a.TXT", "a.TXT", false));
        assert!(m("build", "src/build", true));
        assert!(!m("build", "src/build", false));
        assert!(m("top", "top", false));
        assert!(!m("top", "sub/top", false));
        assert!(m("z", "a/z", false));
        assert!(m("z", "a/b/c/z", false));
        assert!(m("y", "x/y", false));
        assert!(!m("z", "x/y/z", false));
    }

    #[test]
    fn bad_pattern_is_named() {
        let err = Patterns::new(&["[".into()], "exclude")
            .map(|_| ())
            .unwrap_err();
        assert!(
            matches!(&err, Error::InvalidArgument(m) if m.contains("\"[\"")),
            "{err}"
        );
        assert!(Patterns::new(&["/".into()], "exclude").is_err());
    }

    proptest::proptest! {
        #[test]
        fn raw_extension_agrees_with_std(name in "[a-zA-Z.]{0,12}") {
            let std_ext = std::path::Path::new(&name).extension().map(|e| e.as_encoded_bytes().to_vec());
            let expected = std_ext.filter(|e| !e.is_empty());
            // std treats a trailing separator-free name as a file name; "" and names of dots only aside
            if !name.is_empty() && name.chars().any(|c| c != '.') {
                proptest::prop_assert_eq!(raw_extension(name.as_bytes()).map(<[u8]>::to_vec), expected);
            }
        }

        #[test]
        fn any_pattern_list_compiles_or_is_rejected(patterns in proptest::collection::vec("[a-z*?/\\\\\\[\\]{}!,.-]{0,10}", 0..4)) {
            match Patterns::new(&patterns, "exclude") {
                Ok(p) => {
                    let _ = p.matches(OsStr::new("a.txt"), Some("x/a.txt"), false);
                }
                Err(Error::InvalidArgument(m)) => proptest::prop_assert!(m.starts_with("exclude")),
                Err(other) => proptest::prop_assert!(false, "unexpected {other}"),
            }
        }

        #[test]
        fn bytes_never_panic(name in proptest::collection::vec(proptest::num::u8::ANY, 0..40)) {
            let ext = raw_extension(&name);
            let _ = extension_key(ext);
            let _ = Extensions::new(&["txt".into(), String::new()]).selects(ext);
        }
    }
}
