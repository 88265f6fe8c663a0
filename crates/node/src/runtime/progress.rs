//! `onProgress` delivery: core progress events become plain JavaScript objects, forwarded about
//! ten times a second through the tracked channel; the last event of a successful call is always
//! delivered before the call settles.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use modforge_core::{Progress, Stage};
use napi_derive::napi;

use crate::runtime::channel::{Callback, Tracked};
use crate::runtime::delivery::Delivery;

/// What a long call is doing (`onProgress` event `stage`); each stage's unit is documented on the
/// call that reports it.
#[napi(string_enum = "lowercase")]
pub enum ProgressStage {
    /// Profiling a tree (`done` = entries counted, `bytes` = apparent bytes).
    Walk,
    /// Writing generated test data (`done`/`total` = entries created).
    Generate,
    /// Parsing source tables (`done`/`total` = rows).
    Parse,
    /// Building an index or payload in memory (`done`/`total` = items).
    Build,
    /// Writing a file (`done`/`total` = bytes).
    Write,
    /// Verifying stored files (`done`/`total` = bytes checked).
    Verify,
    /// Indexing sources (`done`/`total` = sources).
    Index,
    /// Deciding what to rebuild (`done`/`total` = items).
    Plan,
    /// Decoding and encoding images (`done`/`total` = images).
    Encode,
    /// Extracting blocks or entries (`done`/`total` = items).
    Extract,
    /// Rendering thumbnails (`done`/`total` = thumbnails).
    Thumbnail,
    /// Scanning for data (`done`/`total` = bytes).
    Scan,
    /// Fingerprinting inputs (`done`/`total` = items).
    Fingerprint,
    /// Collecting overrides (`done`/`total` = items).
    Collect,
    /// Routing overrides to their targets (`done`/`total` = items).
    Route,
    /// Patching outputs (`done`/`total` = outputs).
    Patch,
    /// Removing stale outputs (`done`/`total` = files).
    Sweep,
    /// The last event of a call.
    Done,
}

impl From<Stage> for ProgressStage {
    fn from(stage: Stage) -> Self {
        match stage {
            Stage::Walk => ProgressStage::Walk,
            Stage::Generate => ProgressStage::Generate,
            Stage::Parse => ProgressStage::Parse,
            Stage::Build => ProgressStage::Build,
            Stage::Write => ProgressStage::Write,
            Stage::Verify => ProgressStage::Verify,
            Stage::Index => ProgressStage::Index,
            Stage::Plan => ProgressStage::Plan,
            Stage::Encode => ProgressStage::Encode,
            Stage::Extract => ProgressStage::Extract,
            Stage::Thumbnail => ProgressStage::Thumbnail,
            Stage::Scan => ProgressStage::Scan,
            Stage::Fingerprint => ProgressStage::Fingerprint,
            Stage::Collect => ProgressStage::Collect,
            Stage::Route => ProgressStage::Route,
            Stage::Patch => ProgressStage::Patch,
            Stage::Sweep => ProgressStage::Sweep,
            Stage::Done => ProgressStage::Done,
        }
    }
}

/// One progress report (`onProgress` argument).
#[napi(object, use_nullable = true, object_from_js = false)]
pub struct ProgressEvent {
    /// What is running.
    pub stage: ProgressStage,
    /// Units done so far, in the stage's unit.
    pub done: f64,
    /// Units in all, when known in advance.
    pub total: Option<f64>,
    /// Bytes seen so far, when the stage counts bytes besides its unit.
    pub bytes: Option<f64>,
    /// What is being worked on now (a relative folder, a table, a file), or `""`.
    pub current: String,
}

impl From<&Progress<'_>> for ProgressEvent {
    fn from(event: &Progress<'_>) -> Self {
        ProgressEvent {
            stage: event.stage.into(),
            done: event.done as f64,
            total: event.total.map(|total| total as f64),
            bytes: event.bytes.map(|bytes| bytes as f64),
            current: event.current.to_owned(),
        }
    }
}

/// The JavaScript `onProgress` callback as the Rust side holds it (unbounded queue: workers never
/// wait for a listener).
pub type ProgressCallback = Callback<ProgressEvent, 0>;

/// Minimum spacing of forwarded events (about ten per second).
const MIN_INTERVAL: Duration = Duration::from_millis(100);

#[derive(Default)]
struct Throttle {
    last_sent: Option<Instant>,
    held: Option<ProgressEvent>,
    /// The stage of `held`.
    held_stage: Option<Stage>,
}

/// Forwards events at most about ten times a second, holding back the newest skipped one so that
/// [`ProgressSink::flush`] can deliver it at the end.
pub struct ProgressSink {
    channel: Tracked<ProgressEvent, 0>,
    throttle: Mutex<Throttle>,
}

impl ProgressSink {
    /// Wraps the JavaScript callback; its events are tracked in `delivery`.
    pub fn new(callback: ProgressCallback, delivery: &Delivery) -> Self {
        ProgressSink {
            channel: Tracked::new(callback, delivery),
            throttle: Mutex::default(),
        }
    }

    /// Forwards `event` unless another one went out less than 100 ms ago (then it is held). An
    /// event of another stage than the held one first delivers the held one, so the last event
    /// of every stage (the one reaching its total) reaches JavaScript.
    pub fn report(&self, event: &Progress<'_>) {
        let now = Instant::now();
        let mut throttle = self.lock();
        if throttle.held_stage.is_some_and(|held| held != event.stage) {
            throttle.held_stage = None;
            if let Some(held) = throttle.held.take() {
                self.channel.send(held);
            }
        }
        if throttle
            .last_sent
            .is_some_and(|at| now.duration_since(at) < MIN_INTERVAL)
        {
            throttle.held = Some(event.into());
            throttle.held_stage = Some(event.stage);
            return;
        }
        throttle.last_sent = Some(now);
        throttle.held = None;
        throttle.held_stage = None;
        drop(throttle);
        self.channel.send(event.into());
    }

    /// Delivers the held event, if any: the last event of a call always reaches JavaScript.
    pub fn flush(&self) {
        let held = self.lock().held.take();
        if let Some(event) = held {
            self.channel.send(event);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Throttle> {
        self.throttle
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}
