//! The per-call worker pool: deques, stealing, parking, termination and failure
//! (docs/profile.md, "Engine").
//!
//! Workers start on demand: the walk begins with one, and a job queued while no worker is idle asks
//! for one more, up to the configured count. So a small tree never starts hundreds of threads, and
//! many concurrent walks with a high thread count do not exhaust the process's threads. Starting is
//! done by the thread that called the walk, which otherwise sleeps until the walk ends.
//!
//! An idle worker parks on a condition variable without a timeout. It is woken when a job is
//! queued (one worker per job), when the walk completes and when it stops (failure, or a
//! cancellation seen by any other worker). The check for work before parking and the check for
//! sleepers after queuing are ordered by sequentially consistent fences, so a job queued while a
//! worker goes to sleep is either seen by that worker or wakes it.

use std::any::Any;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering, fence};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread;

use crossbeam_deque::{Injector, Steal, Stealer, Worker};

use super::budget::{Budget, OpenDir};
use super::entry::{DirNode, Meta};
use super::follow::Follow;
use super::sys::NameChunk;
use super::{WalkConfig, WalkControl};
use crate::error::Error;

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

/// What finishing a job left to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Finished {
    /// Other jobs are pending, or the walk is complete.
    Done,
    /// That was the last job of a round and links wait for the next one: the caller resolves the
    /// round (see [`super::follow`]) and then calls [`Pool::finish_job`] again.
    RoundOver,
}

/// Requests for more workers, served by the thread that runs the walk.
struct Starts {
    /// Workers asked for, the first included.
    requested: usize,
    /// The walk is over: no more workers are started.
    closed: bool,
}

/// State shared by the workers of one walk.
pub(crate) struct Pool<'a> {
    injector: Injector<Job>,
    stealers: Vec<Stealer<Job>>,
    /// Each worker's own deque, taken by the worker when it starts.
    locals: Mutex<Vec<Option<Worker<Job>>>>,
    /// Most workers of this walk.
    max_workers: AtomicUsize,
    /// Workers asked for (never above `max_workers`).
    requested: AtomicUsize,
    /// Workers running (started and not yet ended).
    started: AtomicUsize,
    /// Cores of the machine (for the spinning rule).
    cores: usize,
    /// Jobs pushed and not yet finished; a round is over when it reaches 0.
    pending: AtomicUsize,
    sleepers: AtomicUsize,
    lock: Mutex<()>,
    wake: Condvar,
    starts: Mutex<Starts>,
    start_wanted: Condvar,
    complete: AtomicBool,
    failed: AtomicBool,
    stopped: AtomicBool,
    error: Mutex<Option<Error>>,
    control: WalkControl<'a>,
    budget: Arc<Budget>,
    follow: Option<Follow>,
}

impl<'a> Pool<'a> {
    /// Whether workers must stop: a failure or a control flag.
    pub(crate) fn should_stop(&self) -> bool {
        self.failed.load(Ordering::Relaxed)
            || self.stopped.load(Ordering::Relaxed)
            || self
                .control
                .cancel
                .is_some_and(|f| f.load(Ordering::Relaxed))
            || self.control.stop.is_some_and(|f| f.load(Ordering::Relaxed))
    }

    pub(crate) fn control(&self) -> &WalkControl<'a> {
        &self.control
    }

    /// The link-following state (`None` when links are not followed).
    pub(crate) fn follow(&self) -> Option<&Follow> {
        self.follow.as_ref()
    }

    /// Queues a new job on the worker's own deque and wakes a parked worker, or asks for a new one
    /// when none is idle.
    pub(crate) fn push(&self, local: &Worker<Job>, job: Job) {
        self.pending.fetch_add(1, Ordering::SeqCst);
        local.push(job);
        // Pairs with the fence in `park`: either the parking worker sees this job, or this load
        // sees the parking worker.
        fence(Ordering::SeqCst);
        if self.sleepers.load(Ordering::SeqCst) > 0 {
            let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
            self.wake.notify_one();
        } else {
            self.request_worker();
        }
    }

    /// Asks the walk's thread for one more worker, unless all were asked for.
    fn request_worker(&self) {
        let max = self.max_workers.load(Ordering::Relaxed);
        let asked = self
            .requested
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            });
        if asked.is_ok() {
            let mut starts = self.starts.lock().unwrap_or_else(PoisonError::into_inner);
            starts.requested += 1;
            self.start_wanted.notify_one();
        }
    }

    /// Whether some worker is parked, waiting for work.
    pub(crate) fn has_idle_workers(&self) -> bool {
        self.sleepers.load(Ordering::Relaxed) > 0
    }

    /// Marks one job finished. The last one completes the walk, or ends the round when links wait
    /// for the next one ([`Finished::RoundOver`]: the caller then holds the walk open until it
    /// calls this again).
    pub(crate) fn finish_job(&self) -> Finished {
        if self.pending.fetch_sub(1, Ordering::AcqRel) != 1 {
            return Finished::Done;
        }
        if !self.should_stop() && self.follow.as_ref().is_some_and(Follow::has_put_aside) {
            // Resolving the round counts as a job, so that nobody takes the walk for complete.
            self.pending.fetch_add(1, Ordering::SeqCst);
            return Finished::RoundOver;
        }
        self.complete.store(true, Ordering::SeqCst);
        self.wake_all();
        Finished::Done
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

    /// Stops every worker after a control flag was seen set (parked workers cannot see it).
    pub(crate) fn halt(&self) {
        if !self.stopped.swap(true, Ordering::SeqCst) {
            self.wake_all();
        }
    }

    fn wake_all(&self) {
        {
            let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
            self.wake.notify_all();
        }
        {
            let mut starts = self.starts.lock().unwrap_or_else(PoisonError::into_inner);
            starts.closed = true;
            self.start_wanted.notify_all();
        }
        self.budget.wake_all();
    }

    fn is_over(&self) -> bool {
        self.complete.load(Ordering::SeqCst) || self.should_stop()
    }

    /// Takes a slot for one more open directory if the budget allows it now.
    pub(crate) fn try_open_dir(&self) -> Option<Arc<OpenDir>> {
        self.budget.try_take()
    }

    /// Takes a slot for one more open directory, waiting while the budget is used up.
    /// `None` when the walk stops meanwhile.
    pub(crate) fn open_dir(&self) -> Option<Arc<OpenDir>> {
        self.budget.take(|| self.should_stop())
    }

    /// The next job for worker `me`: its own deque (newest first), then the injector, then the
    /// others' deques (oldest first).
    pub(crate) fn find_job(&self, me: usize, local: &Worker<Job>) -> Option<Job> {
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
            let n = self
                .requested
                .load(Ordering::Acquire)
                .min(self.stealers.len());
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
        let n = self
            .requested
            .load(Ordering::Acquire)
            .min(self.stealers.len());
        !self.injector.is_empty() || self.stealers.iter().take(n).any(|s| !s.is_empty())
    }

    /// Whether an idle worker may spin a little before parking: no more workers awake than cores.
    pub(crate) fn may_spin(&self) -> bool {
        let awake = self
            .started
            .load(Ordering::Relaxed)
            .saturating_sub(self.sleepers.load(Ordering::Relaxed));
        awake <= self.cores
    }

    /// Worker `index`'s own deque, taken once when the worker starts.
    pub(crate) fn take_local(&self, index: usize) -> Option<Worker<Job>> {
        self.locals
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_mut(index)
            .and_then(Option::take)
    }

    /// Sleeps until new work may exist. `false` when the walk is over.
    pub(crate) fn park(&self) -> bool {
        let guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        self.sleepers.fetch_add(1, Ordering::SeqCst);
        // Pairs with the fence in `push` (see there).
        fence(Ordering::SeqCst);
        if !self.is_over() && !self.has_visible_work() {
            // Spurious wake-ups are fine: the caller looks for work again.
            drop(self.wake.wait(guard));
        } else {
            drop(guard);
        }
        self.sleepers.fetch_sub(1, Ordering::SeqCst);
        !self.is_over()
    }
}

/// Runs a walk from `root` on a new pool; see [`super::walk`]. Each worker thread runs
/// `work(pool, index)` (the worker loop) and returns its output, `None` when it failed.
pub(crate) fn run<O: Send>(
    root: Arc<DirNode>,
    root_meta: Meta,
    config: &WalkConfig,
    control: &WalkControl<'_>,
    work: &(dyn Fn(&Pool<'_>, usize) -> Option<O> + Sync),
) -> Result<Vec<O>, Error> {
    let threads = config.resolved_threads();
    let locals: Vec<Worker<Job>> = (0..threads).map(|_| Worker::new_lifo()).collect();
    let follow = config.follow_symlinks.then(Follow::new);
    if let (Some(follow), Some(id)) = (&follow, root.file_id) {
        follow.claim(id);
    }
    let pool = Pool {
        injector: Injector::new(),
        stealers: locals.iter().map(Worker::stealer).collect(),
        locals: Mutex::new(locals.into_iter().map(Some).collect()),
        max_workers: AtomicUsize::new(threads),
        requested: AtomicUsize::new(1),
        started: AtomicUsize::new(0),
        cores: thread::available_parallelism().map_or(1, |n| n.get()),
        pending: AtomicUsize::new(1),
        sleepers: AtomicUsize::new(0),
        lock: Mutex::new(()),
        wake: Condvar::new(),
        starts: Mutex::new(Starts {
            requested: 1,
            closed: false,
        }),
        start_wanted: Condvar::new(),
        complete: AtomicBool::new(false),
        failed: AtomicBool::new(false),
        stopped: AtomicBool::new(false),
        error: Mutex::new(None),
        control: *control,
        budget: Budget::new(open_dir_budget()),
        follow,
    };
    pool.injector.push(Job::Root(root, root_meta));
    if pool.should_stop() {
        return Err(Error::Aborted);
    }

    let outputs = thread::scope(|scope| {
        let pool = &pool;
        let mut handles = Vec::new();
        loop {
            let wanted = {
                let mut starts = pool.starts.lock().unwrap_or_else(PoisonError::into_inner);
                while starts.requested == handles.len() && !starts.closed {
                    starts = pool
                        .start_wanted
                        .wait(starts)
                        .unwrap_or_else(PoisonError::into_inner);
                }
                if starts.closed {
                    break;
                }
                starts.requested
            };
            while handles.len() < wanted {
                let index = handles.len();
                pool.started.fetch_add(1, Ordering::SeqCst);
                let spawned = thread::Builder::new()
                    .name(format!("modforge-walk-{index}"))
                    .spawn_scoped(scope, move || {
                        let output = work(pool, index);
                        pool.started.fetch_sub(1, Ordering::SeqCst);
                        output
                    });
                match spawned {
                    Ok(handle) => handles.push(handle),
                    Err(e) => {
                        pool.started.fetch_sub(1, Ordering::SeqCst);
                        if handles.is_empty() {
                            pool.fail(Error::Internal(format!(
                                "cannot start a walker thread: {e}"
                            )));
                        } else {
                            // The process is short of threads: go on with those running.
                            pool.max_workers.store(handles.len(), Ordering::SeqCst);
                            pool.requested.store(handles.len(), Ordering::SeqCst);
                        }
                        break;
                    }
                }
            }
            if pool.max_workers.load(Ordering::SeqCst) == handles.len() {
                // Every worker runs: nothing more to start.
                break;
            }
        }
        // Joined explicitly (not at the end of the scope), so that no worker thread exists any
        // more when the walk returns.
        handles
            .into_iter()
            .map(|h| match h.join() {
                Ok(output) => output,
                Err(payload) => {
                    pool.fail(Error::Internal(panic_message(payload.as_ref())));
                    None
                }
            })
            .collect::<Vec<_>>()
    });

    let stopped = pool.failed.load(Ordering::SeqCst) || pool.should_stop();
    if let Some(error) = pool
        .error
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner)
    {
        return Err(error);
    }
    if stopped || !pool.complete.load(Ordering::SeqCst) {
        return Err(Error::Aborted);
    }
    outputs
        .into_iter()
        .map(|o| o.ok_or_else(|| Error::Internal("a walker thread ended without a result".into())))
        .collect()
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
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
    limit.current.and_then(|n| usize::try_from(n).ok())
}

#[cfg(not(unix))]
fn soft_file_limit() -> Option<usize> {
    None
}
