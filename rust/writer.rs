//! The writer thread: merges steps, folds summaries, encodes and compresses blocks, and hands
//! them (and summary snapshots) to its [`Sink`] — all off the caller's thread and without the GIL.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use rustc_hash::FxHashMap;

pub use crate::batching::Batching;
use crate::error::{Error, Result};
use crate::format::block::Framer;
use crate::format::BlockEncoder;
use crate::health::Health;
use crate::record::{Items, Msg, Record, RECYCLE_BATCH};
use crate::sink::Sink;
use crate::step::PendingRow;
use crate::summary::Summary;
use crate::value::Value;

/// The channels between a stream's caller side and its writer thread (all bounded).
pub struct Channels {
    /// Records, names, definitions: drained without ever blocking on it.
    pub data: Receiver<Msg>,
    /// Summary reads, flushes, finish: the thread sleeps on this one.
    pub requests: Receiver<Msg>,
    /// Item vectors going back to `log()` for reuse, [`RECYCLE_BATCH`] at a time.
    pub recycle: Sender<Vec<Items>>,
    /// The emptied batch vectors coming back from `log()`, for the next batches: memory one
    /// thread allocated is freed by that thread, since glibc's `free` of another thread's chunk
    /// takes that thread's arena lock, which the writer holds while it grows a buffer (a `log()`
    /// waited 0.1-1.3 ms on it at the 4,096th and 8,192nd rows of each run; benches/tail.py).
    pub empties: Receiver<Vec<Items>>,
    /// Set while the thread seals a block (milliseconds), so a pacing `log()` can tell a writer
    /// that is busy from one that is not running.
    pub sealing: Arc<AtomicBool>,
}

/// A committed row waiting for deferred values; rows behind it wait too, to keep their order.
struct Parked {
    step: i64,
    timestamp: f64,
    items: Vec<(u32, Value)>,
    waiting: Vec<(u32, u64)>,
}

/// Rows being merged: the pending row, rows parked behind deferred values, and the scratch
/// state of the duplicate-key check.
#[derive(Default)]
struct Rows {
    pending: PendingRow,
    parked: VecDeque<Parked>,
    /// `seen[id] == stamp`: metric `id` is in the row being checked (see `Writer::unique`).
    seen: Vec<u32>,
    stamp: u32,
}

/// Metric names by id (as the caller side interned them), and ids by name.
#[derive(Default)]
struct NameTable {
    names: Vec<Box<str>>,
    ids: FxHashMap<Box<str>, u32>,
}

/// The open block and what turns it into a framed, compressed block: one zstd context and
/// buffers reused for every block of the stream.
struct Sealer {
    encoder: BlockEncoder,
    framer: Framer,
    raw: Vec<u8>,
    frame: Vec<u8>,
}

struct Writer {
    batching: Batching,
    sink: Box<dyn Sink>,
    names: NameTable,
    rows: Rows,
    /// The row being stored (moved into the encoder column by column).
    row_buf: Vec<(u32, Value)>,
    summary: Summary,
    summary_dirty: bool,
    block: Sealer,
    recycle: Sender<Vec<Items>>,
    empties: Receiver<Vec<Items>>,
    /// Vectors gathered for the next batch going back.
    returning: Vec<Items>,
    sealing: Arc<AtomicBool>,
    health: Arc<Health>,
}

/// `now + d`, or far in the future when that does not fit (`Batching::NEVER`).
fn after(d: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(d)
        .unwrap_or_else(|| now + Duration::from_secs(365 * 24 * 3600))
}

/// Start the writer thread of a stream that began at `start_time`, writing into `sink`.
pub fn spawn(
    sink: Box<dyn Sink>,
    batching: Batching,
    start_time: f64,
    channels: Channels,
    health: Arc<Health>,
) -> Result<JoinHandle<()>> {
    let framer = Framer::new().map_err(|e| Error::Closed(format!("could not set up zstd: {e}")))?;
    let mut w = Writer {
        batching,
        sink,
        names: NameTable::default(),
        rows: Rows::default(),
        row_buf: Vec::new(),
        summary: Summary::new(start_time),
        summary_dirty: false,
        block: Sealer {
            encoder: BlockEncoder::default(),
            framer,
            raw: Vec::new(),
            frame: Vec::new(),
        },
        recycle: channels.recycle,
        empties: channels.empties,
        returning: Vec::with_capacity(RECYCLE_BATCH),
        sealing: channels.sealing,
        health,
    };
    let (rx, requests) = (channels.data, channels.requests);
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
        let mut deadline = after(self.batching.flush_interval);
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
                deadline = after(self.batching.flush_interval);
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
        self.block.encoder = BlockEncoder::default();
        self.row_buf.clear();
        self.rows.parked.clear();
        let step = self.rows.pending.step;
        self.rows.pending = PendingRow::default();
        self.rows.pending.step = step;
    }

    /// Handle every data message waiting; whether there was any.
    fn drain(&mut self, rx: &Receiver<Msg>, deadline: &mut Instant) -> bool {
        let mut n = 0u32;
        while let Ok(msg) = rx.try_recv() {
            self.guarded(|w| w.handle(msg));
            n += 1;
            if n % 4096 == 0 && Instant::now() >= *deadline {
                self.guarded(|w| w.flush(false));
                *deadline = after(self.batching.flush_interval);
            }
        }
        if n > 0 {
            self.send_back(); // caught up: what was gathered goes back now, not 32 rows later
        }
        n > 0
    }

    fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Names(names) => {
                for n in names {
                    let id = self.names.names.len() as u32;
                    self.summary.name_added(id, &n);
                    self.names.ids.insert(n.clone(), id);
                    self.names.names.push(n);
                }
            }
            Msg::Log(rec) => self.log(rec),
            Msg::Resolve { token, value } => self.resolve(token, value),
            Msg::Define(def) => {
                self.summary.define(def);
                self.summary_dirty = true;
            }
            Msg::SetSummary { key, id, json } => {
                let id = id.or_else(|| self.names.ids.get(key.as_str()).copied());
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
            && !self.rows.pending.has_data()
            && rec.deferred.is_empty()
            && self.rows.parked.is_empty()
            && self.unique(&rec.items)
        {
            // The common case: one call is one whole row; it goes straight to the encoder.
            std::mem::swap(&mut self.row_buf, &mut rec.items);
            self.rows.pending.step = rec.step.saturating_add(1);
            self.store(rec.step, rec.timestamp);
            self.give_back(rec.items);
            return;
        }
        let row = &mut self.rows.pending;
        if rec.step > row.step {
            if row.has_data() {
                self.commit();
            }
            self.rows.pending.step = rec.step;
        }
        let row = &mut self.rows.pending;
        for (id, v) in rec.items.drain(..) {
            row.set(id, v);
        }
        for (id, token) in rec.deferred {
            row.wait_for(id, token);
        }
        row.timestamp = rec.timestamp;
        self.give_back(rec.items);
        if rec.commit {
            self.commit();
        }
    }

    /// Hand `items` back to `log()` for reuse, in batches (see [`Writer::send_back`]).
    fn give_back(&mut self, items: Items) {
        if items.capacity() == 0 {
            return;
        }
        self.returning.push(items);
        if self.returning.len() >= RECYCLE_BATCH {
            self.send_back();
        }
    }

    /// Send the vectors gathered so far; when `log()` has enough spares already, drop them.
    fn send_back(&mut self) {
        if self.returning.is_empty() {
            return;
        }
        let next = self
            .empties
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(RECYCLE_BATCH));
        let batch = std::mem::replace(&mut self.returning, next);
        if let Err(e) = self.recycle.try_send(batch) {
            let mut batch = e.into_inner();
            batch.clear();
            self.returning = batch;
        }
    }

    /// Whether no metric appears twice in `items` (it can, when nested dicts flatten onto a key).
    fn unique(&mut self, items: &[(u32, Value)]) -> bool {
        let r = &mut self.rows;
        r.stamp = r.stamp.wrapping_add(1);
        if r.stamp == 0 {
            r.seen.fill(0);
            r.stamp = 1;
        }
        for (id, _) in items {
            let i = *id as usize;
            if i >= r.seen.len() {
                r.seen.resize(i + 1, 0);
            }
            if r.seen[i] == r.stamp {
                return false;
            }
            r.seen[i] = r.stamp;
        }
        true
    }

    /// Commit the pending row, or park it while it (or a row before it) waits for values.
    fn commit(&mut self) {
        let row = &mut self.rows.pending;
        let (step, timestamp) = (row.step, row.timestamp);
        let waiting = row.take_waiting();
        row.drain_into(step.saturating_add(1), &mut self.row_buf);
        if !waiting.is_empty() || !self.rows.parked.is_empty() {
            let items = std::mem::take(&mut self.row_buf);
            self.rows.parked.push_back(Parked {
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
        let parked = self.rows.parked.iter_mut().find_map(|p| {
            let i = p.waiting.iter().position(|(_, t)| *t == token)?;
            Some((p, i))
        });
        if let Some((p, i)) = parked {
            let (id, _) = p.waiting.swap_remove(i);
            p.items.push((id, value));
        } else if self.rows.pending.has_data() {
            // Not committed yet: it may be waiting for this token.
            let row = &mut self.rows.pending;
            for (id, t) in row.take_waiting() {
                if t == token {
                    row.set(id, value.clone());
                } else {
                    row.wait_for(id, t);
                }
            }
        }
        self.release_parked(false);
    }

    /// Store parked rows from the front while they wait for nothing (all of them with `force`).
    fn release_parked(&mut self, force: bool) {
        while self.rows.parked.front().is_some_and(|p| force || p.waiting.is_empty()) {
            let p = self.rows.parked.pop_front().expect("front exists");
            self.row_buf = p.items;
            self.store(p.step, p.timestamp);
        }
    }

    /// Fill step metrics, fold the summary, hand the row in `row_buf` to the encoder.
    fn store(&mut self, step: i64, timestamp: f64) {
        let names = &self.names.names;
        let logged = self.row_buf.len();
        for (id, v) in &self.row_buf {
            self.summary.observe(*id, &names[*id as usize], v, step);
        }
        for i in 0..if self.summary.syncs_steps() { logged } else { 0 } {
            let id = self.row_buf[i].0;
            let Some(def) = self.summary.def_for(id, &names[id as usize]) else {
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
        let enc = &mut self.block.encoder;
        enc.push_row(step, timestamp, &mut self.row_buf);
        if enc.len() >= self.batching.block_rows || enc.approx_bytes() >= self.batching.block_bytes {
            self.seal();
        }
    }

    fn render_summary(&mut self, with_pending: bool) -> String {
        let names = &self.names.names;
        let row = &self.rows.pending;
        if with_pending && row.has_data() {
            let mut s = self.summary.clone();
            for &id in row.ids() {
                if let Some(v) = row.get(id) {
                    s.observe(id, &names[id as usize], v, row.step);
                }
            }
            s.row_committed(row.step, row.timestamp);
            return s.render(|i| &names[i as usize]);
        }
        self.summary.render(|i| &names[i as usize])
    }

    /// Encode and compress the open block and hand it to the sink.
    fn seal(&mut self) {
        if self.block.encoder.is_empty() {
            return;
        }
        self.sealing.store(true, Ordering::Relaxed);
        self.seal_block();
        self.sealing.store(false, Ordering::Relaxed);
    }

    fn seal_block(&mut self) {
        let b = &mut self.block;
        b.raw.clear();
        let names = &self.names.names;
        let n = b.encoder.seal(|i| &names[i as usize], &mut b.raw);
        match b
            .framer
            .frame_with_stats(&b.raw, n, b.encoder.sealed_stats(), &mut b.frame)
        {
            Ok(()) => self.sink.write_block(&b.frame, n),
            Err(e) => self.health.lose(format!(
                "turbotrack could not compress a block of {n} rows ({e}); those rows were lost, and the run goes on"
            )),
        }
        let keep = 4 * self.batching.block_bytes.min(64 << 20);
        for buf in [&mut b.raw, &mut b.frame] {
            if buf.capacity() > keep {
                *buf = Vec::new(); // one huge block does not pin its buffers
            }
        }
    }

    /// Seal, hand the summary over when it changed, and have the sink retry what waits.
    /// `force`: retry failed writes now rather than after the backoff.
    fn flush(&mut self, force: bool) {
        self.seal();
        self.sink.flush(force);
        if self.summary_dirty {
            self.summary_dirty = false;
            let json = self.render_summary(false);
            self.sink.write_summary(&json);
        }
    }

    fn close(&mut self) {
        if self.rows.pending.has_data() {
            self.commit();
        }
        // Values that never arrived are left out rather than holding their rows back forever.
        self.release_parked(true);
        self.summary_dirty = true; // summary.json exists after finish, even for an empty run
        self.flush(true);
        self.sink.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::FileHeader;
    use crate::reader::read_files;
    use crate::sink::FileSink;
    use crossbeam_channel::bounded;
    use std::path::PathBuf;

    fn start(dir: &std::path::Path) -> (Sender<Msg>, Sender<Msg>, JoinHandle<()>, Arc<Health>, PathBuf) {
        let path = dir.join("history.ttrk");
        let health = Arc::new(Health::default());
        let batching = Batching::DEFAULT.with_flush_interval(0.02).unwrap();
        let sink = FileSink::open(
            path.clone(),
            Some(dir.join("summary.json")),
            &FileHeader::new(1.0, "stream=history"),
            batching.retry_interval(),
            health.clone(),
            Arc::default(),
        )
        .unwrap();
        let (tx, data) = bounded(64);
        let (req_tx, requests) = bounded(4);
        let (recycle, _) = bounded(4);
        let (_, empties) = bounded(4);
        let channels = Channels {
            data,
            requests,
            recycle,
            empties,
            sealing: Arc::default(),
        };
        let handle = spawn(Box::new(sink), batching, 1.0, channels, health.clone()).unwrap();
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
