//! A stream's health as its caller sees it: what is failing now, what was lost for good, and the
//! notices to warn about once each — written by the writer thread and its sink, read by `log()`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use crate::error::Error;
use crate::sink::MAX_UNWRITTEN_BYTES;

/// The writer's state for the caller: the current failure, and notices to warn about once
/// each (a failure, a recovery, a history file started again) without stopping the training loop.
#[derive(Default)]
pub struct Health {
    /// A notice is waiting (one atomic load on every `log()`).
    pending: AtomicBool,
    notices: Mutex<Vec<String>>,
    /// What is failing now; `None` once everything was written again.
    failure: Mutex<Option<String>>,
    /// A loss that no retry undoes (the writer thread hit a bug), reported at finish.
    lost: Mutex<Option<String>>,
}

impl Health {
    /// Whether something is failing now.
    pub fn has_failed(&self) -> bool {
        self.failure.lock().is_ok_and(|f| f.is_some())
    }

    /// What is failing now, else what was lost for good, if anything.
    pub fn message(&self) -> Option<String> {
        let now = self.failure.lock().ok()?.clone();
        now.or_else(|| self.lost.lock().ok()?.clone())
    }

    /// The next notice for the caller to warn about.
    pub fn take_notice(&self) -> Option<String> {
        if !self.pending.load(Ordering::Relaxed) {
            return None;
        }
        let mut n = self.notices.lock().ok()?;
        let first = (!n.is_empty()).then(|| n.remove(0));
        self.pending.store(!n.is_empty(), Ordering::Relaxed);
        first
    }

    pub(crate) fn notify(&self, msg: String) {
        if let Ok(mut n) = self.notices.lock() {
            n.push(msg);
            self.pending.store(true, Ordering::Relaxed);
        }
    }

    /// Record a failure; the first of an episode (since the last recovery) becomes a notice.
    pub(crate) fn fail(&self, e: &Error) {
        let first = self.failure.lock().is_ok_and(|mut f| {
            let first = f.is_none();
            f.get_or_insert_with(|| e.to_string());
            first
        });
        if first {
            self.notify(format!(
                "turbotrack could not write this run's files: {e}; it keeps what it could not write (up to {} MiB) and tries again",
                MAX_UNWRITTEN_BYTES >> 20
            ));
        }
    }

    /// Record a loss no retry undoes; the first becomes a notice.
    pub(crate) fn lose(&self, msg: String) {
        let first = self.lost.lock().is_ok_and(|mut l| {
            let first = l.is_none();
            l.get_or_insert_with(|| msg.clone());
            first
        });
        if first {
            self.notify(msg);
        }
    }

    /// Everything is written again: end the failure episode with a notice (and what was lost).
    pub(crate) fn recovered(&self, lost: Option<String>) {
        if let Ok(mut f) = self.failure.lock() {
            if f.take().is_some() {
                self.notify(match lost {
                    Some(lost) => format!("turbotrack writes this run's files again; {lost} were lost meanwhile"),
                    None => "turbotrack writes this run's files again; nothing was lost".into(),
                });
            }
        }
    }
}
