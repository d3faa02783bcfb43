//! The writer thread: merges steps, folds summaries, seals blocks and appends them, writes
//! summary.json — all off the caller's thread and without the GIL.

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use crate::error::{Error, Result};
use crate::format::block::frame_block;
use crate::format::{BlockEncoder, FileHeader};
use crate::fsutil::{atomic_write, open_append};
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

/// Failures of the writer, for the caller to report once without stopping the training loop.
#[derive(Default)]
pub struct Health {
    failed: AtomicBool,
    message: Mutex<Option<String>>,
}

impl Health {
    pub fn has_failed(&self) -> bool {
        self.failed.load(Ordering::Relaxed)
    }

    pub fn message(&self) -> Option<String> {
        self.message.lock().ok()?.clone()
    }

    fn fail(&self, e: &Error) {
        if let Ok(mut m) = self.message.lock() {
            m.get_or_insert_with(|| e.to_string());
        }
        self.failed.store(true, Ordering::Relaxed);
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
    parked: std::collections::VecDeque<Parked>,
    file: Option<File>,
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
    let mut w = Writer {
        cfg,
        seen: Vec::new(),
        stamp: 0,
        parked: std::collections::VecDeque::new(),
        file: Some(file),
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
                        self.close();
                        let _ = reply.send(self.health.message());
                        return;
                    }
                    self.handle(request);
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    // The run was dropped without finish(): write what came, then stop.
                    self.drain(rx, &mut deadline);
                    self.close();
                    return;
                }
            }
            if Instant::now() >= deadline {
                self.flush();
                deadline = Instant::now() + interval;
            }
        }
    }

    /// Handle every data message waiting; whether there was any.
    fn drain(&mut self, rx: &Receiver<Msg>, deadline: &mut Instant) -> bool {
        let mut n = 0u32;
        while let Ok(msg) = rx.try_recv() {
            self.handle(msg);
            n += 1;
            if n % 4096 == 0 && Instant::now() >= *deadline {
                self.flush();
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
                self.flush();
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
            self.row.step = rec.step + 1;
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
        self.row.drain_into(step + 1, &mut self.row_buf);
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

    /// Encode, compress and append the open block.
    fn seal(&mut self) {
        if self.encoder.is_empty() {
            return;
        }
        self.raw.clear();
        let names = &self.names;
        let n = self.encoder.seal(|i| &names[i as usize], &mut self.raw);
        let path = &self.cfg.history_path;
        let result = frame_block(&self.raw, n, &mut self.frame)
            .and_then(|()| match &mut self.file {
                Some(f) => f.write_all(&self.frame),
                None => Ok(()),
            })
            .map_err(|e| Error::io(path, e));
        if let Err(e) = result {
            self.health.fail(&e);
            self.file = None;
        }
        if self.raw.capacity() > 4 * self.cfg.batching.block_bytes {
            self.raw = Vec::new();
        }
    }

    fn write_summary(&mut self) {
        if !self.summary_dirty {
            return;
        }
        self.summary_dirty = false;
        if let Some(path) = self.cfg.summary_path.clone() {
            let json = self.render_summary(false);
            if let Err(e) = atomic_write(&path, json.as_bytes()) {
                self.health.fail(&e);
            }
        }
    }

    fn flush(&mut self) {
        self.seal();
        self.write_summary();
    }

    fn close(&mut self) {
        if self.row.has_data() {
            self.commit();
        }
        // Values that never arrived are left out rather than holding their rows back forever.
        self.release_parked(true);
        self.summary_dirty = true; // summary.json exists after finish, even for an empty run
        self.flush();
        if let Some(f) = self.file.take() {
            if let Err(e) = f.sync_all() {
                self.health.fail(&Error::io(&self.cfg.history_path, e));
            }
        }
    }
}
