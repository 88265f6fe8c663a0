//! The `extras` of the generated trees (hard links, every sort of symbolic link, empty folders,
//! unreadable folders, awkward names, special files, hidden entries, all age buckets, special
//! sizes) and the deep shape's path longer than 4,096 bytes (docs/profile.md, "Generated trees").

use std::fs::{self, File};
use std::io;
use std::path::Path;
use std::time::SystemTime;

use super::TreeSummary;
use super::build::{Content, fail, write_file};
use super::plan::{DAY, PlannedFile};
use crate::error::Error;

/// Creates entries and keeps the summary in step.
pub(crate) struct Maker<'a> {
    content: &'a Content,
    now: SystemTime,
    pub(crate) summary: &'a mut TreeSummary,
}

impl<'a> Maker<'a> {
    pub(crate) fn new(content: &'a Content, now: SystemTime, summary: &'a mut TreeSummary) -> Self {
        Maker {
            content,
            now,
            summary,
        }
    }

    pub(crate) fn dir(&mut self, path: &Path) -> Result<(), Error> {
        fs::create_dir(path).map_err(fail(path, "mkdir"))?;
        self.summary.dirs += 1;
        Ok(())
    }

    pub(crate) fn file(&mut self, path: &Path, size: u64, age: i64) -> Result<(), Error> {
        let planned = PlannedFile {
            dir: 0,
            name: String::new(),
            size,
            age,
            sparse: false,
        };
        write_file(path, &planned, self.content, self.now, size as usize)?;
        self.summary.files += 1;
        self.summary.file_bytes += size;
        Ok(())
    }

    /// A file whose creation the platform may refuse (names some file systems reject).
    fn optional_file(&mut self, path: &Path, size: u64) -> Result<(), Error> {
        match self.file(path, size, DAY) {
            Err(Error::Io { .. }) => Ok(()),
            other => other,
        }
    }

    /// Another name of an existing file; `inside` = the new name is inside the tree.
    fn hard_link(&mut self, original: &Path, link: &Path, inside: bool) -> Result<(), Error> {
        fs::hard_link(original, link).map_err(fail(link, "link"))?;
        if inside {
            self.summary.files += 1;
            self.summary.hard_links += 1;
        }
        Ok(())
    }

    /// A symbolic link; on Windows without the privilege it is left out.
    fn symlink(&mut self, target: &Path, link: &Path, to_dir: bool) -> Result<(), Error> {
        #[cfg(unix)]
        let made = {
            let _ = to_dir;
            std::os::unix::fs::symlink(target, link)
        };
        #[cfg(windows)]
        let made = if to_dir {
            std::os::windows::fs::symlink_dir(target, link)
        } else {
            std::os::windows::fs::symlink_file(target, link)
        };
        #[cfg(not(any(unix, windows)))]
        let made: io::Result<()> = {
            let _ = (target, to_dir);
            Err(io::Error::from(io::ErrorKind::Unsupported))
        };
        match made {
            Ok(()) => {
                self.summary.symlinks += 1;
                Ok(())
            }
            Err(e) if cfg!(windows) && e.kind() == io::ErrorKind::PermissionDenied => Ok(()),
            Err(e) => Err(fail(link, "symlink")(e)),
        }
    }
}

/// Creates `extras/` under `root`; `outside` receives the partners of links that leave the tree.
pub(crate) fn extras(root: &Path, outside: Option<&Path>, m: &mut Maker<'_>) -> Result<(), Error> {
    let x = root.join("extras");
    m.dir(&x)?;

    // Hard links: nlink 2 in one directory, nlink 3 over three directories, a partner outside.
    let links = x.join("links");
    m.dir(&links)?;
    m.dir(&links.join("sub"))?;
    m.file(&links.join("nl2-a"), 1000, 3 * DAY)?;
    m.hard_link(&links.join("nl2-a"), &links.join("nl2-b"), true)?;
    m.file(&links.join("nl3-a"), 3000, 3 * DAY)?;
    m.hard_link(&links.join("nl3-a"), &links.join("sub/nl3-b"), true)?;
    m.hard_link(&links.join("nl3-a"), &x.join("nl3-c"), true)?;
    if let Some(outside) = outside {
        fs::create_dir_all(outside).map_err(fail(outside, "mkdir"))?;
        m.file(&links.join("outside-partner"), 500, 3 * DAY)?;
        m.hard_link(
            &links.join("outside-partner"),
            &outside.join("partner"),
            false,
        )?;
    }

    // Symbolic links of every sort.
    let sl = x.join("symlinks");
    m.dir(&sl)?;
    m.file(&sl.join("target.txt"), 10, DAY)?;
    m.dir(&sl.join("sub"))?;
    m.file(&sl.join("sub/inner.txt"), 20, DAY)?;
    m.symlink(Path::new("target.txt"), &sl.join("to-file"), false)?;
    m.symlink(Path::new("sub"), &sl.join("to-dir"), true)?;
    m.symlink(Path::new("missing-target"), &sl.join("dangling"), false)?;
    m.symlink(&sl.join("target.txt"), &sl.join("absolute"), false)?;
    m.symlink(Path::new("."), &sl.join("self"), true)?;
    let cycle = x.join("cycle");
    m.dir(&cycle)?;
    m.dir(&cycle.join("a"))?;
    m.dir(&cycle.join("c"))?;
    m.symlink(Path::new("../c"), &cycle.join("a/b"), true)?;
    m.symlink(Path::new("../a"), &cycle.join("c/d"), true)?;

    // Empty folders, one at the end of a chain.
    m.dir(&x.join("empty"))?;
    m.dir(&x.join("e"))?;
    m.dir(&x.join("e/f"))?;

    // Hidden entries.
    m.file(&x.join(".hidden-file"), 5, DAY)?;
    m.dir(&x.join(".hidden-dir"))?;
    m.file(&x.join(".hidden-dir/inside"), 7, DAY)?;

    // Every age bucket, and the future.
    let ages = x.join("ages");
    m.dir(&ages)?;
    for (name, age) in [
        ("now", 0),
        ("3d", 3 * DAY),
        ("15d", 15 * DAY),
        ("100d", 100 * DAY),
        ("400d", 400 * DAY),
        ("future", -DAY),
    ] {
        m.file(&ages.join(format!("age-{name}.txt")), 64, age)?;
    }

    // Sizes: empty, one page, sparse 1 GiB with no data.
    let sizes = x.join("sizes");
    m.dir(&sizes)?;
    m.file(&sizes.join("zero"), 0, DAY)?;
    m.file(&sizes.join("page"), 4096, DAY)?;
    let sparse = sizes.join("sparse");
    File::create(&sparse)
        .and_then(|f| f.set_len(1 << 30))
        .map_err(fail(&sparse, "ftruncate"))?;
    m.summary.files += 1;
    m.summary.file_bytes += 1 << 30;

    names(&x.join("names"), m)?;
    unix_specials(&x, m)?;
    Ok(())
}

/// Unicode and otherwise awkward names.
fn names(dir: &Path, m: &mut Maker<'_>) -> Result<(), Error> {
    m.dir(dir)?;
    let long = format!("{}.txt", "L".repeat(251));
    for name in [
        "caf\u{e9}.txt",                           // NFC é
        "\u{1F3AE}-game.txt",                      // emoji
        "\u{4E2D}\u{6587}\u{6587}\u{4EF6}.txt",    // CJK
        "\u{5E9}\u{5DC}\u{5D5}\u{5DD}.txt",        // Hebrew (RTL)
        "\u{645}\u{631}\u{62D}\u{628}\u{627}.txt", // Arabic (RTL)
        "a\u{300}\u{301}\u{302}\u{303}.txt",       // combining marks
        long.as_str(),                             // 255 bytes
    ] {
        m.file(&dir.join(name), 16, DAY)?;
    }
    // NFD twin of the NFC name: normalisation-insensitive file systems (APFS) may refuse it.
    m.optional_file(&dir.join("cafe\u{301}.txt"), 16)?;
    #[cfg(unix)]
    m.file(&dir.join("line\nbreak.txt"), 16, DAY)?;
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::ffi::OsStrExt;
        m.file(
            &dir.join(std::ffi::OsStr::from_bytes(b"invalid-\xff\xfe.bin")),
            16,
            DAY,
        )?;
    }
    Ok(())
}

/// FIFO, Unix socket, a mode-000 folder and a mode-644 folder (Unix).
#[cfg(unix)]
fn unix_specials(x: &Path, m: &mut Maker<'_>) -> Result<(), Error> {
    let special = x.join("special");
    m.dir(&special)?;
    let fifo = special.join("fifo");
    make_fifo(&fifo).map_err(fail(&fifo, "mkfifo"))?;
    let socket = special.join("socket");
    drop(std::os::unix::net::UnixListener::bind(&socket).map_err(fail(&socket, "bind"))?);
    m.summary.other += 2;

    let locked = x.join("locked-000");
    m.dir(&locked)?;
    m.file(&locked.join("secret1"), 100, DAY)?;
    m.file(&locked.join("secret2"), 100, DAY)?;
    let nosearch = x.join("nosearch-644");
    m.dir(&nosearch)?;
    for name in ["n1", "n2", "n3"] {
        m.file(&nosearch.join(name), 50, DAY)?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn unix_specials(_x: &Path, _m: &mut Maker<'_>) -> Result<(), Error> {
    Ok(())
}

/// Removes search and read permissions from the extras' locked folders (done last: the tree is
/// complete before anything becomes unreadable).
#[cfg(unix)]
pub(crate) fn lock(root: &Path) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    for (name, mode) in [("extras/locked-000", 0o000), ("extras/nosearch-644", 0o644)] {
        let path = root.join(name);
        fs::set_permissions(&path, fs::Permissions::from_mode(mode))
            .map_err(fail(&path, "chmod"))?;
    }
    Ok(())
}

#[cfg(not(unix))]
pub(crate) fn lock(_root: &Path) -> Result<(), Error> {
    Ok(())
}

/// `mkfifo(path, 0o644)`.
#[cfg(all(unix, not(target_vendor = "apple")))]
fn make_fifo(path: &Path) -> io::Result<()> {
    use rustix::fs::{CWD, Mode, mkfifoat};
    Ok(mkfifoat(CWD, path, Mode::from(0o644))?)
}

/// `mkfifo(path, 0o644)` (rustix has no `mkfifoat` for Apple systems).
#[cfg(target_vendor = "apple")]
fn make_fifo(path: &Path) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    #[allow(unsafe_code)]
    // SAFETY: `c_path` is a NUL-terminated string that lives across the call; mkfifo only reads it.
    let rc = unsafe { libc::mkfifo(c_path.as_ptr(), 0o644) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// A chain under `root/long` whose deepest path exceeds 4,096 bytes (Linux `PATH_MAX`): the head is
/// created by full path, the tail beside it, then moved under the head (so no call names a path
/// over the limit). Each level holds a 10-byte file `f`. Skipped when `root` itself is too long.
#[cfg(target_os = "linux")]
pub(crate) fn long_chain(root: &Path, m: &mut Maker<'_>) -> Result<(), Error> {
    /// Bytes of each name in the chain.
    const LONG_NAME: usize = 100;
    let root_len = root.as_os_str().len();
    if root_len > 3000 {
        return Ok(());
    }
    let name = |level: usize| format!("l{level:03}{}", "x".repeat(LONG_NAME - 4));
    let head_levels = (3900 - root_len - "/long".len()) / (LONG_NAME + 1);
    let tail_levels = (4200 - 3900) / (LONG_NAME + 1) + 10;
    let mut head = root.join("long");
    m.dir(&head)?;
    for level in 0..head_levels {
        head.push(name(level));
        m.dir(&head)?;
        m.file(&head.join("f"), 10, DAY)?;
    }
    let tail_root = root.join("long-tail");
    fs::create_dir(&tail_root).map_err(fail(&tail_root, "mkdir"))?;
    let mut tail = tail_root.clone();
    for level in head_levels..head_levels + tail_levels {
        tail.push(name(level));
        m.dir(&tail)?;
        m.file(&tail.join("f"), 10, DAY)?;
    }
    let first = tail_root.join(name(head_levels));
    let dest = head.join(name(head_levels));
    fs::rename(&first, &dest).map_err(fail(&dest, "rename"))?;
    fs::remove_dir(&tail_root).map_err(fail(&tail_root, "rmdir"))
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn long_chain(_root: &Path, _m: &mut Maker<'_>) -> Result<(), Error> {
    Ok(())
}
