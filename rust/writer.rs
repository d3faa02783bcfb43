//! The writer thread: merges steps, folds summaries, seals blocks and appends them, writes
//! summary.json — all off the caller's thread and without the GIL.

use std::collections::VecDeque;
use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use crate::error::{Error, Result};
use crate::format::block::frame_block;
use crate::format::{BlockEncoder, FileHeader};
use crate::fsutil::{atomic_write, open_append, still_at, Appender};
use crate::record::{Msg, Record};
use crate::step::PendingRow;
use crate::summary::Summary;
use crate::value::Value;

/// Batching limits: a block is sealed at whichever comes first.
#[derive(Debug, Clone)]
pub struct Batching {
    /// Seal and write at least this often (the durability bound).
    pub flush_interval: Duration,
    pub block_rows: usize,
    pub block_bytes: usize,
}

impl Batching {
    /// Blocks big enough to compress well, small enough to bound memory (a few MB).
    pub const DEFAULT_BLOCK_ROWS: usize = 16_384;
    pub const DEFAULT_BLOCK_BYTES: usize = 4 << 20;

    pub fn new(flush_interval: Duration) -> Self {
        Self {
            flush_interval,
            block_rows: Self::DEFAULT_BLOCK_ROWS,
            block_bytes: Self::DEFAULT_BLOCK_BYTES,
        }
    }
}

pub struct WriterConfig {
    pub history_path: PathBuf,
    pub summary_path: Option<PathBuf>,
    pub header: FileHeader,
    pub batching: Batching,
}

/// Sealed blocks kept in memory while they cannot be written (a full disk), at most this many
/// bytes; past it the oldest are dropped, and counted.
pub const MAX_UNWRITTEN_BYTES: usize = 64 << 20;
/// Retries of a failed write back off from the flush interval up to this.
const MAX_RETRY_INTERVAL: Duration = Duration::from_secs(30);

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

    fn notify(&self, msg: String) {
        if let Ok(mut n) = self.notices.lock() {
            n.push(msg);
            self.pending.store(true, Ordering::Relaxed);
        }
    }

    /// Record a failure; the first of an episode (since the last recovery) becomes a notice.
    fn fail(&self, e: &Error) {
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
    fn lose(&self, msg: String) {
        let first = self.lost.lock().is_ok_and(|mut l| {
            let first = l.is_none();
            l.get_or_insert_with(|| msg.clone());
            first
        });
        if first {
            self.notify(msg);
        }
    }

    fn recovered(&self, lost: Option<String>) {
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

/// A committed row waiting for deferred values; rows behind it wait too, to keep their order.
struct Parked {
    step: i64,
    timestamp: f64,
    items: Vec<(u32, Value)>,
    waiting: Vec<(u32, u64)>,
}

struct Writer {
    cfg: WriterConfig,
    /// `seen[id] == stamp`: metric `id` is in the row being checked (see `unique`).
    seen: Vec<u32>,
    stamp: u32,
    parked: VecDeque<Parked>,
    /// The history file; `None` until it is opened again after a failure.
    file: Option<Appender>,
    /// Sealed blocks (framed) and their row counts, waiting to be written, oldest first.
    unwritten: VecDeque<(Vec<u8>, u32)>,
    unwritten_bytes: usize,
    /// Blocks and rows dropped while writes failed (the memory bound), since the last recovery.
    lost: (u64, u64),
    /// When a failed write is tried again (timer-driven flushes wait; flush and finish do not).
    retry_at: Option<Instant>,
    backoff: Duration,
    /// summary.json could not be written; it is tried again at the next flush.
    summary_failed: bool,
    names: Vec<Box<str>>,
    ids: rustc_hash::FxHashMap<Box<str>, u32>,
    row: PendingRow,
    row_buf: Vec<(u32, Value)>,
    summary: Summary,
    summary_dirty: bool,
    encoder: BlockEncoder,
    raw: Vec<u8>,
    frame: Vec<u8>,
    recycle: Sender<Vec<(u32, Value)>>,
    health: Arc<Health>,
}

/// Open the history file (writing its header when new) and start the writer thread.
pub fn spawn(
    cfg: WriterConfig,
    rx: Receiver<Msg>,
    requests: Receiver<Msg>,
    recycle: Sender<Vec<(u32, Value)>>,
    health: Arc<Health>,
) -> Result<JoinHandle<()>> {
    let file = open_append(&cfg.history_path, &cfg.header.to_bytes())?;
    let summary = Summary::new(cfg.header.start_time);
    let backoff = cfg.batching.flush_interval;
    let mut w = Writer {
        cfg,
        seen: Vec::new(),
        stamp: 0,
        parked: VecDeque::new(),
        file: Some(file),
        unwritten: VecDeque::new(),
        unwritten_bytes: 0,
        lost: (0, 0),
        retry_at: None,
        backoff,
        summary_failed: false,
        names: Vec::new(),
        ids: rustc_hash::FxHashMap::default(),
        row: PendingRow::default(),
        row_buf: Vec::new(),
        summary,
        summary_dirty: false,
        encoder: BlockEncoder::default(),
        raw: Vec::new(),
        frame: Vec::new(),
        recycle,
        health,
    };
    std::thread::Builder::new()
        .name("turbotrack-writer".into())
        .spawn(move || w.run(&rx, &requests))
        .map_err(|e| Error::Closed(format!("could not start the writer thread: {e}")))
}

impl Writer {
    /// The loop. Data (`rx`) is drained without ever blocking on it, so a `log()` never has to
    /// wake this thread (a syscall on the caller's thread); the thread sleeps on the request
    /// channel instead (summary, flush, finish wake it at once), polling the data channel after
    /// `MIN_POLL`, backing off to `MAX_POLL` while nothing comes.
    fn run(&mut self, rx: &Receiver<Msg>, requests: &Receiver<Msg>) {
        const MIN_POLL: Duration = Duration::from_micros(100);
        const MAX_POLL: Duration = Duration::from_millis(5);
        let interval = self.cfg.batching.flush_interval;
        let mut deadline = Instant::now() + interval;
        let mut poll = MIN_POLL;
        loop {
            let got = self.drain(rx, &mut deadline);
            poll = if got { MIN_POLL } else { (poll * 2).min(MAX_POLL) };
            let wait = poll.min(deadline.saturating_duration_since(Instant::now()));
            match requests.recv_timeout(wait) {
                Ok(request) => {
                    self.drain(rx, &mut deadline); // everything sent before the request
                    if let Msg::Finish(reply) = request {
                        self.guarded(Self::close);
                        let done = !self.health.has_failed();
                        let _ = reply.send(self.health.message());
                        if done {
                            return;
                        }
                        // Something is still unwritten: stay, so that finish() can try again.
                        continue;
                    }
                    self.guarded(|w| w.handle(request));
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    // The run was dropped without finish(): write what came, then stop.
                    self.drain(rx, &mut deadline);
                    self.guarded(Self::close);
                    return;
                }
            }
            if Instant::now() >= deadline {
                self.guarded(|w| w.flush(false));
                deadline = Instant::now() + interval;
            }
        }
    }

    /// Run `work`; a panic in it is recorded as a failure (the caller warns once) and the rows
    /// being assembled are dropped, so that the thread — and the run — go on.
    fn guarded(&mut self, work: impl FnOnce(&mut Self)) {
        let Err(panic) = catch_unwind(AssertUnwindSafe(|| work(self))) else {
            return;
        };
        let why = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        self.health.lose(format!(
            "turbotrack's writer thread hit a bug ({why}); the rows being written then were lost, and the run goes on"
        ));
        self.encoder = BlockEncoder::default();
        self.row_buf.clear();
        self.parked.clear();
        let step = self.row.step;
        self.row = PendingRow::default();
        self.row.step = step;
    }

    /// Handle every data message waiting; whether there was any.
    fn drain(&mut self, rx: &Receiver<Msg>, deadline: &mut Instant) -> bool {
        let mut n = 0u32;
        while let Ok(msg) = rx.try_recv() {
            self.guarded(|w| w.handle(msg));
            n += 1;
            if n % 4096 == 0 && Instant::now() >= *deadline {
                self.guarded(|w| w.flush(false));
                *deadline = Instant::now() + self.cfg.batching.flush_interval;
            }
        }
        n > 0
    }

    fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Names(names) => {
                for n in names {
                    let id = self.names.len() as u32;
                    self.summary.name_added(id, &n);
                    self.ids.insert(n.clone(), id);
                    self.names.push(n);
                }
            }
            Msg::Log(rec) => self.log(rec),
            Msg::Resolve { token, value } => self.resolve(token, value),
            Msg::Define(def) => {
                self.summary.define(def);
                self.summary_dirty = true;
            }
            Msg::SetSummary { key, id, json } => {
                let id = id.or_else(|| self.ids.get(key.as_str()).copied());
                self.summary.set_override(&key, id, json);
                self.summary_dirty = true;
            }
            Msg::Summary(reply) => {
                let _ = reply.send(self.render_summary(true));
            }
            Msg::Flush(reply) => {
                self.flush(true);
                let _ = reply.send(());
            }
            Msg::Finish(_) => unreachable!("handled in run"),
        }
    }

    fn log(&mut self, mut rec: Record) {
        if rec.commit
            && !self.row.has_data()
            && rec.deferred.is_empty()
            && self.parked.is_empty()
            && self.unique(&rec.items)
        {
            // The common case: one call is one whole row; it goes straight to the encoder.
            std::mem::swap(&mut self.row_buf, &mut rec.items);
            self.row.step = rec.step.saturating_add(1);
            self.store(rec.step, rec.timestamp);
            let _ = self.recycle.try_send(rec.items);
            return;
        }
        if rec.step > self.row.step {
            if self.row.has_data() {
                self.commit();
            }
            self.row.step = rec.step;
        }
        for (id, v) in rec.items.drain(..) {
            self.row.set(id, v);
        }
        for (id, token) in rec.deferred {
            self.row.wait_for(id, token);
        }
        self.row.timestamp = rec.timestamp;
        let _ = self.recycle.try_send(rec.items);
        if rec.commit {
            self.commit();
        }
    }

    /// Whether no metric appears twice in `items` (it can, when nested dicts flatten onto a key).
    fn unique(&mut self, items: &[(u32, Value)]) -> bool {
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            self.seen.fill(0);
            self.stamp = 1;
        }
        for (id, _) in items {
            let i = *id as usize;
            if i >= self.seen.len() {
                self.seen.resize(i + 1, 0);
            }
            if self.seen[i] == self.stamp {
                return false;
            }
            self.seen[i] = self.stamp;
        }
        true
    }

    /// Commit the pending row, or park it while it (or a row before it) waits for values.
    fn commit(&mut self) {
        let step = self.row.step;
        let timestamp = self.row.timestamp;
        let waiting = self.row.take_waiting();
        self.row.drain_into(step.saturating_add(1), &mut self.row_buf);
        if !waiting.is_empty() || !self.parked.is_empty() {
            let items = std::mem::take(&mut self.row_buf);
            self.parked.push_back(Parked {
                step,
                timestamp,
                items,
                waiting,
            });
            return;
        }
        self.store(step, timestamp);
    }

    /// A deferred value arrived: put it in its row, then store every row no longer waiting.
    fn resolve(&mut self, token: u64, value: Value) {
        let parked = self.parked.iter_mut().find_map(|p| {
            let i = p.waiting.iter().position(|(_, t)| *t == token)?;
            Some((p, i))
        });
        if let Some((p, i)) = parked {
            let (id, _) = p.waiting.swap_remove(i);
            p.items.push((id, value));
        } else if self.row.has_data() {
            // Not committed yet: it may be waiting for this token.
            let waiting = self.row.take_waiting();
            for (id, t) in waiting {
                if t == token {
                    self.row.set(id, value.clone());
                } else {
                    self.row.wait_for(id, t);
                }
            }
        }
        self.release_parked(false);
    }

    /// Store parked rows from the front while they wait for nothing (all of them with `force`).
    fn release_parked(&mut self, force: bool) {
        while self.parked.front().is_some_and(|p| force || p.waiting.is_empty()) {
            let p = self.parked.pop_front().expect("front exists");
            self.row_buf = p.items;
            self.store(p.step, p.timestamp);
        }
    }

    /// Fill step metrics, fold the summary, hand the row in `row_buf` to the encoder.
    fn store(&mut self, step: i64, timestamp: f64) {
        let logged = self.row_buf.len();
        for i in 0..logged {
            let id = self.row_buf[i].0;
            let (name, v) = (&self.names[id as usize], &self.row_buf[i].1);
            self.summary.observe(id, name, v, step);
        }
        for i in 0..if self.summary.syncs_steps() { logged } else { 0 } {
            let id = self.row_buf[i].0;
            let Some(def) = self.summary.def_for(id, &self.names[id as usize]) else {
                continue;
            };
            let Some(sid) = def.step_metric.filter(|s| def.step_sync && *s != id) else {
                continue;
            };
            if self.row_buf.iter().any(|(k, _)| *k == sid) {
                continue;
            }
            if let Some(last) = self.summary.last(sid).cloned() {
                self.row_buf.push((sid, last));
            }
        }
        self.summary.row_committed(step, timestamp);
        self.summary_dirty = true;
        self.encoder.push_row(step, timestamp, &mut self.row_buf);
        let b = &self.cfg.batching;
        if self.encoder.len() >= b.block_rows || self.encoder.approx_bytes() >= b.block_bytes {
            self.seal();
        }
    }

    fn render_summary(&mut self, with_pending: bool) -> String {
        let names = &self.names;
        if with_pending && self.row.has_data() {
            let mut s = self.summary.clone();
            for &id in self.row.ids() {
                if let Some(v) = self.row.get(id) {
                    s.observe(id, &names[id as usize], v, self.row.step);
                }
            }
            s.row_committed(self.row.step, self.row.timestamp);
            return s.render(|i| &names[i as usize]);
        }
        self.summary.render(|i| &names[i as usize])
    }

    /// Encode and compress the open block, then write what is waiting.
    fn seal(&mut self) {
        if self.encoder.is_empty() {
            return;
        }
        self.raw.clear();
        let names = &self.names;
        let n = self.encoder.seal(|i| &names[i as usize], &mut self.raw);
        match frame_block(&self.raw, n, &mut self.frame) {
            Ok(()) => {
                self.unwritten_bytes += self.frame.len();
                self.unwritten.push_back((std::mem::take(&mut self.frame), n));
                while self.unwritten_bytes > MAX_UNWRITTEN_BYTES && self.unwritten.len() > 1 {
                    let (old, rows) = self.unwritten.pop_front().expect("not empty");
                    self.unwritten_bytes -= old.len();
                    self.lost.0 += 1;
                    self.lost.1 += u64::from(rows);
                }
            }
            Err(e) => self.health.fail(&Error::io(&self.cfg.history_path, e)),
        }
        if self.raw.capacity() > 4 * self.cfg.batching.block_bytes {
            self.raw = Vec::new();
        }
        self.write_unwritten(false);
    }

    /// Append the waiting blocks. After a failure, timer-driven calls (`force` false) wait for
    /// the backoff; a failed write is cut back off the file so no torn block stays mid-file.
    fn write_unwritten(&mut self, force: bool) {
        if self.unwritten.is_empty() || (!force && self.retry_at.is_some_and(|t| Instant::now() < t)) {
            return;
        }
        let path = &self.cfg.history_path;
        let file = match self.file.take() {
            Some(f) if still_at(&f.file, path) => Ok(f),
            Some(_) => {
                self.health.notify(format!(
                    "{} was deleted or moved while the run was running; turbotrack starts it again there (rows written before are not in the new file)",
                    path.display()
                ));
                open_append(path, &self.cfg.header.to_bytes())
            }
            None => open_append(path, &self.cfg.header.to_bytes()),
        };
        let mut file = match file {
            Ok(f) => f,
            Err(e) => return self.write_failed(&e),
        };
        while let Some((frame, _)) = self.unwritten.front() {
            if let Err(e) = file.file.write_all(frame) {
                // Cut a partial write back off; if even that fails, reopen (and repair) later.
                if file.file.set_len(file.len).is_ok() {
                    self.file = Some(file);
                }
                return self.write_failed(&Error::io(path, e));
            }
            file.len += frame.len() as u64;
            self.unwritten_bytes -= frame.len();
            self.unwritten.pop_front();
        }
        self.file = Some(file);
        self.retry_at = None;
        self.backoff = self.cfg.batching.flush_interval;
        self.maybe_recovered();
    }

    fn write_failed(&mut self, e: &Error) {
        self.health.fail(e);
        self.retry_at = Some(Instant::now() + self.backoff);
        self.backoff = (self.backoff * 2).min(MAX_RETRY_INTERVAL);
    }

    /// Everything is written again: note the recovery (and what was dropped meanwhile).
    fn maybe_recovered(&mut self) {
        if !self.unwritten.is_empty() || self.summary_failed || !self.health.has_failed() {
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

    fn write_summary(&mut self) {
        if !self.summary_dirty {
            return;
        }
        self.summary_dirty = false;
        if let Some(path) = self.cfg.summary_path.clone() {
            let json = self.render_summary(false);
            self.summary_failed = false;
            if let Err(e) = atomic_write(&path, json.as_bytes()) {
                self.health.fail(&e);
                self.summary_failed = true;
                self.summary_dirty = true;
            }
        }
    }

    /// Seal and write. `force`: try failed writes now rather than after the backoff.
    fn flush(&mut self, force: bool) {
        self.seal();
        self.write_unwritten(force);
        self.write_summary();
        self.maybe_recovered();
    }

    fn close(&mut self) {
        if self.row.has_data() {
            self.commit();
        }
        // Values that never arrived are left out rather than holding their rows back forever.
        self.release_parked(true);
        self.summary_dirty = true; // summary.json exists after finish, even for an empty run
        self.flush(true);
        if let Some(f) = &self.file {
            if let Err(e) = f.file.sync_all() {
                self.health.fail(&Error::io(&self.cfg.history_path, e));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::read_files;
    use crossbeam_channel::bounded;

    fn start(dir: &std::path::Path) -> (Sender<Msg>, Sender<Msg>, JoinHandle<()>, Arc<Health>, PathBuf) {
        let path = dir.join("history.ttrk");
        let cfg = WriterConfig {
            history_path: path.clone(),
            summary_path: Some(dir.join("summary.json")),
            header: FileHeader::new(1.0, "stream=history"),
            batching: Batching::new(Duration::from_millis(20)),
        };
        let (tx, rx) = bounded(64);
        let (req_tx, req_rx) = bounded(4);
        let (recycle, _) = bounded(4);
        let health = Arc::new(Health::default());
        let handle = spawn(cfg, rx, req_rx, recycle, health.clone()).unwrap();
        (tx, req_tx, handle, health, path)
    }

    fn log(tx: &Sender<Msg>, step: i64, id: u32, v: i64) {
        let items = vec![(id, Value::Int(v))];
        let rec = Record {
            step,
            commit: true,
            timestamp: 2.0,
            items,
            deferred: vec![],
        };
        tx.send(Msg::Log(rec)).unwrap();
    }

    fn finish(req: &Sender<Msg>) -> Option<String> {
        let (reply, rx) = bounded(1);
        req.send(Msg::Finish(reply)).unwrap();
        rx.recv().unwrap()
    }

    #[test]
    fn a_panic_in_the_writer_is_recorded_and_the_run_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let (tx, req, handle, health, path) = start(dir.path());
        tx.send(Msg::Names(vec!["x".into()])).unwrap();
        log(&tx, 0, 0, 10);
        log(&tx, 1, 7, 11); // metric 7 was never named: a bug, the writer thread panics
        log(&tx, 2, 0, 12);
        let (reply, rx) = bounded(1);
        req.send(Msg::Summary(reply)).unwrap();
        assert!(rx.recv().is_ok(), "requests are answered after a panic");
        let failure = finish(&req).expect("the panic is reported at finish");
        assert!(failure.contains("bug"), "{failure}");
        handle.join().unwrap();
        assert!(health.take_notice().unwrap().contains("writer thread hit a bug"));
        let t = read_files(&[path]).unwrap();
        assert_eq!(*t.steps.last().unwrap(), 2, "rows after the panic are written");
    }

    #[test]
    fn appending_after_a_torn_tail_cuts_it_off_first() {
        let dir = tempfile::tempdir().unwrap();
        let (tx, req, handle, _, path) = start(dir.path());
        tx.send(Msg::Names(vec!["x".into()])).unwrap();
        for i in 0..5 {
            log(&tx, i, 0, i);
        }
        assert_eq!(finish(&req), None);
        handle.join().unwrap();
        let mut data = std::fs::read(&path).unwrap();
        data.extend_from_slice(b"TTBK\x10\x00\x00\x00 torn"); // a block cut short
        std::fs::write(&path, &data).unwrap();
        let (tx, req, handle, _, _) = start(dir.path());
        tx.send(Msg::Names(vec!["x".into()])).unwrap();
        for i in 5..8 {
            log(&tx, i, 0, i);
        }
        assert_eq!(finish(&req), None);
        handle.join().unwrap();
        let t = read_files(std::slice::from_ref(&path)).unwrap();
        assert_eq!(t.steps, (0..8).collect::<Vec<_>>());
        assert_eq!(t.reports[0].1.torn, None);
        assert!(t.reports[0].1.damaged.is_empty());
    }
}
