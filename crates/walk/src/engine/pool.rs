//! The per-call worker pool: deques, stealing, parking, termination and failure.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread;
use std::time::Duration;

use crossbeam_deque::{Injector, Steal, Stealer, Worker};

use super::entry::{DirNode, Meta};
use super::sys::NameChunk;
use super::worker::WorkerCtx;
use super::{Visitor, VisitorFactory, WalkConfig, WalkControl};
use crate::error::Error;

/// Longest a parked worker sleeps before looking at the flags again (bounds the reaction to an
/// external cancel flag, which cannot notify the condition variable).
const PARK_TIMEOUT: Duration = Duration::from_millis(5);

/// Times an idle worker yields and looks again before it parks (a futex wake-up costs more than a
/// stat chunk).
const SPIN_ROUNDS: u32 = 16;

/// A unit of work.
pub(crate) enum Job {
    /// Visit the root, then read it.
    Root(Arc<DirNode>, Meta),
    /// List a directory.
    ReadDir(Arc<DirNode>),
    /// Read the metadata of some entries of one directory.
    Stat(StatChunk),
}

/// Entries of one directory whose metadata is still to be read. The names keep the directory
/// handle open; `_open` keeps it counted.
pub(crate) struct StatChunk {
    pub(crate) dir: Arc<DirNode>,
    pub(crate) names: NameChunk,
    pub(crate) _open: Arc<OpenDir>,
}

/// One open directory, counted against [`super::MAX_OPEN_DIRS`] until dropped.
pub(crate) struct OpenDir {
    counter: Arc<AtomicUsize>,
}

impl Drop for OpenDir {
    fn drop(&mut self) {
        self.counter.fetch_sub(1, Ordering::AcqRel);
    }
}

/// State shared by the workers of one walk.
pub(crate) struct Pool<'a> {
    injector: Injector<Job>,
    stealers: Vec<Stealer<Job>>,
    /// Jobs pushed and not yet finished; the walk is complete when it reaches 0.
    pending: AtomicUsize,
    sleepers: AtomicUsize,
    epoch: AtomicUsize,
    lock: Mutex<()>,
    wake: Condvar,
    complete: AtomicBool,
    failed: AtomicBool,
    error: Mutex<Option<Error>>,
    control: WalkControl<'a>,
    open_dirs: Arc<AtomicUsize>,
    open_budget: usize,
}

impl<'a> Pool<'a> {
    /// Whether workers must stop: a failure or a control flag.
    pub(crate) fn should_stop(&self) -> bool {
        self.failed.load(Ordering::Relaxed)
            || self
                .control
                .cancel
                .is_some_and(|f| f.load(Ordering::Relaxed))
            || self.control.stop.is_some_and(|f| f.load(Ordering::Relaxed))
    }

    pub(crate) fn control(&self) -> &WalkControl<'a> {
        &self.control
    }

    /// Queues a new job on the worker's own deque and wakes a parked worker if there is one.
    pub(crate) fn push(&self, local: &Worker<Job>, job: Job) {
        self.pending.fetch_add(1, Ordering::SeqCst);
        local.push(job);
        if self.sleepers.load(Ordering::SeqCst) > 0 {
            self.epoch.fetch_add(1, Ordering::SeqCst);
            let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
            self.wake.notify_one();
        }
    }

    /// Whether some worker is parked, waiting for work.
    pub(crate) fn has_idle_workers(&self) -> bool {
        self.sleepers.load(Ordering::Relaxed) > 0
    }

    /// Marks one job finished; the last one ends the walk.
    pub(crate) fn finish_job(&self) {
        if self.pending.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.complete.store(true, Ordering::SeqCst);
            self.wake_all();
        }
    }

    /// Records the first failure and stops every worker.
    pub(crate) fn fail(&self, error: Error) {
        {
            let mut slot = self.error.lock().unwrap_or_else(PoisonError::into_inner);
            if slot.is_none() {
                *slot = Some(error);
            }
        }
        self.failed.store(true, Ordering::SeqCst);
        self.wake_all();
    }

    fn wake_all(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        self.wake.notify_all();
    }

    /// Takes a slot for one more open directory if the budget allows it now.
    pub(crate) fn try_open_dir(&self) -> Option<Arc<OpenDir>> {
        let open = self.open_dirs.load(Ordering::Acquire);
        (open < self.open_budget
            && self
                .open_dirs
                .compare_exchange(open, open + 1, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok())
        .then(|| {
            Arc::new(OpenDir {
                counter: Arc::clone(&self.open_dirs),
            })
        })
    }

    /// Takes a slot for one more open directory, waiting while the budget is used up.
    /// `None` when the walk stops meanwhile.
    pub(crate) fn open_dir(&self) -> Option<Arc<OpenDir>> {
        loop {
            let open = self.open_dirs.load(Ordering::Acquire);
            if open < self.open_budget {
                if self
                    .open_dirs
                    .compare_exchange_weak(open, open + 1, Ordering::AcqRel, Ordering::Relaxed)
                    .is_ok()
                {
                    return Some(Arc::new(OpenDir {
                        counter: Arc::clone(&self.open_dirs),
                    }));
                }
            } else if self.should_stop() {
                return None;
            } else {
                thread::sleep(Duration::from_micros(50));
            }
        }
    }

    /// The next job for worker `me`: its own deque (newest first), then the injector, then the
    /// others' deques (oldest first).
    fn find_job(&self, me: usize, local: &Worker<Job>) -> Option<Job> {
        if let Some(job) = local.pop() {
            return Some(job);
        }
        loop {
            let mut retry = false;
            match self.injector.steal_batch_and_pop(local) {
                Steal::Success(job) => return Some(job),
                Steal::Retry => retry = true,
                Steal::Empty => {}
            }
            let n = self.stealers.len();
            for offset in 1..n {
                let Some(stealer) = self.stealers.get((me + offset) % n) else {
                    continue;
                };
                match stealer.steal() {
                    Steal::Success(job) => return Some(job),
                    Steal::Retry => retry = true,
                    Steal::Empty => {}
                }
            }
            if !retry {
                return None;
            }
        }
    }

    fn has_visible_work(&self) -> bool {
        !self.injector.is_empty() || self.stealers.iter().any(|s| !s.is_empty())
    }

    /// Sleeps until new work may exist. `false` when the walk is over.
    fn park(&self) -> bool {
        let epoch = self.epoch.load(Ordering::SeqCst);
        self.sleepers.fetch_add(1, Ordering::SeqCst);
        let keep_going = if self.complete.load(Ordering::SeqCst) || self.should_stop() {
            false
        } else {
            if !self.has_visible_work() {
                let guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
                if epoch == self.epoch.load(Ordering::SeqCst) {
                    // Spurious wake-ups and timeouts are fine: the caller looks for work again.
                    drop(self.wake.wait_timeout(guard, PARK_TIMEOUT));
                }
            }
            true
        };
        self.sleepers.fetch_sub(1, Ordering::SeqCst);
        keep_going
    }
}

/// Runs a walk from `root` on a new pool; see [`super::walk`].
pub(crate) fn run<F: VisitorFactory>(
    root: Arc<DirNode>,
    root_meta: Meta,
    config: &WalkConfig,
    factory: &F,
    control: &WalkControl<'_>,
) -> Result<Vec<<F::Visitor as Visitor>::Output>, Error> {
    let threads = config.resolved_threads();
    let locals: Vec<Worker<Job>> = (0..threads).map(|_| Worker::new_lifo()).collect();
    let pool = Pool {
        injector: Injector::new(),
        stealers: locals.iter().map(Worker::stealer).collect(),
        pending: AtomicUsize::new(1),
        sleepers: AtomicUsize::new(0),
        epoch: AtomicUsize::new(0),
        lock: Mutex::new(()),
        wake: Condvar::new(),
        complete: AtomicBool::new(false),
        failed: AtomicBool::new(false),
        error: Mutex::new(None),
        control: *control,
        open_dirs: Arc::new(AtomicUsize::new(0)),
        open_budget: open_dir_budget(),
    };
    pool.injector.push(Job::Root(root, root_meta));
    if pool.should_stop() {
        return Err(Error::Aborted);
    }

    let outputs: Vec<Option<<F::Visitor as Visitor>::Output>> = thread::scope(|scope| {
        let pool = &pool;
        let mut handles = Vec::with_capacity(threads);
        for (index, local) in locals.into_iter().enumerate() {
            let spawned = thread::Builder::new()
                .name(format!("modforge-walk-{index}"))
                .spawn_scoped(scope, move || {
                    run_worker(pool, index, local, config, factory)
                });
            match spawned {
                Ok(handle) => handles.push(handle),
                Err(e) => pool.fail(Error::Internal(format!(
                    "cannot start a walker thread: {e}"
                ))),
            }
        }
        handles
            .into_iter()
            .map(|h| match h.join() {
                Ok(output) => output,
                Err(payload) => {
                    pool.fail(Error::Internal(panic_message(payload.as_ref())));
                    None
                }
            })
            .collect()
    });

    let stopped = pool.failed.load(Ordering::SeqCst) || pool.should_stop();
    if let Some(error) = pool
        .error
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner)
    {
        return Err(error);
    }
    if stopped {
        return Err(Error::Aborted);
    }
    outputs
        .into_iter()
        .map(|o| o.ok_or_else(|| Error::Internal("a walker thread ended without a result".into())))
        .collect()
}

/// One worker thread: job loop, then the visitor's output. A panic is caught and fails the walk.
fn run_worker<F: VisitorFactory>(
    pool: &Pool<'_>,
    index: usize,
    local: Worker<Job>,
    config: &WalkConfig,
    factory: &F,
) -> Option<<F::Visitor as Visitor>::Output> {
    let result = catch_unwind(AssertUnwindSafe(|| {
        let mut ctx = WorkerCtx::new(pool, index, &local, config, factory.make(index));
        let mut idle_rounds = 0;
        loop {
            if pool.should_stop() {
                return None;
            }
            match pool.find_job(index, &local) {
                Some(job) => {
                    idle_rounds = 0;
                    let result = ctx.execute(job);
                    pool.finish_job();
                    if let Err(e) = result {
                        pool.fail(e);
                        return None;
                    }
                }
                None if idle_rounds < SPIN_ROUNDS => {
                    idle_rounds += 1;
                    thread::yield_now();
                    continue;
                }
                None => {
                    if let Err(e) = ctx.visitor_mut().pause() {
                        pool.fail(e);
                        return None;
                    }
                    if !pool.park() {
                        break;
                    }
                }
            }
        }
        if pool.should_stop() {
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

/// The text of a panic payload.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        format!("panic: {s}")
    } else if let Some(s) = payload.downcast_ref::<String>() {
        format!("panic: {s}")
    } else {
        "panic".to_string()
    }
}

/// Directories one walk may hold open: [`super::MAX_OPEN_DIRS`], or a quarter of the soft limit on
/// open files when that is lower (at least 4), leaving the rest to the host process.
fn open_dir_budget() -> usize {
    let quarter = soft_file_limit().map_or(usize::MAX, |n| n / 4);
    quarter.clamp(4, super::MAX_OPEN_DIRS)
}

#[cfg(unix)]
fn soft_file_limit() -> Option<usize> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    #[allow(unsafe_code)]
    // SAFETY: getrlimit writes one `rlimit` through a pointer to a live, properly aligned local.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    if rc != 0 {
        return None;
    }
    usize::try_from(limit.rlim_cur).ok()
}

#[cfg(not(unix))]
fn soft_file_limit() -> Option<usize> {
    None
}
