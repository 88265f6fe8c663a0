//! The per-ROM thumbnail queue (docs/rom.md, "Thumbnails"): pending jobs by (priority,
//! arrival), identical requests coalesced, requesters that leave withdrawn. It knows nothing of
//! ROMs: whoever runs a job hands it the renderer.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::options::ThumbnailRequest;
use crate::error::Error;
use crate::image::Thumbnail;

type JobKey = (u64, u64);

/// Receives a job's result.
pub(crate) type Deliver = Box<dyn FnOnce(Result<Arc<Thumbnail>, Error>) + Send>;

struct Waiter {
    id: u64,
    deliver: Deliver,
}

struct Job {
    request: ThumbnailRequest,
    priority: i32,
    seq: u64,
    running: bool,
    waiters: Vec<Waiter>,
    abandoned: Arc<AtomicBool>,
}

#[derive(Default)]
struct QueueState {
    heap: BinaryHeap<Reverse<(i32, u64, JobKey)>>,
    jobs: HashMap<JobKey, Job>,
    seq: u64,
}

/// A request's place in the queue, for withdrawing it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ticket {
    key: JobKey,
    id: u64,
}

/// The per-ROM thumbnail queue: pending jobs by (priority, arrival), each with the requesters
/// waiting for it. Whoever runs jobs (a blocking caller while it waits, or a pool task per
/// submitted request) always takes the best pending one.
#[derive(Default)]
pub(crate) struct ThumbQueue {
    state: Mutex<QueueState>,
    renders: AtomicU64,
}

impl ThumbQueue {
    fn lock(&self) -> MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a requester: joins an identical job (lowering its priority to the minimum) or
    /// queues a new one.
    pub(crate) fn enqueue(&self, request: &ThumbnailRequest, deliver: Deliver) -> Ticket {
        let key = (request.offset, request.options.key_hash());
        let priority = request.options.priority;
        let mut state = self.lock();
        state.seq += 1;
        let seq = state.seq;
        let waiter = Waiter { id: seq, deliver };
        match state.jobs.get_mut(&key) {
            Some(job) => {
                job.waiters.push(waiter);
                // A running job abandoned by its earlier requesters is wanted again.
                job.abandoned.store(false, Ordering::Relaxed);
                if !job.running && priority < job.priority {
                    job.priority = priority;
                    let entry = Reverse((priority, job.seq, key));
                    state.heap.push(entry);
                }
            }
            None => {
                state.jobs.insert(
                    key,
                    Job {
                        request: request.clone(),
                        priority,
                        seq,
                        running: false,
                        waiters: vec![waiter],
                        abandoned: Arc::new(AtomicBool::new(false)),
                    },
                );
                state.heap.push(Reverse((priority, seq, key)));
            }
        }
        Ticket { key, id: seq }
    }

    /// Removes a requester. A pending job nobody waits for is dropped; a running one is told
    /// to stop at its next stage. Returns whether the requester was still waiting.
    pub(crate) fn withdraw(&self, ticket: Ticket) -> bool {
        let mut state = self.lock();
        let Some(job) = state.jobs.get_mut(&ticket.key) else {
            return false;
        };
        let before = job.waiters.len();
        job.waiters.retain(|w| w.id != ticket.id);
        let removed = job.waiters.len() != before;
        if job.waiters.is_empty() {
            if job.running {
                job.abandoned.store(true, Ordering::Relaxed);
            } else {
                state.jobs.remove(&ticket.key);
            }
        }
        removed
    }

    /// Runs the best pending job, if any, through `render` (which stops early when the flag it
    /// is given is set: the job was abandoned), and hands its result to every requester.
    /// Returns false when nothing was pending.
    pub(crate) fn run_next(
        &self,
        render: impl FnOnce(&ThumbnailRequest, &AtomicBool) -> Result<Thumbnail, Error>,
    ) -> bool {
        let picked = {
            let mut state = self.lock();
            let mut picked = None;
            while let Some(Reverse((priority, seq, key))) = state.heap.pop() {
                if let Some(job) = state.jobs.get_mut(&key) {
                    if !job.running && job.priority == priority && job.seq == seq {
                        job.running = true;
                        picked = Some((key, job.request.clone(), job.abandoned.clone()));
                        break;
                    }
                }
            }
            picked
        };
        let Some((key, request, abandoned)) = picked else {
            return false;
        };
        let result = render(&request, &abandoned).map(Arc::new);
        self.renders.fetch_add(1, Ordering::Relaxed);
        let waiters = {
            let mut state = self.lock();
            let Some(job) = state.jobs.get_mut(&key) else {
                return true;
            };
            if matches!(result, Err(Error::Aborted)) && !job.waiters.is_empty() {
                // Abandoned, then requested again before the stage check: run it again.
                job.running = false;
                job.abandoned = Arc::new(AtomicBool::new(false));
                let entry = Reverse((job.priority, job.seq, key));
                state.heap.push(entry);
                return true;
            }
            state
                .jobs
                .remove(&key)
                .map(|j| j.waiters)
                .unwrap_or_default()
        };
        for waiter in waiters {
            let copy = match &result {
                Ok(t) => Ok(t.clone()),
                Err(e) => Err(e.duplicate()),
            };
            (waiter.deliver)(copy);
        }
        true
    }

    /// Jobs waiting to run.
    pub(crate) fn pending(&self) -> usize {
        self.lock().jobs.values().filter(|j| !j.running).count()
    }

    /// Renders run so far (coalesced requests share one).
    pub(crate) fn renders(&self) -> u64 {
        self.renders.load(Ordering::Relaxed)
    }
}
