//! [`FileSink`]: blocks appended to the history file, the summary to summary.json — with a torn
//! tail cut off before appending, blocks kept (bounded) and retried with backoff while the disk
//! refuses them, a history file that was deleted or moved started again, and fsync on close
//! (summary.json, rewritten once a second, is fsynced only then).

use std::collections::VecDeque;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{SealNotifier, Sink};
use crate::error::{Error, Result};
use crate::format::FileHeader;
use crate::fsutil::{open_append, replace_unsynced, still_at, Appender};
use crate::health::Health;

/// Sealed blocks kept in memory while they cannot be written (a full disk), at most this many
/// bytes; past it the oldest are dropped, and counted.
pub const MAX_UNWRITTEN_BYTES: usize = 64 << 20;
/// Retries of a failed write back off from the first interval up to this.
const MAX_RETRY_INTERVAL: Duration = Duration::from_secs(30);

/// The history file of one stream and its summary.json.
pub struct FileSink {
    path: PathBuf,
    summary_path: Option<PathBuf>,
    /// The file header, written when the file is (re)created.
    header: Vec<u8>,
    /// The history file; `None` until it is opened again after a failure.
    file: Option<Appender>,
    /// Blocks (framed) and their row counts waiting to be written, oldest first.
    unwritten: VecDeque<(Vec<u8>, u32)>,
    unwritten_bytes: usize,
    /// Blocks and rows dropped while writes failed (the memory bound), since the last recovery.
    lost: (u64, u64),
    /// A summary that could not be written, tried again at the next flush.
    summary_unwritten: Option<String>,
    retry: Retry,
    health: Arc<Health>,
    notifier: Arc<SealNotifier>,
}

/// When a failed write is tried again: timer-driven calls wait for it; flush and close do not.
struct Retry {
    at: Option<Instant>,
    backoff: Duration,
    first: Duration,
}

impl FileSink {
    /// Open (or create, writing `header`) the history file at `path`; cut a torn tail off it.
    /// `retry`: the first backoff after a failed write (the flush interval).
    pub fn open(
        path: PathBuf,
        summary_path: Option<PathBuf>,
        header: &FileHeader,
        retry: Duration,
        health: Arc<Health>,
        notifier: Arc<SealNotifier>,
    ) -> Result<Self> {
        let header = header.to_bytes();
        let file = open_append(&path, &header)?;
        Ok(Self {
            path,
            summary_path,
            header,
            file: Some(file),
            unwritten: VecDeque::new(),
            unwritten_bytes: 0,
            lost: (0, 0),
            summary_unwritten: None,
            retry: Retry {
                at: None,
                backoff: retry,
                first: retry,
            },
            health,
            notifier,
        })
    }

    fn waiting(&self, force: bool) -> bool {
        !force && self.retry.at.is_some_and(|t| Instant::now() < t)
    }

    /// Keep `frame` for a later try, dropping the oldest kept blocks past the memory bound.
    fn keep(&mut self, frame: &[u8], rows: u32) {
        self.unwritten_bytes += frame.len();
        self.unwritten.push_back((frame.to_vec(), rows));
        while self.unwritten_bytes > MAX_UNWRITTEN_BYTES && self.unwritten.len() > 1 {
            let (old, rows) = self.unwritten.pop_front().expect("more than one block");
            self.unwritten_bytes -= old.len();
            self.lost.0 += 1;
            self.lost.1 += u64::from(rows);
        }
    }

    /// The open file, checked to still be at its path; else the file opened (again) there.
    fn file(&mut self) -> Result<Appender> {
        match self.file.take() {
            Some(f) if still_at(&f.file, &self.path) => Ok(f),
            Some(_) => {
                self.health.notify(format!(
                    "{} was deleted or moved while the run was running; turbotrack starts it again there (rows written before are not in the new file)",
                    self.path.display()
                ));
                open_append(&self.path, &self.header)
            }
            None => open_append(&self.path, &self.header),
        }
    }

    /// Append the kept blocks, then `new`. A failed write is cut back off the file, so no torn
    /// block stays mid-file, and what was not written is kept.
    fn write_blocks(&mut self, new: Option<(&[u8], u32)>, force: bool) {
        if self.unwritten.is_empty() && new.is_none() {
            return;
        }
        if self.waiting(force) {
            if let Some((frame, rows)) = new {
                self.keep(frame, rows);
            }
            return;
        }
        let mut file = match self.file() {
            Ok(f) => f,
            Err(e) => {
                if let Some((frame, rows)) = new {
                    self.keep(frame, rows);
                }
                return self.failed(&e);
            }
        };
        let mut written = 0;
        let mut failure = None;
        while let Some((frame, _)) = self.unwritten.front() {
            if let Err(e) = append(&mut file, frame) {
                failure = Some(e);
                break;
            }
            self.unwritten_bytes -= frame.len();
            self.unwritten.pop_front();
            written += 1;
        }
        if let Some((frame, rows)) = new {
            if failure.is_none() {
                match append(&mut file, frame) {
                    Ok(()) => written += 1,
                    Err(e) => failure = Some(e),
                }
            }
            if failure.is_some() {
                self.keep(frame, rows);
            }
        }
        self.notifier.sealed(written);
        match failure {
            Some(Cut::Kept(e)) => {
                self.file = Some(file);
                self.failed(&Error::io(&self.path, e));
            }
            // The partial write could not be cut off: reopen (and repair) later.
            Some(Cut::Lost(e)) => self.failed(&Error::io(&self.path, e)),
            None => {
                self.file = Some(file);
                self.retry.at = None;
                self.retry.backoff = self.retry.first;
                self.maybe_recovered();
            }
        }
    }

    fn failed(&mut self, e: &Error) {
        self.health.fail(e);
        self.retry.at = Some(Instant::now() + self.retry.backoff);
        self.retry.backoff = (self.retry.backoff * 2).min(MAX_RETRY_INTERVAL);
    }

    /// Everything is written again: note the recovery (and what was dropped meanwhile).
    fn maybe_recovered(&mut self) {
        if !self.unwritten.is_empty() || self.summary_unwritten.is_some() || !self.health.has_failed() {
            return;
        }
        let (blocks, rows) = std::mem::take(&mut self.lost);
        let lost = (blocks > 0).then(|| {
            format!(
                "{rows} rows ({blocks} blocks, beyond {} MiB kept in memory)",
                MAX_UNWRITTEN_BYTES >> 20
            )
        });
        self.health.recovered(lost);
    }

    fn store_summary(&mut self, json: &str) -> bool {
        let Some(path) = &self.summary_path else {
            return true;
        };
        match replace_unsynced(path, json.as_bytes()) {
            Ok(()) => true,
            Err(e) => {
                self.health.fail(&e);
                false
            }
        }
    }
}

/// How an append failed: the file was cut back to its last whole block, or could not be.
enum Cut {
    Kept(std::io::Error),
    Lost(std::io::Error),
}

fn append(file: &mut Appender, frame: &[u8]) -> Result<(), Cut> {
    match file.file.write_all(frame) {
        Ok(()) => {
            file.len += frame.len() as u64;
            Ok(())
        }
        Err(e) if file.file.set_len(file.len).is_ok() => Err(Cut::Kept(e)),
        Err(e) => Err(Cut::Lost(e)),
    }
}

impl Sink for FileSink {
    fn write_block(&mut self, frame: &[u8], rows: u32) {
        self.write_blocks(Some((frame, rows)), false);
    }

    fn write_summary(&mut self, json: &str) {
        if self.store_summary(json) {
            self.summary_unwritten = None;
            self.maybe_recovered();
        } else {
            self.summary_unwritten = Some(json.to_owned());
        }
    }

    fn flush(&mut self, force: bool) {
        self.write_blocks(None, force);
        if let Some(json) = self.summary_unwritten.take() {
            self.write_summary(&json);
        }
        self.maybe_recovered();
    }

    fn close(&mut self) {
        self.flush(true);
        if let Some(f) = &self.file {
            if let Err(e) = f.file.sync_all() {
                self.health.fail(&Error::io(&self.path, e));
            }
        }
        // summary.json went without fsync while the run went on: durable now, as the history is
        if let Some(path) = self.summary_path.as_ref().filter(|_| self.summary_unwritten.is_none()) {
            match std::fs::File::open(path).and_then(|f| f.sync_all()) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => self.health.fail(&Error::io(path, e)),
            }
        }
        if !self.health.has_failed() {
            self.notifier.close();
        }
    }
}

impl Drop for FileSink {
    fn drop(&mut self) {
        self.notifier.close(); // nothing more comes: waiters return
    }
}
