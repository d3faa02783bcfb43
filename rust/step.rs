//! Step merging: the caller's pending-step rule, and the writer's row being built.
//!
//! The caller's thread decides, with [`StepState`], which step a `log()` call goes to and whether
//! it commits, so a call for an older step can be refused before anything is queued. The writer
//! replays the same decisions on [`PendingRow`] to merge values into rows.

use crate::value::Value;

use crate::format::block::MAX_ROW_BYTES;

/// What to do with one `log()` call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Merge into `step`, then commit the row if `commit`.
    Merge { step: i64, commit: bool },
    /// The call names a step older than the pending one: warn and record nothing.
    Drop { pending: i64 },
}

/// Why a `log()` call cannot be recorded at all (nothing of it is).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Committing would move the step counter past `i64::MAX`.
    StepsExhausted,
    /// The row would carry more than [`MAX_ROW_BYTES`] of text: what it holds already.
    RowTooLarge { row_bytes: usize },
}

/// The pending step as the caller's thread sees it.
#[derive(Debug, Clone, Default)]
pub struct StepState {
    pending: i64,
    /// Text bytes (strings, JSON) merged into the pending row so far.
    row_bytes: usize,
}

impl StepState {
    /// Start at `step` (a resumed run continues after its last step).
    pub fn starting_at(step: i64) -> Self {
        Self {
            pending: step,
            row_bytes: 0,
        }
    }

    pub fn pending(&self) -> i64 {
        self.pending
    }

    /// Apply the contract's rule for `log(data, step, commit)` to a call carrying `bytes` of text.
    /// A refused call changes nothing.
    pub fn decide(&mut self, step: Option<i64>, commit: Option<bool>, bytes: usize) -> Result<Decision, Refused> {
        let commit = commit.unwrap_or(step.is_none());
        let (mut pending, mut row_bytes) = (self.pending, self.row_bytes);
        if let Some(n) = step {
            if n < pending {
                return Ok(Decision::Drop { pending });
            }
            if n > pending {
                // The writer commits the pending row and starts a new one at `n`.
                pending = n;
                row_bytes = 0;
            }
        }
        if row_bytes.saturating_add(bytes) > MAX_ROW_BYTES {
            return Err(Refused::RowTooLarge { row_bytes });
        }
        let next = if commit {
            pending.checked_add(1).ok_or(Refused::StepsExhausted)?
        } else {
            pending
        };
        self.pending = next;
        self.row_bytes = if commit { 0 } else { row_bytes + bytes };
        Ok(Decision::Merge { step: pending, commit })
    }
}

/// The row being built on the writer: values by metric id, last write wins.
#[derive(Debug, Default)]
pub struct PendingRow {
    pub step: i64,
    pub timestamp: f64,
    slots: Vec<Option<Value>>,
    touched: Vec<u32>,
    /// Values still being computed elsewhere (a GPU scalar on its way): metric id and token.
    waiting: Vec<(u32, u64)>,
}

impl PendingRow {
    /// Whether any value was merged into the row.
    pub fn has_data(&self) -> bool {
        !self.touched.is_empty() || !self.waiting.is_empty()
    }

    /// Metric `id` will get the value resolved for `token` (it replaces what the row holds).
    pub fn wait_for(&mut self, id: u32, token: u64) {
        if let Some(slot) = self.slots.get_mut(id as usize) {
            *slot = None;
        }
        self.waiting.retain(|(k, _)| *k != id);
        self.waiting.push((id, token));
    }

    /// The values the row waits for, taken out.
    pub fn take_waiting(&mut self) -> Vec<(u32, u64)> {
        std::mem::take(&mut self.waiting)
    }

    pub fn get(&self, id: u32) -> Option<&Value> {
        self.slots.get(id as usize).and_then(Option::as_ref)
    }

    pub fn set(&mut self, id: u32, value: Value) {
        let i = id as usize;
        if i >= self.slots.len() {
            self.slots.resize(i + 1, None);
        }
        if self.slots[i].replace(value).is_none() {
            self.touched.push(id);
        }
        if !self.waiting.is_empty() {
            self.waiting.retain(|(k, _)| *k != id);
        }
    }

    /// Metric ids in the order they were first merged into this row.
    pub fn ids(&self) -> &[u32] {
        &self.touched
    }

    /// Take the row's values out, leaving it empty at `next_step`.
    pub fn drain_into(&mut self, next_step: i64, out: &mut Vec<(u32, Value)>) {
        for &id in &self.touched {
            if let Some(v) = self.slots[id as usize].take() {
                out.push((id, v));
            }
        }
        self.touched.clear();
        self.step = next_step;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_logs_count_up() {
        let mut s = StepState::default();
        assert_eq!(
            s.decide(None, None, 0).unwrap(),
            Decision::Merge { step: 0, commit: true }
        );
        assert_eq!(
            s.decide(None, None, 0).unwrap(),
            Decision::Merge { step: 1, commit: true }
        );
        assert_eq!(s.pending(), 2);
    }

    #[test]
    fn explicit_step_stays_pending_until_a_plain_log() {
        let mut s = StepState::default();
        assert_eq!(
            s.decide(Some(5), None, 0).unwrap(),
            Decision::Merge { step: 5, commit: false }
        );
        assert_eq!(
            s.decide(Some(5), None, 0).unwrap(),
            Decision::Merge { step: 5, commit: false }
        );
        assert_eq!(
            s.decide(None, None, 0).unwrap(),
            Decision::Merge { step: 5, commit: true }
        );
        assert_eq!(s.decide(Some(3), None, 0).unwrap(), Decision::Drop { pending: 6 });
        assert_eq!(
            s.decide(Some(7), Some(true), 0).unwrap(),
            Decision::Merge { step: 7, commit: true }
        );
        assert_eq!(s.pending(), 8);
    }

    #[test]
    fn commit_false_merges() {
        let mut s = StepState::default();
        assert_eq!(
            s.decide(None, Some(false), 0).unwrap(),
            Decision::Merge { step: 0, commit: false }
        );
        assert_eq!(
            s.decide(None, Some(false), 0).unwrap(),
            Decision::Merge { step: 0, commit: false }
        );
        assert_eq!(
            s.decide(None, None, 0).unwrap(),
            Decision::Merge { step: 0, commit: true }
        );
    }

    #[test]
    fn the_last_step_cannot_be_passed() {
        let mut s = StepState::default();
        let last = i64::MAX;
        assert_eq!(
            s.decide(Some(last), None, 0),
            Ok(Decision::Merge {
                step: last,
                commit: false
            })
        );
        assert_eq!(s.decide(None, None, 0), Err(Refused::StepsExhausted));
        assert_eq!(s.decide(Some(last), Some(true), 0), Err(Refused::StepsExhausted));
        assert_eq!(s.pending(), last);
        assert_eq!(
            s.decide(None, Some(false), 0),
            Ok(Decision::Merge {
                step: last,
                commit: false
            })
        );
    }

    #[test]
    fn a_row_carries_bounded_text() {
        let mut s = StepState::default();
        let half = MAX_ROW_BYTES / 2;
        assert!(s.decide(None, Some(false), half).is_ok());
        assert!(s.decide(None, Some(false), half).is_ok());
        assert_eq!(
            s.decide(None, None, 1),
            Err(Refused::RowTooLarge { row_bytes: 2 * half })
        );
        // A new step starts an empty row; a commit empties it too.
        assert!(s.decide(Some(1), None, half).is_ok());
        assert!(s.decide(None, None, half).is_ok());
        assert!(s.decide(None, None, MAX_ROW_BYTES).is_ok());
        assert!(s.decide(None, None, MAX_ROW_BYTES + 1).is_err());
        assert_eq!(s.pending(), 3);
    }

    #[test]
    fn row_keeps_last_write() {
        let mut r = PendingRow::default();
        r.set(3, Value::Int(1));
        r.set(1, Value::Int(2));
        r.set(3, Value::Int(4));
        assert_eq!(r.ids(), &[3, 1]);
        let mut out = vec![];
        r.drain_into(1, &mut out);
        assert_eq!(out, vec![(3, Value::Int(4)), (1, Value::Int(2))]);
        assert!(!r.has_data());
    }
}
