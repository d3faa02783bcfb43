//! Where the writer hands what it produced: sealed blocks (framed, compressed) and summary
//! snapshots. A [`Sink`] owns everything about storing them — today [`FileSink`] (the history
//! file and summary.json) — and tells a [`SealNotifier`] each time a block became readable, so
//! that an uploader wakes when there is something new instead of polling the run's folder.

mod file;
mod notify;

pub use file::{FileSink, MAX_UNWRITTEN_BYTES};
pub use notify::SealNotifier;

/// The writer's output. Calls come from the writer thread only, in order; a sink never fails
/// the writer: it records failures in the stream's [`crate::health::Health`], keeps what it
/// could not store (bounded) and tries again on the next call.
pub trait Sink: Send {
    /// Store one sealed block (`frame`: header and compressed payload, see file-format.md)
    /// holding `rows` rows. The frame is copied only if it has to wait (a failing disk).
    fn write_block(&mut self, frame: &[u8], rows: u32);
    /// Store a snapshot of the summary (JSON text), replacing the previous one.
    fn write_summary(&mut self, json: &str);
    /// Try again what is waiting; `force`: now, rather than after the retry backoff.
    fn flush(&mut self, force: bool);
    /// Flush (forced) and make what was stored durable (fsync). The sink stays usable: a close
    /// that could not store everything may be tried again.
    fn close(&mut self);
}
