//! [`SealNotifier`]: a count of blocks a sink has stored, that other threads wait on.

use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The number of blocks stored so far (written to the file, readable by anyone who opens it),
/// and whether the stream is closed. Waiters block on a condition variable, not on the writer.
#[derive(Debug, Default)]
pub struct SealNotifier {
    state: Mutex<(u64, bool)>,
    changed: Condvar,
}

impl SealNotifier {
    /// `blocks` more blocks were stored: wake every waiter.
    pub fn sealed(&self, blocks: u64) {
        if blocks == 0 {
            return;
        }
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        s.0 = s.0.wrapping_add(blocks);
        self.changed.notify_all();
    }

    /// The stream was closed: waiters return at once from now on.
    pub fn close(&self) {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).1 = true;
        self.changed.notify_all();
    }

    /// The count now.
    pub fn count(&self) -> u64 {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).0
    }

    /// Wait until the count differs from `seen`, the stream is closed, or `timeout` passed;
    /// return the count then.
    pub fn wait(&self, seen: u64, timeout: Duration) -> u64 {
        let deadline = Instant::now().checked_add(timeout);
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        while s.0 == seen && !s.1 {
            let left = match deadline {
                Some(d) => d.saturating_duration_since(Instant::now()),
                None => Duration::from_secs(3600),
            };
            if left.is_zero() {
                break;
            }
            s = self
                .changed
                .wait_timeout(s, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        s.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_waiter_wakes_on_a_seal_and_times_out_without_one() {
        let n = Arc::new(SealNotifier::default());
        assert_eq!(n.wait(0, Duration::from_millis(10)), 0);
        let m = n.clone();
        let t = std::thread::spawn(move || m.wait(0, Duration::from_secs(30)));
        std::thread::sleep(Duration::from_millis(20));
        n.sealed(2);
        assert_eq!(t.join().unwrap(), 2);
        assert_eq!(n.wait(1, Duration::from_secs(30)), 2, "a stale count returns at once");
        n.close();
        assert_eq!(n.wait(2, Duration::from_secs(30)), 2, "a closed stream returns at once");
    }
}
