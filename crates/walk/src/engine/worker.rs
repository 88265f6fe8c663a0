//! Job execution on one worker: listing, stat chunks, following links.

use std::ffi::OsStr;
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::Arc;
use std::thread;

use crossbeam_deque::Worker;

use super::budget::OpenDir;
use super::entry::{
    Candidate, DirId, DirNode, Entry, EntryKind, FileId, Meta, dir_identity, push_rel_path,
};
use super::follow::{PutAside, Seen};
use super::pool::{Finished, Job, Pool, StatChunk, panic_message};
use super::sys::{DirHandle, DirReader, Listed, NameChunk};
use super::{Visit, Visitor, VisitorFactory, WalkConfig, WalkError};
use crate::error::{Error, ErrorOp};

/// Times an idle worker yields and looks again before it parks, when no more workers are awake
/// than there are cores (a futex wake-up costs more than a stat chunk; with more workers awake than
/// cores, yielding only takes the core from a worker that has work).
const SPIN_ROUNDS: u32 = 16;

/// Cancellation is checked every this many entries inside a job.
const CHECK_EVERY: u64 = 256;

/// Stat chunks a lister leaves in its deque for other workers before it runs further chunks itself.
const STOCK: usize = 2;

/// A worker's view of the walk: the pool, its own deque and its visitor.
pub(crate) struct WorkerCtx<'p, 'a, V> {
    pool: &'p Pool<'a>,
    index: usize,
    local: &'p Worker<Job>,
    config: &'p WalkConfig,
    stat_chunk: usize,
    visitor: V,
    next_dir: u64,
    /// The directory this worker listed last, kept open so that its subdirectory (usually the next
    /// job) opens relative to it.
    recent: Option<Recent>,
    /// Reused buffer for relative paths.
    scratch: String,
}

/// An open directory kept after its listing.
struct Recent {
    dir: DirId,
    handle: Arc<DirHandle>,
    _open: Arc<OpenDir>,
}

/// The state of one directory listing: where subdirectories and stat chunks go.
struct Listing<'d> {
    dir: &'d Arc<DirNode>,
    open: &'d Arc<OpenDir>,
    handle: Arc<DirHandle>,
    subdirs: Vec<Arc<DirNode>>,
    chunk: NameChunk,
}

impl<'p, 'a, V: Visitor> WorkerCtx<'p, 'a, V> {
    pub(crate) fn new(
        pool: &'p Pool<'a>,
        index: usize,
        local: &'p Worker<Job>,
        config: &'p WalkConfig,
        visitor: V,
    ) -> Self {
        WorkerCtx {
            pool,
            index,
            local,
            config,
            stat_chunk: config.stat_chunk.clamp(1, 4096),
            visitor,
            next_dir: 0,
            recent: None,
            scratch: String::new(),
        }
    }

    pub(crate) fn visitor_mut(&mut self) -> &mut V {
        &mut self.visitor
    }

    pub(crate) fn into_visitor(self) -> V {
        self.visitor
    }

    /// Closes the directory kept open since the last listing (before parking).
    pub(crate) fn release_recent(&mut self) {
        self.recent = None;
    }

    pub(crate) fn execute(&mut self, job: Job) -> Result<(), Error> {
        match job {
            Job::Root(node, meta) => self.root(node, meta),
            Job::ReadDir(dir) => self.read_dir(dir),
            Job::Stat(chunk) => self.stat_entries(&chunk.dir, &chunk.names),
        }
    }

    /// A new directory identifier, unique over all workers (worker index in the high bits).
    fn new_dir_id(&mut self) -> DirId {
        self.next_dir += 1;
        DirId(((self.index as u64 + 1) << 40) | self.next_dir)
    }

    /// Whether directories at `depth` are read.
    fn reads_depth(&self, depth: u32) -> bool {
        self.config.max_depth.is_none_or(|max| depth < max)
    }

    fn report(
        &mut self,
        dir: &DirNode,
        name: Option<&OsStr>,
        op: ErrorOp,
        error: &io::Error,
    ) -> Result<(), Error> {
        self.visitor.error(&WalkError {
            dir,
            name,
            op,
            error,
        })
    }

    fn root(&mut self, node: Arc<DirNode>, meta: Meta) -> Result<(), Error> {
        let entry = Entry {
            parent: None,
            name: OsStr::new(""),
            kind: EntryKind::Dir,
            depth: 0,
            meta: self.config.stats.then_some(&meta),
            followed: false,
            dir: Some((node.id, &node.rel)),
        };
        if self.visitor.visit(&entry)? == Visit::Enter && self.reads_depth(0) {
            self.pool.push(self.local, Job::ReadDir(node));
        }
        Ok(())
    }

    fn read_dir(&mut self, dir: Arc<DirNode>) -> Result<(), Error> {
        if let Some(slot) = self
            .pool
            .control()
            .progress
            .and_then(|slots| slots.get(self.index))
        {
            slot.set_current(&dir.rel);
        }
        let open = match self.pool.try_open_dir() {
            Some(open) => open,
            None => {
                // Out of budget: give back the kept handle before waiting for another.
                self.recent = None;
                let Some(open) = self.pool.open_dir() else {
                    return Ok(());
                };
                open
            }
        };
        let parent = match (&self.recent, dir.parent.as_deref()) {
            (Some(recent), Some(p)) if recent.dir == p.id && !dir.via_link => {
                dir.abs.file_name().map(|name| (&*recent.handle, name))
            }
            _ => None,
        };
        let mut reader = match DirReader::open(&dir.abs, parent) {
            Ok(r) => r,
            Err(e) => return self.report(&dir, None, ErrorOp::Opendir, &e),
        };
        let handle = reader.handle();
        let chunk = NameChunk::new(Arc::clone(&handle), self.stat_chunk);
        let mut listing = Listing {
            dir: &dir,
            open: &open,
            handle,
            subdirs: Vec::new(),
            chunk,
        };
        let mut count = 0u64;
        let mut complete = true;
        let mut entries = reader.entries();
        while let Some(item) = entries.next_entry() {
            if count % CHECK_EVERY == 0 && self.pool.should_stop() {
                return Ok(());
            }
            let entry = match item {
                Ok(entry) if entry.is_dot() => continue,
                Ok(entry) => entry,
                // Nothing was consumed: read again.
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    complete = false;
                    self.report(&dir, None, ErrorOp::Readdir, &e)?;
                    break;
                }
            };
            count += 1;
            self.listed_entry(&mut listing, entry)?;
        }
        drop(reader);
        self.visitor.listed(&dir, count, complete);
        if !listing.chunk.is_empty() {
            self.stat_entries(&dir, &listing.chunk)?;
        }
        // Run this directory's chunks that nobody stole before descending (bounds open handles).
        while let Some(job) = self.local.pop() {
            match job {
                Job::Stat(chunk) if Arc::ptr_eq(&chunk.dir, &dir) => {
                    let result = self.stat_entries(&chunk.dir, &chunk.names);
                    // This listing is itself a pending job: the count does not reach zero here.
                    let _ = self.pool.finish_job();
                    result?;
                }
                other => {
                    self.local.push(other);
                    break;
                }
            }
        }
        for sub in listing.subdirs {
            self.pool.push(self.local, Job::ReadDir(sub));
        }
        self.recent = Some(Recent {
            dir: dir.id,
            handle: listing.handle,
            _open: open,
        });
        Ok(())
    }

    /// Handles one listed entry: admit, then inline (directories, followed links, names-only mode,
    /// entries whose kind needed their metadata) or into the current stat chunk.
    fn listed_entry(
        &mut self,
        listing: &mut Listing<'_>,
        mut entry: Listed<'_>,
    ) -> Result<(), Error> {
        let dir = listing.dir;
        let kind = match entry.kind() {
            Ok(kind) => kind,
            Err(e) => return self.report(dir, Some(entry.name()), ErrorOp::Lstat, &e),
        };
        let candidate = Candidate {
            parent: dir,
            name: entry.name(),
            kind,
            hidden_attribute: entry.hidden_attribute(),
        };
        if !self.visitor.admit(&candidate) {
            return Ok(());
        }
        match kind {
            EntryKind::Dir => {
                let needs_meta =
                    self.config.stats || self.config.one_file_system || self.config.follow_symlinks;
                let meta = if needs_meta {
                    match entry.lstat() {
                        Ok(m) => Some(m),
                        Err(e) => {
                            self.report(dir, Some(entry.name()), ErrorOp::Lstat, &e)?;
                            return self.visit_unstattable(dir, entry.name(), kind);
                        }
                    }
                } else {
                    None
                };
                self.visit_dir(listing, entry.name(), meta, false)
            }
            EntryKind::Symlink if self.config.follow_symlinks => self.follow(listing, &entry),
            _ if self.config.stats && entry.known_meta().is_none() => {
                entry.keep(&mut listing.chunk);
                if listing.chunk.len() >= self.stat_chunk {
                    let fresh = NameChunk::new(Arc::clone(&listing.handle), self.stat_chunk);
                    let names = std::mem::replace(&mut listing.chunk, fresh);
                    // Keep a little stealable work in the deque; run the rest inline while the
                    // names are hot in the caches.
                    if self.local.len() < STOCK || self.pool.has_idle_workers() {
                        let chunk = StatChunk {
                            dir: Arc::clone(dir),
                            names,
                            _open: Arc::clone(listing.open),
                        };
                        self.pool.push(self.local, Job::Stat(chunk));
                    } else {
                        self.stat_entries(dir, &names)?;
                    }
                }
                Ok(())
            }
            _ => {
                let meta = entry.known_meta().filter(|_| self.config.stats);
                let visited = Entry {
                    parent: Some(dir),
                    name: entry.name(),
                    kind,
                    depth: dir.depth + 1,
                    meta: meta.as_ref(),
                    followed: false,
                    dir: None,
                };
                self.visitor.visit(&visited).map(drop)
            }
        }
    }

    /// Visits a directory entry (or a link followed to one) and queues it for reading when allowed.
    fn visit_dir(
        &mut self,
        listing: &mut Listing<'_>,
        name: &OsStr,
        meta: Option<Meta>,
        followed: bool,
    ) -> Result<(), Error> {
        let dir = listing.dir;
        let abs = dir.abs.join(name);
        let file_id = meta
            .as_ref()
            .and_then(|m| dir_identity(&abs, m, self.config.follow_symlinks));
        if let Some(sub) = self.enter_dir(dir, name, abs, meta, file_id, followed)? {
            listing.subdirs.push(sub);
        }
        Ok(())
    }

    /// Visits a directory named `name` in `dir` and returns its node when it is to be read: within
    /// the depth and device limits and, when links are followed, read by nobody yet (a directory
    /// read under another name is visited, not read; one that is `dir` itself or one of its
    /// ancestors is a loop: reported, not visited).
    fn enter_dir(
        &mut self,
        dir: &Arc<DirNode>,
        name: &OsStr,
        abs: PathBuf,
        meta: Option<Meta>,
        file_id: Option<FileId>,
        followed: bool,
    ) -> Result<Option<Arc<DirNode>>, Error> {
        let follow = self.pool.follow().zip(file_id);
        let seen = follow.map_or(Seen::New, |(f, id)| f.seen(dir, id));
        if seen == Seen::Loop {
            let op = if followed {
                ErrorOp::Stat
            } else {
                ErrorOp::Lstat
            };
            self.report(dir, Some(name), op, &crate::errno::symlink_loop())?;
            return Ok(None);
        }
        let depth = dir.depth + 1;
        let id = self.new_dir_id();
        self.scratch.clear();
        push_rel_path(&mut self.scratch, &dir.rel, name);
        let rel: Arc<str> = Arc::from(self.scratch.as_str());
        let entry = Entry {
            parent: Some(dir),
            name,
            kind: EntryKind::Dir,
            depth,
            meta: meta.as_ref().filter(|_| self.config.stats),
            followed,
            dir: Some((id, &rel)),
        };
        let visit = self.visitor.visit(&entry)?;
        let same_device = !self.config.one_file_system || same_device_as_root(dir, meta.as_ref());
        let read = visit == Visit::Enter
            && self.reads_depth(depth)
            && same_device
            && seen == Seen::New
            // Two names of one directory without a link between them (a bind mount) race here:
            // the first claims it.
            && follow.is_none_or(|(f, id)| f.claim(id));
        Ok(read.then(|| {
            Arc::new(DirNode {
                abs,
                rel,
                depth,
                id,
                file_id,
                via_link: followed,
                parent: Some(Arc::clone(dir)),
            })
        }))
    }

    /// Resolves the rounds of a walk that follows links (see [`super::follow`]): called when the
    /// last job of a round finished and links were put aside. Each target nobody read meanwhile is
    /// read under the first link of its group; the other links are visited as further names.
    pub(crate) fn next_round(&mut self) -> Result<(), Error> {
        loop {
            let links = self
                .pool
                .follow()
                .map(|f| f.take_round())
                .unwrap_or_default();
            for link in links {
                let PutAside {
                    parent,
                    name,
                    path,
                    meta,
                    id,
                } = link;
                if let Some(sub) =
                    self.enter_dir(&parent, &name, path, Some(meta), Some(id), true)?
                {
                    self.pool.push(self.local, Job::ReadDir(sub));
                }
            }
            if self.pool.finish_job() == Finished::Done {
                return Ok(());
            }
        }
    }

    /// A symbolic link under `follow_symlinks`: replaced by its target, unless the target is missing
    /// (counted as a link, no error) or unreadable (error `stat`, counted as a link). A target
    /// directory is a loop when it holds the link (not counted, error `stat` `ELOOP`), another name
    /// when it was read already (visited, not read), and otherwise put aside for the next round
    /// (see [`super::follow`]).
    fn follow(&mut self, listing: &mut Listing<'_>, entry: &Listed<'_>) -> Result<(), Error> {
        let dir = listing.dir;
        let name = entry.name();
        let meta = match entry.stat_target() {
            Ok(meta) => meta,
            Err(e) if is_dangling(&e) => return self.visit_link_itself(dir, entry),
            Err(e) => {
                self.report(dir, Some(name), ErrorOp::Stat, &e)?;
                return self.visit_link_itself(dir, entry);
            }
        };
        if meta.kind != EntryKind::Dir {
            let visited = Entry {
                parent: Some(dir),
                name,
                kind: meta.kind,
                depth: dir.depth + 1,
                meta: self.config.stats.then_some(&meta),
                followed: true,
                dir: None,
            };
            return self.visitor.visit(&visited).map(drop);
        }
        let path = dir.abs.join(name);
        let file_id = dir_identity(&path, &meta, true);
        let readable = self.reads_depth(dir.depth + 1)
            && (!self.config.one_file_system || same_device_as_root(dir, Some(&meta)));
        if let (Some(follow), Some(id), true) = (self.pool.follow(), file_id, readable) {
            if follow.seen(dir, id) == Seen::New {
                follow.put_aside(PutAside {
                    parent: Arc::clone(dir),
                    name: name.to_os_string(),
                    path,
                    meta,
                    id,
                });
                return Ok(());
            }
        }
        if let Some(sub) = self.enter_dir(dir, name, path, Some(meta), file_id, true)? {
            listing.subdirs.push(sub);
        }
        Ok(())
    }

    /// Visits a symbolic link as itself (own metadata).
    fn visit_link_itself(&mut self, dir: &DirNode, entry: &Listed<'_>) -> Result<(), Error> {
        let name = entry.name();
        let meta = if self.config.stats {
            match entry.lstat() {
                Ok(m) => Some(m),
                Err(e) => {
                    self.report(dir, Some(name), ErrorOp::Lstat, &e)?;
                    return self.visit_unstattable(dir, name, EntryKind::Symlink);
                }
            }
        } else {
            None
        };
        let visited = Entry {
            parent: Some(dir),
            name,
            kind: EntryKind::Symlink,
            depth: dir.depth + 1,
            meta: meta.as_ref(),
            followed: false,
            dir: None,
        };
        self.visitor.visit(&visited).map(drop)
    }

    /// Visits an entry whose metadata could not be read (the error is reported by the caller): it
    /// counts with the kind its listing gave, as `find` lists it, without metadata, and a
    /// directory among them is not read (docs/profile.md, "Semantics").
    fn visit_unstattable(
        &mut self,
        dir: &DirNode,
        name: &OsStr,
        kind: EntryKind,
    ) -> Result<(), Error> {
        let rel;
        let dir_info = if kind == EntryKind::Dir {
            self.scratch.clear();
            push_rel_path(&mut self.scratch, &dir.rel, name);
            rel = (self.new_dir_id(), Arc::<str>::from(self.scratch.as_str()));
            Some((rel.0, &rel.1))
        } else {
            None
        };
        let visited = Entry {
            parent: Some(dir),
            name,
            kind,
            depth: dir.depth + 1,
            meta: None,
            followed: false,
            dir: dir_info,
        };
        self.visitor.visit(&visited).map(drop)
    }

    /// Reads the metadata of non-directory entries of `dir` and visits them.
    fn stat_entries(&mut self, dir: &Arc<DirNode>, names: &NameChunk) -> Result<(), Error> {
        let depth = dir.depth + 1;
        let mut seen = 0u64;
        names.for_each(|name, listed_kind, meta| {
            seen += 1;
            if seen % CHECK_EVERY == 0 && self.pool.should_stop() {
                return Err(Error::Aborted);
            }
            let meta = match meta {
                Ok(m) => m,
                Err(e) => {
                    self.report(dir, Some(name), ErrorOp::Lstat, &e)?;
                    return self.visit_unstattable(dir, name, listed_kind);
                }
            };
            // A directory here was created under the same name after the listing: visited, not read.
            let rel;
            let dir_info = if meta.kind == EntryKind::Dir {
                let mut path = String::new();
                push_rel_path(&mut path, &dir.rel, name);
                rel = (self.new_dir_id(), Arc::<str>::from(path));
                Some((rel.0, &rel.1))
            } else {
                None
            };
            let visited = Entry {
                parent: Some(dir),
                name,
                kind: meta.kind,
                depth,
                meta: Some(&meta),
                followed: false,
                dir: dir_info,
            };
            self.visitor.visit(&visited).map(drop)
        })
    }
}

/// One worker thread: job loop, then the visitor's output. A panic is caught and fails the walk.
pub(crate) fn run_worker<F: VisitorFactory>(
    pool: &Pool<'_>,
    index: usize,
    config: &WalkConfig,
    factory: &F,
) -> Option<<F::Visitor as Visitor>::Output> {
    let Some(local) = pool.take_local(index) else {
        pool.fail(Error::Internal(format!("walker {index} has no deque")));
        return None;
    };
    let result = catch_unwind(AssertUnwindSafe(|| {
        let mut ctx = WorkerCtx::new(pool, index, &local, config, factory.make(index));
        let mut idle_rounds = 0;
        loop {
            if pool.should_stop() {
                pool.halt();
                return None;
            }
            match pool.find_job(index, &local) {
                Some(job) => {
                    idle_rounds = 0;
                    let result = match (ctx.execute(job), pool.finish_job()) {
                        (Ok(()), Finished::RoundOver) => ctx.next_round(),
                        (result, _) => result,
                    };
                    if let Err(e) = result {
                        pool.fail(e);
                        return None;
                    }
                }
                None if idle_rounds < SPIN_ROUNDS && pool.may_spin() => {
                    idle_rounds += 1;
                    thread::yield_now();
                }
                None => {
                    idle_rounds = 0;
                    if let Err(e) = ctx.visitor_mut().pause() {
                        pool.fail(e);
                        return None;
                    }
                    // A parked worker keeps no directory open: the budget goes to those working.
                    ctx.release_recent();
                    if !pool.park() {
                        break;
                    }
                }
            }
        }
        if pool.should_stop() {
            pool.halt();
            return None;
        }
        match ctx.into_visitor().finish() {
            Ok(output) => Some(output),
            Err(e) => {
                pool.fail(e);
                None
            }
        }
    }));
    match result {
        Ok(output) => output,
        Err(payload) => {
            pool.fail(Error::Internal(panic_message(payload.as_ref())));
            None
        }
    }
}

/// Whether a directory with metadata `meta` inside `dir` is on the root's device.
fn same_device_as_root(dir: &DirNode, meta: Option<&Meta>) -> bool {
    let mut root = dir;
    while let Some(parent) = root.parent.as_deref() {
        root = parent;
    }
    match (root.file_id, meta.and_then(|m| m.id)) {
        (Some(r), Some(m)) => r.dev == m.dev,
        _ => true,
    }
}

/// A followed link whose target does not exist (or has a non-directory in its path).
fn is_dangling(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}
