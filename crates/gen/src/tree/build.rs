//! Creates a [`Plan`] on disk: directories in order, files in parallel.

use std::fs::{self, File, FileTimes};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use std::sync::atomic::{AtomicU64, Ordering};

use modforge_core::{Control, Progress, Stage};

use super::plan::{Plan, PlannedFile};
use crate::error::Error;
use crate::rng::SplitMix64;

/// Bytes written at the start of a sparse file.
pub(crate) const SPARSE_HEADER: u64 = 4096;

/// Maps an I/O error of `syscall` on `path` into [`Error::Io`].
pub(crate) fn fail<'p>(
    path: &'p Path,
    syscall: &'static str,
) -> impl FnOnce(io::Error) -> Error + 'p {
    move |source| Error::Io {
        path: path.to_path_buf(),
        syscall,
        source,
    }
}

/// The time `age` seconds before `now` (after it when negative).
pub(crate) fn time_before(now: SystemTime, age: i64) -> SystemTime {
    let d = Duration::from_secs(age.unsigned_abs());
    let t = if age >= 0 {
        now.checked_sub(d)
    } else {
        now.checked_add(d)
    };
    t.unwrap_or(now)
}

/// File contents: a seeded pattern; a file of size `n` gets `n` bytes of it starting at an offset.
pub(crate) struct Content {
    pattern: Vec<u8>,
}

impl Content {
    pub(crate) fn new(seed: u64) -> Self {
        let mut rng = SplitMix64::stream(seed, u64::MAX);
        let pattern = (0..(64 << 10) / 8)
            .flat_map(|_| rng.next_u64().to_le_bytes())
            .collect();
        Content { pattern }
    }

    fn write(&self, out: &mut File, mut len: u64, start: usize) -> io::Result<()> {
        let mut offset = start % self.pattern.len().max(1);
        while len > 0 {
            let tail = self.pattern.get(offset..).unwrap_or_default();
            let n = tail.len().min(usize::try_from(len).unwrap_or(usize::MAX));
            out.write_all(tail.get(..n).unwrap_or_default())?;
            len -= n as u64;
            offset = 0;
        }
        Ok(())
    }
}

/// Writes one file (size, content, mtime) at `path`.
pub(crate) fn write_file(
    path: &Path,
    file: &PlannedFile,
    content: &Content,
    now: SystemTime,
    salt: usize,
) -> Result<(), Error> {
    let mut out = File::create(path).map_err(fail(path, "open"))?;
    let body = if file.sparse {
        file.size.min(SPARSE_HEADER)
    } else {
        file.size
    };
    content
        .write(&mut out, body, salt.wrapping_mul(131))
        .map_err(fail(path, "write"))?;
    if file.sparse && file.size > body {
        out.set_len(file.size).map_err(fail(path, "ftruncate"))?;
    }
    let t = time_before(now, file.age);
    out.set_times(FileTimes::new().set_modified(t).set_accessed(t))
        .map_err(fail(path, "utimes"))
}

/// Entries created between two progress reports.
const REPORT_EVERY: u64 = 1024;

/// Creates the plan under `root`. With `store`, each file is written there and hard-linked into the
/// tree (pnpm layout: every file has a second name outside the root). Progress: stage `generate`,
/// `done`/`total` = folders and files created.
pub(crate) fn build(
    root: &Path,
    plan: &Plan,
    seed: u64,
    now: SystemTime,
    store: Option<&Path>,
    control: &Control<'_>,
) -> Result<(), Error> {
    let total = (plan.dirs.len() + plan.files.len()) as u64;
    let created = AtomicU64::new(0);
    let step = |n: u64| -> Result<(), Error> {
        let done = created.fetch_add(n, Ordering::Relaxed) + n;
        if done % REPORT_EVERY < n || done == total {
            control.check()?;
            control.report(Progress::of(Stage::Generate, done, total));
        }
        Ok(())
    };
    step(1)?;
    for dir in plan.dirs.iter().skip(1) {
        let path = root.join(dir);
        fs::create_dir(&path).map_err(fail(&path, "mkdir"))?;
        step(1)?;
    }
    if let Some(store) = store {
        fs::create_dir_all(store).map_err(fail(store, "mkdir"))?;
        for bucket in 0..256 {
            let path = store.join(format!("{bucket:02x}"));
            fs::create_dir_all(&path).map_err(fail(&path, "mkdir"))?;
        }
    }
    let content = Content::new(seed);
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 16);
    let per_thread = plan.files.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = plan
            .files
            .chunks(per_thread)
            .enumerate()
            .map(|(chunk, files)| {
                let content = &content;
                scope.spawn(move || -> Result<(), Error> {
                    for (i, file) in files.iter().enumerate() {
                        let index = chunk * per_thread + i;
                        let path = root.join(plan.dir_path(file.dir)).join(&file.name);
                        match store {
                            Some(store) => {
                                let stored: PathBuf = store
                                    .join(format!("{:02x}", index % 256))
                                    .join(format!("{index}"));
                                write_file(&stored, file, content, now, index)?;
                                fs::hard_link(&stored, &path).map_err(fail(&path, "link"))?;
                            }
                            None => write_file(&path, file, content, now, index)?,
                        }
                        step(1)?;
                    }
                    Ok(())
                })
            })
            .collect();
        handles.into_iter().try_for_each(|h| {
            // A panic in a writer thread is a bug: let it reach the caller's panic boundary.
            h.join()
                .unwrap_or_else(|payload| std::panic::resume_unwind(payload))
        })
    })
}
