//! The cancellation flag and progress receiver handed to every long call.

use crate::cancel::{Aborted, Cancel};
use crate::progress::Progress;

/// A progress receiver. Called on worker threads; must be cheap (the Node binding queues the
/// event for the JavaScript thread and returns).
pub type ProgressFn<'a> = &'a (dyn Fn(&Progress<'_>) + Sync);

/// What a caller attaches to a long call: an optional cancellation flag and an optional progress
/// receiver. `Control::default()` means neither.
#[derive(Clone, Copy, Default)]
pub struct Control<'a> {
    /// Polled between units of work; once set the call returns its crate's `Aborted` error.
    pub cancel: Option<&'a Cancel>,
    /// Receives progress events.
    pub progress: Option<ProgressFn<'a>>,
}

impl<'a> Control<'a> {
    /// A control with only a cancellation flag.
    pub fn cancel(cancel: &'a Cancel) -> Self {
        Control {
            cancel: Some(cancel),
            progress: None,
        }
    }

    /// `Err(Aborted)` once the flag is set.
    pub fn check(&self) -> Result<(), Aborted> {
        self.cancel.map_or(Ok(()), Cancel::check)
    }

    /// Whether the flag is set.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_some_and(Cancel::is_cancelled)
    }

    /// Sends `event` to the progress receiver, if any.
    pub fn report(&self, event: Progress<'_>) {
        if let Some(progress) = self.progress {
            progress(&event);
        }
    }

    /// Whether a progress receiver is attached (to skip building events nobody reads).
    pub fn wants_progress(&self) -> bool {
        self.progress.is_some()
    }
}

impl std::fmt::Debug for Control<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Control")
            .field("cancel", &self.cancel)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::progress::Stage;

    #[test]
    fn check_follows_the_flag() {
        let cancel = Cancel::new();
        let control = Control::cancel(&cancel);
        assert_eq!(control.check(), Ok(()));
        cancel.clone().cancel();
        assert_eq!(control.check(), Err(Aborted));
        assert!(Control::default().check().is_ok());
    }

    #[test]
    fn report_reaches_the_receiver() {
        let seen = Mutex::new(Vec::new());
        let receiver = |event: &Progress<'_>| seen.lock().unwrap().push((event.done, event.total));
        let control = Control {
            cancel: None,
            progress: Some(&receiver),
        };
        control.report(Progress::of(Stage::Write, 4, 8));
        assert_eq!(*seen.lock().unwrap(), vec![(4, Some(8))]);
    }
}
