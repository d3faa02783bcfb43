//! Reading history files back, block by block: every whole block of one or more files (shards of
//! one run) into sparse columns, or streamed row by row; rows ordered by step then rank.

use std::collections::VecDeque;
use std::fs::File;
use std::path::{Path, PathBuf};

use rustc_hash::{FxHashMap, FxHashSet};

use crate::error::{Error, Result};
use crate::format::{
    check_stream, decode_block_projected, BlockWalker, ColData, DecodedBlock, FileHeader, ReadReport, WalkError,
};
use crate::summary::{MetricDef, Summary};
use crate::value::Value;

/// One history file, read one block at a time (never the whole file at once).
pub struct FileReader {
    path: PathBuf,
    walker: BlockWalker<File>,
    raw: Vec<u8>,
    /// With a projection: the metric columns to decode (the others are stepped over).
    keep: Option<FxHashSet<String>>,
}

impl FileReader {
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let walker = BlockWalker::new(file, true).map_err(|e| walk_error(path, e))?;
        Ok(Self {
            path: path.to_owned(),
            walker,
            raw: Vec::new(),
            keep: None,
        })
    }

    /// Decode only the metric columns named in `keys` (`_step` and `_timestamp` always).
    #[must_use]
    pub fn project(mut self, keys: Option<&[String]>) -> Self {
        self.keep = keys.map(|k| k.iter().cloned().collect());
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file header; `None` when the file stops inside it (it holds no rows).
    pub fn header(&self) -> Option<&FileHeader> {
        self.walker.header()
    }

    /// What reading found so far (damaged ranges, a torn tail).
    pub fn report(&self) -> &ReadReport {
        self.walker.report()
    }

    /// The next whole block, decoded; blocks that do not decode are skipped as damage.
    pub fn next_block(&mut self) -> Result<Option<DecodedBlock>> {
        if self.walker.header().is_none() {
            return Ok(None);
        }
        let mut decoded = None;
        let keep = self.keep.as_ref();
        let found = self
            .walker
            .next_block(&mut self.raw, |raw, n| {
                decoded = Some(decode(raw, n, keep)?);
                Ok(())
            })
            .map_err(|e| walk_error(&self.path, e))?;
        if self.raw.capacity() > 64 << 20 {
            self.raw = Vec::new(); // one huge block does not pin its buffer for the whole read
        }
        Ok(found.and(decoded))
    }
}

impl FileReader {
    /// Every block left, decoded on `threads` threads while this one reads and checks the file:
    /// `None` when a block does not decode (nothing is lost: read the file again with
    /// [`FileReader::next_block`], which skips it as damage). Up to `2 * threads` payloads wait
    /// at a time; their buffers are used again.
    fn blocks_threaded(&mut self, threads: usize) -> Result<Option<Vec<DecodedBlock>>> {
        type Done = (usize, Option<DecodedBlock>, Vec<u8>);
        if self.walker.header().is_none() {
            return Ok(Some(Vec::new()));
        }
        // At most `depth` payloads out at a time (queued, being decoded, or decoded and not yet
        // taken back), so neither channel ever fills and memory stays bounded.
        let depth = threads * 3;
        let keep = self.keep.as_ref();
        let (work_tx, work_rx) = crossbeam_channel::bounded::<(usize, Vec<u8>, u32)>(depth);
        let (done_tx, done_rx) = crossbeam_channel::bounded::<Done>(depth);
        let walker = &mut self.walker;
        let result = std::thread::scope(|s| {
            for _ in 0..threads {
                let (done_tx, work_rx) = (done_tx.clone(), work_rx.clone());
                s.spawn(move || {
                    for (i, raw, n) in work_rx {
                        let block = decode(&raw, n, keep).ok();
                        if done_tx.send((i, block, raw)).is_err() {
                            break;
                        }
                    }
                });
            }
            drop((done_tx, work_rx));
            let mut blocks: Vec<Option<DecodedBlock>> = Vec::new();
            let mut failed = false;
            let mut spare: Vec<Vec<u8>> = Vec::new();
            let mut out = 0;
            let mut take = |(i, block, raw): Done, blocks: &mut Vec<Option<DecodedBlock>>, spare: &mut Vec<Vec<u8>>| {
                failed |= block.is_none();
                if blocks.len() <= i {
                    blocks.resize_with(i + 1, || None);
                }
                blocks[i] = block;
                spare.push(raw);
            };
            let mut result = Ok(());
            for i in 0.. {
                while out >= depth {
                    let Ok(done) = done_rx.recv() else { break };
                    take(done, &mut blocks, &mut spare);
                    out -= 1;
                }
                while let Ok(done) = done_rx.try_recv() {
                    take(done, &mut blocks, &mut spare);
                    out -= 1;
                }
                let mut raw = spare.pop().unwrap_or_default();
                match walker.next_block(&mut raw, |_, _| Ok(())) {
                    Ok(Some(n)) => {
                        if work_tx.send((i, raw, n)).is_err() {
                            break;
                        }
                        out += 1;
                    }
                    Ok(None) => break,
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                }
            }
            drop(work_tx);
            for done in done_rx {
                take(done, &mut blocks, &mut spare);
            }
            result.map(|()| (!failed).then_some(blocks))
        });
        match result.map_err(|e| walk_error(&self.path, e))? {
            Some(blocks) => Ok(blocks.into_iter().collect::<Option<Vec<_>>>()),
            None => Ok(None),
        }
    }
}

/// One block's payload decoded (only the columns in `keep`, when given), checked against the
/// row count its header declares.
fn decode(raw: &[u8], n: u32, keep: Option<&FxHashSet<String>>) -> std::result::Result<DecodedBlock, String> {
    let b = match keep {
        None => decode_block_projected(raw, &|_| true),
        Some(k) => decode_block_projected(raw, &|name| k.contains(name)),
    }
    .map_err(|e| e.to_string())?;
    if b.steps.len() as u32 != n {
        return Err("a block holds a different number of rows than its header says".into());
    }
    Ok(b)
}

pub(crate) fn walk_error(path: &Path, e: WalkError) -> Error {
    match e {
        WalkError::Io(e) => Error::io(path, e),
        WalkError::Format(msg) => Error::Format {
            path: path.to_owned(),
            msg,
        },
        WalkError::Memory(msg) => Error::Memory(format!("{}: {msg}", path.display())),
    }
}

/// A metric's values and the rows (indices into the table) that hold them.
#[derive(Debug)]
pub struct Column {
    pub name: String,
    pub rows: Vec<u32>,
    /// Rows that hold a null for the metric, in order (not in `rows`: a null is no value).
    pub nulls: Vec<u32>,
    pub data: ColData,
}

/// The rows of a stream.
#[derive(Debug, Default)]
pub struct Table {
    pub steps: Vec<i64>,
    pub timestamps: Vec<f64>,
    pub runtimes: Vec<f64>,
    /// The rank of each row, when the files belong to a shared run.
    pub ranks: Option<Vec<i64>>,
    pub columns: Vec<Column>,
    /// With a projection: the metric names left out, in the order first seen.
    pub skipped: Vec<String>,
    /// Per column, when read with dense rows elided ([`read_files_threaded`]): `true` where the
    /// column holds a value in every row, its `rows` then left empty (they are `0..len`).
    pub every_row: Vec<bool>,
    pub reports: Vec<(PathBuf, ReadReport)>,
}

impl Table {
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

/// A `key=value;key=value` field of a file header's meta text.
pub fn meta_field<'a>(meta: &'a str, key: &str) -> Option<&'a str> {
    meta.split(';')
        .find_map(|kv| kv.split_once('=').filter(|(k, _)| *k == key).map(|(_, v)| v))
}

/// Check a file block by block: every damaged range, and a torn tail.
pub fn verify(path: &Path) -> Result<ReadReport> {
    let mut r = FileReader::open(path)?;
    while r.next_block()?.is_some() {}
    Ok(r.report().clone())
}

/// Check stream bytes an uploader sends (see [`check_stream`]): each block must also decode to the
/// rows its header says (its columns stepped over, not built). `(end of the last whole block,
/// its rows, why it stopped early or None)`; `Err` when the file header is damaged.
pub fn check_upload(data: &[u8], at_start: bool) -> std::result::Result<(usize, u64, Option<String>), String> {
    check_stream(data, at_start, |raw, n| {
        let b =
            decode_block_projected(raw, &|_| false).map_err(|e| format!("a block's payload does not decode ({e})"))?;
        if b.steps.len() as u32 != n {
            return Err("a block holds a different number of rows than its header says".into());
        }
        Ok(())
    })
}

/// Read every whole block of `paths` into one table.
pub fn read_files(paths: &[PathBuf]) -> Result<Table> {
    read_files_projected(paths, None)
}

/// As [`read_files`], with the metric columns limited to `keys` (every row is kept, with `_step`,
/// `_timestamp`, `_runtime` and `_rank`); the names of the others are listed in `skipped`.
pub fn read_files_projected(paths: &[PathBuf], keys: Option<&[String]>) -> Result<Table> {
    read_files_threaded(paths, keys, 1, false)
}

/// How many threads a whole read decodes blocks on: `TURBOTRACK_READ_THREADS` when set (at least
/// 1), else the CPUs this process may use.
pub fn read_threads() -> usize {
    std::env::var("TURBOTRACK_READ_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get))
        .max(1)
}

/// As [`read_files_projected`], the blocks of each file decompressed and decoded on `threads`
/// threads (1: one block at a time on this one) while this thread reads the file. The table is
/// the same: should a block not decode, that file is read again one block at a time, so damage
/// is skipped and reported exactly as [`read_files_projected`] does. With `elide_dense_rows`, a
/// column holding a value in every row of a one-file read is marked in `every_row` and its
/// `rows` left empty (never built: a dense run's row numbers would be as big as its values).
pub fn read_files_threaded(
    paths: &[PathBuf],
    keys: Option<&[String]>,
    threads: usize,
    elide_dense_rows: bool,
) -> Result<Table> {
    if elide_dense_rows && paths.len() == 1 {
        if let Some(t) = crate::direct_read::read(&paths[0], keys, threads)? {
            return Ok(t);
        }
    }
    let mut t = Table::default();
    let mut acc = Accumulator {
        elide: elide_dense_rows && paths.len() == 1,
        ..Accumulator::default()
    };
    for path in paths {
        let mut file = FileReader::open(path)?.project(keys);
        let Some(hdr) = file.header().cloned() else {
            t.reports.push((path.clone(), file.report().clone()));
            continue;
        };
        let decoded = if threads > 1 {
            file.blocks_threaded(threads)?
        } else {
            None
        };
        if let Some(blocks) = decoded {
            acc.reserve(&mut t, &blocks);
            for block in blocks {
                acc.append(&mut t, &hdr, block);
            }
        } else {
            if threads > 1 {
                file = FileReader::open(path)?.project(keys); // a block did not decode: from the start
            }
            while let Some(block) = file.next_block()? {
                acc.append(&mut t, &hdr, block);
            }
        }
        acc.shared |= meta_field(&hdr.meta, "shared") == Some("1");
        t.reports.push((path.clone(), file.report().clone()));
    }
    if acc.shared {
        t.ranks = Some(acc.ranks);
    }
    if acc.elide {
        t.every_row = std::mem::take(&mut acc.elided);
        for (col, every) in t.columns.iter_mut().zip(&mut t.every_row) {
            // Dense so far, but not in the rows after its last value: its rows after all.
            if *every && col.data.len() != t.steps.len() {
                col.rows = (0..col.data.len() as u32).collect();
                *every = false;
            }
        }
    }
    if paths.len() > 1 {
        order_rows(&mut t);
    }
    Ok(t)
}

/// What [`read_files_threaded`] keeps between blocks while it builds a table.
#[derive(Default)]
struct Accumulator {
    skipped: FxHashSet<String>,
    col_of: FxHashMap<String, usize>,
    ranks: Vec<i64>,
    shared: bool,
    /// Leave out the rows of columns that hold a value in every row so far (see `elided`).
    elide: bool,
    /// Per column: its rows are left out, being `0..data.len()` (every row up to its last value).
    elided: Vec<bool>,
}

impl Accumulator {
    /// Room for `blocks` in the table's columns (each grows once, not by doubling).
    fn reserve(&mut self, t: &mut Table, blocks: &[DecodedBlock]) {
        let rows: usize = blocks.iter().map(|b| b.steps.len()).sum();
        t.steps.reserve(rows);
        t.timestamps.reserve(rows);
        t.runtimes.reserve(rows);
        self.ranks.reserve(rows);
        let mut more: FxHashMap<&str, (usize, usize)> = FxHashMap::default();
        for c in blocks.iter().flat_map(|b| &b.columns) {
            let e = more.entry(c.name.as_str()).or_default();
            e.0 += c.rows.len();
            e.1 += c.data.len();
        }
        for (name, (rows, values)) in more {
            if let Some(&k) = self.col_of.get(name) {
                let col = &mut t.columns[k];
                if !self.elided.get(k).copied().unwrap_or(false) {
                    col.rows.reserve(rows);
                }
                match &mut col.data {
                    ColData::Float(v) => v.reserve(values),
                    ColData::Int(v) => v.reserve(values),
                    ColData::Bool(v) => v.reserve(values),
                    _ => {}
                }
            }
        }
    }

    /// Append one block of a file with header `hdr` to the table.
    fn append(&mut self, t: &mut Table, hdr: &FileHeader, block: DecodedBlock) {
        let offset = t.steps.len() as u32;
        t.runtimes.extend(block.timestamps.iter().map(|ts| ts - hdr.start_time));
        t.steps.extend_from_slice(&block.steps);
        t.timestamps.extend_from_slice(&block.timestamps);
        let rank = meta_field(&hdr.meta, "rank").and_then(|r| r.parse().ok()).unwrap_or(0);
        self.ranks.resize(t.steps.len(), rank);
        if let Some(pid) = meta_field(&hdr.meta, "pid").and_then(|p| p.parse::<i64>().ok()) {
            // A process forked from a rank: its rows carry `_pid`.
            let k = *self.col_of.entry("_pid".to_owned()).or_insert_with_key(|name| {
                t.columns.push(Column {
                    name: name.clone(),
                    rows: Vec::new(),
                    nulls: Vec::new(),
                    data: ColData::Int(Vec::new()),
                });
                t.columns.len() - 1
            });
            let col = &mut t.columns[k];
            col.rows.extend(offset..offset + block.steps.len() as u32);
            col.data.extend(ColData::Int(vec![pid; block.steps.len()]));
        }
        for name in block.skipped {
            if !self.skipped.contains(&name) {
                self.skipped.insert(name.clone());
                t.skipped.push(name);
            }
        }
        let n = block.steps.len();
        for c in block.columns {
            let rows = c.rows.iter().map(|r| r + offset);
            let nulls = c.nulls.iter().map(|r| r + offset);
            let dense = self.elide && c.rows.len() == n;
            if let Some(&k) = self.col_of.get(&c.name) {
                let col = &mut t.columns[k];
                if self.elided.get(k).copied().unwrap_or(false) {
                    if dense && col.data.len() == offset as usize {
                        col.nulls.extend(nulls);
                        col.data.extend(c.data);
                        continue;
                    }
                    col.rows = (0..col.data.len() as u32).collect();
                    self.elided[k] = false;
                }
                col.rows.extend(rows);
                col.nulls.extend(nulls);
                col.data.extend(c.data);
            } else {
                let k = t.columns.len();
                self.col_of.insert(c.name.clone(), k);
                let every = dense && offset == 0;
                if self.elide {
                    self.elided.resize(k + 1, false);
                    self.elided[k] = every;
                }
                t.columns.push(Column {
                    name: c.name,
                    rows: if every { Vec::new() } else { rows.collect() },
                    nulls: nulls.collect(),
                    data: c.data,
                });
            }
        }
        if self.elide {
            self.elided.resize(t.columns.len(), false);
        }
    }
}

/// One row of a streamed scan.
#[derive(Debug)]
pub struct ScanRow {
    pub step: i64,
    pub timestamp: f64,
    pub runtime: f64,
    pub rank: i64,
    /// Column index into the block's `names` (see [`Scan::names`]) and value.
    pub items: Vec<(u32, Value)>,
}

/// One file of a scan: its current block's rows, ready to merge.
struct Shard {
    file: FileReader,
    start_time: f64,
    rank: i64,
    pid: Option<i64>,
    names: Vec<String>,
    rows: VecDeque<ScanRow>,
    done: bool,
}

impl Shard {
    /// Decode the next block into rows (`done` at the end of the file).
    fn fill(&mut self) -> Result<()> {
        while self.rows.is_empty() && !self.done {
            let Some(block) = self.file.next_block()? else {
                self.done = true;
                break;
            };
            self.names.clear();
            let n = block.steps.len();
            let mut items: Vec<Vec<(u32, Value)>> = (0..n).map(|_| Vec::new()).collect();
            if let Some(pid) = self.pid {
                self.names.push("_pid".into());
                for row in &mut items {
                    row.push((0, Value::Int(pid)));
                }
            }
            for c in block.columns {
                let k = self.names.len() as u32;
                for (v, &r) in c.data.into_values().into_iter().zip(&c.rows) {
                    items[r as usize].push((k, v));
                }
                for &r in &c.nulls {
                    items[r as usize].push((k, Value::Null));
                }
                self.names.push(c.name);
            }
            let (start_time, rank) = (self.start_time, self.rank);
            self.rows.extend(
                block
                    .steps
                    .iter()
                    .zip(&block.timestamps)
                    .zip(items)
                    .map(|((&step, &ts), items)| ScanRow {
                        step,
                        timestamp: ts,
                        runtime: ts - start_time,
                        rank,
                        items,
                    }),
            );
        }
        Ok(())
    }
}

/// The rows of one or more files (the shards of a run), streamed: one decoded block per file in
/// memory at a time, merged by step then rank (then file order).
pub struct Scan {
    shards: Vec<Shard>,
    shared: bool,
}

impl Scan {
    pub fn open(paths: &[PathBuf]) -> Result<Self> {
        let mut shards = Vec::with_capacity(paths.len());
        let mut shared = false;
        for path in paths {
            let file = FileReader::open(path)?;
            let meta = file.header().map(|h| h.meta.clone()).unwrap_or_default();
            shared |= meta_field(&meta, "shared") == Some("1");
            shards.push(Shard {
                start_time: file.header().map_or(0.0, |h| h.start_time),
                rank: meta_field(&meta, "rank").and_then(|r| r.parse().ok()).unwrap_or(0),
                pid: meta_field(&meta, "pid").and_then(|p| p.parse().ok()),
                file,
                names: Vec::new(),
                rows: VecDeque::new(),
                done: false,
            });
        }
        Ok(Self { shards, shared })
    }

    /// Whether the files belong to a shared run (rows carry `_rank`).
    pub fn shared(&self) -> bool {
        self.shared
    }

    /// Whether a file needs its next block read before the next row can be chosen.
    pub fn needs_fill(&self) -> bool {
        self.shards.iter().any(|s| s.rows.is_empty() && !s.done)
    }

    /// Read the next block of every file whose rows are used up.
    pub fn fill(&mut self) -> Result<()> {
        for s in &mut self.shards {
            s.fill()?;
        }
        Ok(())
    }

    /// The next row in order and the column names its items index, or `None` at the end.
    /// Call [`Scan::fill`] first whenever [`Scan::needs_fill`] says so.
    pub fn pop(&mut self) -> Option<(ScanRow, &[String])> {
        let best = self
            .shards
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.rows.front().map(|r| ((r.step, r.rank, i), i)))
            .min_by_key(|(key, _)| *key)?
            .1;
        let s = &mut self.shards[best];
        let row = s.rows.pop_front()?;
        Some((row, &s.names))
    }

    /// Each file and what reading it found so far.
    pub fn reports(&self) -> Vec<(PathBuf, ReadReport)> {
        self.shards
            .iter()
            .map(|s| (s.file.path().to_owned(), s.file.report().clone()))
            .collect()
    }
}

/// The summary of the rows of `paths` (the shards of one run) under `defs`: every metric folded
/// in time order, so min/max/mean cover every rank and first/last are the earliest/latest by time.
pub fn summarize(paths: &[PathBuf], defs: Vec<MetricDef>) -> Result<String> {
    let t = read_files(paths)?;
    let mut summary = Summary::new(
        t.timestamps
            .first()
            .zip(t.runtimes.first())
            .map_or(0.0, |(ts, rt)| ts - rt),
    );
    for d in defs {
        summary.define(d);
    }
    for (id, col) in t.columns.iter().enumerate() {
        if col.name.starts_with('_') {
            continue;
        }
        // Values and nulls (`k` past the values: null number `k - values`), in time order.
        let values = col.rows.len();
        let row_of = |k: usize| (if k < values { col.rows[k] } else { col.nulls[k - values] }) as usize;
        let mut order: Vec<usize> = (0..values + col.nulls.len()).collect();
        order.sort_by(|&a, &b| {
            let (ra, rb) = (row_of(a), row_of(b));
            t.timestamps[ra].total_cmp(&t.timestamps[rb]).then(ra.cmp(&rb))
        });
        for k in order {
            let v = if k < values { col.data.get(k) } else { Value::Null };
            summary.observe(id as u32, &col.name, &v, t.steps[row_of(k)]);
        }
    }
    if let Some(last) = (0..t.len()).max_by(|&a, &b| t.timestamps[a].total_cmp(&t.timestamps[b])) {
        summary.row_committed(t.steps[last], t.timestamps[last]);
    }
    let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
    Ok(summary.render(|i| names[i as usize]))
}

/// Reorder rows by (step, rank), keeping each file's own order among equals.
fn order_rows(t: &mut Table) {
    let n = t.steps.len();
    let ranks = t.ranks.clone().unwrap_or_else(|| vec![0; n]);
    let mut perm: Vec<usize> = (0..n).collect();
    perm.sort_by_key(|&i| (t.steps[i], ranks[i]));
    if perm.iter().enumerate().all(|(i, p)| i == *p) {
        return;
    }
    let mut inv = vec![0u32; n];
    for (new, &old) in perm.iter().enumerate() {
        inv[old] = new as u32;
    }
    t.steps = perm.iter().map(|&i| t.steps[i]).collect();
    t.timestamps = perm.iter().map(|&i| t.timestamps[i]).collect();
    t.runtimes = perm.iter().map(|&i| t.runtimes[i]).collect();
    if let Some(r) = &mut t.ranks {
        *r = perm.iter().map(|&i| ranks[i]).collect();
    }
    for col in &mut t.columns {
        let mut order: Vec<usize> = (0..col.rows.len()).collect();
        order.sort_by_key(|&k| inv[col.rows[k] as usize]);
        col.rows = order.iter().map(|&k| inv[col.rows[k] as usize]).collect();
        col.data = col.data.gather(&order);
        col.nulls = col.nulls.iter().map(|&r| inv[r as usize]).collect();
        col.nulls.sort_unstable();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::block::frame_block;
    use crate::format::{BlockEncoder, FileHeader};
    use crate::value::Value;

    fn write_file(path: &Path, meta: &str, rows: &[(i64, f64)]) {
        let mut f = FileHeader::new(100.0, meta).to_bytes();
        let mut enc = BlockEncoder::default();
        for (step, x) in rows {
            enc.push_row(*step, 100.0 + *step as f64, &mut vec![(0, Value::Float(*x))]);
        }
        let mut raw = vec![];
        let n = enc.seal(|_| "x", &mut raw);
        let mut frame = vec![];
        frame_block(&raw, n, &mut frame).unwrap();
        f.extend_from_slice(&frame);
        std::fs::write(path, f).unwrap();
    }

    #[test]
    fn a_projection_decodes_only_the_keys_asked_for() {
        let dir = std::env::temp_dir().join(format!("tt-proj-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let a = dir.join("history.ttrk");
        let names = ["x", "y", "z"];
        let mut f = FileHeader::new(100.0, "").to_bytes();
        let mut enc = BlockEncoder::default();
        for step in 0..3i64 {
            let mut row = vec![(0, Value::Float(step as f64)), (1, Value::Int(step * 7))];
            if step == 1 {
                row.push((2, Value::Str("s".into())));
            }
            enc.push_row(step, 100.0 + step as f64, &mut row);
        }
        let mut raw = vec![];
        let n = enc.seal(|i| names[i as usize], &mut raw);
        let mut frame = vec![];
        frame_block(&raw, n, &mut frame).unwrap();
        f.extend_from_slice(&frame);
        std::fs::write(&a, f).unwrap();
        let all = read_files(std::slice::from_ref(&a)).unwrap();
        assert_eq!(all.columns.len(), 3);
        let t = read_files_projected(std::slice::from_ref(&a), Some(&["y".to_owned()])).unwrap();
        assert_eq!(t.steps, all.steps);
        assert_eq!(t.columns.len(), 1);
        assert_eq!(t.columns[0].data, ColData::Int(vec![0, 7, 14]));
        assert_eq!(t.skipped, vec!["x".to_owned(), "z".to_owned()]);
        let none = read_files_projected(std::slice::from_ref(&a), Some(&[])).unwrap();
        assert!(none.columns.is_empty() && none.skipped.len() == all.columns.len() && none.len() == 3);
        std::fs::remove_dir_all(&dir).ok();
    }

    /// Nulls read back in their rows: as `Value::Null` in a scan, as null rows beside the values
    /// in a table (shards merged, rows reordered), and a shared run's summary skips them.
    #[test]
    fn nulls_read_back_through_every_reader() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, meta: &str, rows: &[(i64, Value)]| {
            let path = dir.path().join(name);
            let mut f = FileHeader::new(100.0, meta).to_bytes();
            let mut enc = BlockEncoder::default();
            for (step, v) in rows {
                enc.push_row(*step, 100.0 + *step as f64, &mut vec![(0, v.clone())]);
            }
            let mut raw = vec![];
            let n = enc.seal(|_| "x", &mut raw);
            let mut frame = vec![];
            frame_block(&raw, n, &mut frame).unwrap();
            f.extend_from_slice(&frame);
            std::fs::write(&path, f).unwrap();
            path
        };
        let a = write(
            "a",
            "shared=1;rank=1",
            &[(0, Value::Float(1.0)), (1, Value::Null), (3, Value::Null)],
        );
        let b = write("b", "shared=1;rank=0", &[(1, Value::Null), (2, Value::Float(2.0))]);
        let paths = [a, b];
        let t = read_files(&paths).unwrap();
        assert_eq!(t.steps, vec![0, 1, 1, 2, 3]);
        assert_eq!(t.columns[0].rows, vec![0, 3]);
        assert_eq!(t.columns[0].nulls, vec![1, 2, 4]);
        assert_eq!(t.columns[0].data, ColData::Float(vec![1.0, 2.0]));
        let mut scan = Scan::open(&paths).unwrap();
        let mut got = vec![];
        loop {
            scan.fill().unwrap();
            let Some((row, _)) = scan.pop() else { break };
            got.push((row.step, row.items[0].1.clone()));
        }
        let null = Value::Null;
        assert_eq!(
            got,
            vec![
                (0, Value::Float(1.0)),
                (1, null.clone()),
                (1, null.clone()),
                (2, Value::Float(2.0)),
                (3, null)
            ]
        );
        let s = summarize(&paths, vec![MetricDef::new("x", Some("min,last,first"), None).unwrap()]).unwrap();
        assert!(
            s.starts_with(r#"{"x": {"min": 1.0, "first": 1.0, "last": null}"#),
            "{s}"
        );
        assert!(summarize(&paths, vec![]).unwrap().starts_with(r#"{"x": 2.0"#));
    }

    /// Files written before nulls existed (format version 1) and before block statistics
    /// (version 2: one zstd frame per block, no statistics) read as they did, beside a version-3
    /// block of the same rows.
    #[test]
    fn version_1_and_2_files_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.ttrk");
        for version in [1, 2, 3] {
            let mut header = FileHeader::new(100.0, "stream=history");
            header.version = version;
            let mut f = header.to_bytes();
            let mut enc = BlockEncoder::default();
            enc.push_row(0, 100.0, &mut vec![(0, Value::Float(1.5))]);
            if version > 1 {
                enc.push_row(1, 101.0, &mut vec![(0, Value::Null)]);
            }
            let mut raw = vec![];
            let n = enc.seal(|_| "x", &mut raw);
            let mut frame = vec![];
            let mut framer = crate::format::block::Framer::new().unwrap();
            if version == 3 {
                framer
                    .frame_with_stats(&raw, n, enc.sealed_stats(), &mut frame)
                    .unwrap();
            } else {
                framer.frame(&raw, n, &mut frame).unwrap();
            }
            f.extend_from_slice(&frame);
            std::fs::write(&path, &f).unwrap();
            let t = read_files(std::slice::from_ref(&path)).unwrap();
            assert_eq!(t.columns[0].data, ColData::Float(vec![1.5]), "version {version}");
            assert_eq!(t.columns[0].nulls, if version > 1 { vec![1] } else { vec![] });
            assert_eq!(verify(&path).unwrap().blocks, 1);
        }
        // A version this build does not know is refused, naming both.
        let mut future = FileHeader::new(100.0, "").to_bytes();
        future[4] = 9;
        let end = future.len() - 4;
        let crc = crc32fast::hash(&future[..end]);
        future[end..].copy_from_slice(&crc.to_le_bytes());
        std::fs::write(&path, &future).unwrap();
        let err = read_files(std::slice::from_ref(&path)).unwrap_err().to_string();
        assert!(err.contains("version 9") && err.contains("versions 1 to 3"), "{err}");
    }

    /// A table as text, bit for bit (NaN included), dense rows written out.
    fn table_text(t: &Table) -> String {
        use std::fmt::Write;
        let mut out = format!(
            "{:?} {:?} {:?} {:?} {:?} {:?}\n",
            t.steps,
            t.timestamps.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            t.runtimes.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            t.ranks,
            t.skipped,
            t.reports
        );
        for (k, c) in t.columns.iter().enumerate() {
            let rows = if t.every_row.get(k).copied().unwrap_or(false) {
                assert!(c.rows.is_empty());
                (0..t.len() as u32).collect()
            } else {
                c.rows.clone()
            };
            let data = match &c.data {
                ColData::Float(v) => format!("{:?}", v.iter().map(|x| x.to_bits()).collect::<Vec<_>>()),
                other => format!("{other:?}"),
            };
            writeln!(out, "{} {rows:?} {:?} {data}", c.name, c.nulls).unwrap();
        }
        out
    }

    /// A history file of 5 blocks of 700 rows of the columns `threaded_reads_equal_one_block_at_a_time`
    /// reads: with block statistics or without, a damaged block 3, a torn block 4.
    fn write_mixed(dir: &Path, name: &str, meta: &str, seed: i64, damage: bool, stats: bool, torn: bool) -> PathBuf {
        let names = [
            "dense", "sparse", "int", "flag", "text", "mixed", "gone", "shifty", "late", "dflag",
        ];
        let path = dir.join(name);
        let mut f = FileHeader::new(100.0, meta).to_bytes();
        let mut framer = crate::format::block::Framer::new().unwrap();
        for block in 0..5i64 {
            let mut enc = BlockEncoder::default();
            for i in 0..700i64 {
                let step = block * 700 + i;
                let x = (step + seed) as f64 * 0.5;
                let mut row = vec![(0, Value::Float(if step % 97 == 0 { f64::NAN } else { x }))];
                if step % 3 == 0 {
                    row.push((1, if step % 9 == 0 { Value::Null } else { Value::Float(-x) }));
                }
                if block != 2 {
                    row.push((2, Value::Int(step * 1_000_000_007)));
                }
                if step % 2 == 0 {
                    row.push((3, Value::Bool(step % 4 == 0)));
                }
                if step % 50 == 0 {
                    row.push((4, Value::Str(format!("s{step}"))));
                }
                if step % 7 == 0 {
                    row.push((
                        5,
                        if step % 14 == 0 {
                            Value::Int(step)
                        } else {
                            Value::Float(x)
                        },
                    ));
                }
                if block == 0 && i < 10 {
                    row.push((6, Value::Float(x))); // a column dense in its first rows only
                }
                if step % 5 == 0 {
                    // Ints in the first blocks, floats after: mixed once the blocks are joined.
                    row.push((7, if block < 2 { Value::Int(step) } else { Value::Float(x) }));
                }
                if (block == 1 || block == 3) && i % 4 == 0 {
                    row.push((8, if block == 1 { Value::Null } else { Value::Float(x) }));
                }
                row.push((9, Value::Bool(step % 3 == 0)));
                enc.push_row(step, 100.0 + step as f64, &mut row);
            }
            let mut raw = vec![];
            let n = enc.seal(|i| names[i as usize], &mut raw);
            let mut frame = vec![];
            // A damaged block: its checksum matches, but it does not hold the rows it says.
            let rows = if damage && block == 3 { n + 1 } else { n };
            if stats {
                framer
                    .frame_with_stats(&raw, rows, enc.sealed_stats(), &mut frame)
                    .unwrap();
            } else {
                framer.frame(&raw, rows, &mut frame).unwrap();
            }
            if torn && block == 4 {
                frame.truncate(frame.len() / 2);
            }
            f.extend_from_slice(&frame);
        }
        std::fs::write(&path, f).unwrap();
        path
    }

    /// What a threaded read of one file holds: the dense columns, each column's type, the damaged
    /// block skipped and reported, the torn tail left out.
    fn one_file_tables(one: &Path, bad: &Path, torn: &Path) {
        let t = read_files_threaded(&[one.to_owned()], None, 2, true).unwrap();
        let dense: Vec<&str> = t
            .columns
            .iter()
            .zip(&t.every_row)
            .filter(|(_, every)| **every)
            .map(|(c, _)| c.name.as_str())
            .collect();
        assert_eq!(dense, ["dense", "dflag"]);
        let kinds = column_kinds(&t);
        let want = [
            ("dense", "float"),
            ("sparse", "float"),
            ("int", "int"),
            ("flag", "bool"),
            ("text", "str"),
            ("mixed", "mixed"),
            ("gone", "float"),
            ("shifty", "mixed"),
            ("dflag", "bool"),
            ("late", "float"),
        ];
        assert_eq!(kinds, want);
        let damaged = read_files_threaded(&[bad.to_owned()], None, 2, true).unwrap();
        assert_eq!(damaged.reports[0].1.damaged.len(), 1);
        assert_eq!(damaged.len(), 4 * 700);
        let torn = read_files_threaded(&[torn.to_owned()], None, 2, true).unwrap();
        assert!(torn.reports[0].1.torn.is_some() && torn.len() == 4 * 700);
    }

    /// Each column's name and the type of its data.
    fn column_kinds(t: &Table) -> Vec<(&str, &str)> {
        t.columns
            .iter()
            .map(|c| {
                let kind = match &c.data {
                    ColData::Float(_) => "float",
                    ColData::Int(_) => "int",
                    ColData::Bool(_) => "bool",
                    ColData::Str(_) => "str",
                    ColData::Json(_) => "json",
                    ColData::Mixed(_) => "mixed",
                };
                (c.name.as_str(), kind)
            })
            .collect()
    }

    /// Blocks decoded on several threads, dense rows left out, give the table that reading one
    /// block at a time gives: NaN, nulls, sparse keys, ints, bools, strings, mixed columns, a
    /// column whose type changes between blocks, one holding only nulls in a block, several blocks
    /// and the shards of a shared run, a file with a block that does not decode (read again one
    /// block at a time: the same rows and the same damage report) and a torn tail; in files with
    /// block statistics (version 3, decoded straight into the table: `direct_read`) and without.
    #[test]
    fn threaded_reads_equal_one_block_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, meta: &str, seed: i64, damage: bool, stats: bool, torn: bool| {
            write_mixed(dir.path(), name, meta, seed, damage, stats, torn)
        };
        let keys = [
            "int".to_owned(),
            "sparse".to_owned(),
            "shifty".to_owned(),
            "late".to_owned(),
        ];
        for stats in [false, true] {
            let v = if stats { "v3" } else { "v2" };
            let one = write(&format!("one{v}"), "stream=history", 0, false, stats, false);
            let bad = write(&format!("bad{v}"), "stream=history", 0, true, stats, false);
            let torn = write(&format!("torn{v}"), "stream=history", 0, false, stats, true);
            let shared = write(
                &format!("shared{v}"),
                "stream=history;shared=1;rank=3",
                0,
                false,
                stats,
                false,
            );
            let ranks = [
                write(
                    &format!("r0{v}"),
                    "stream=history;shared=1;rank=0",
                    1,
                    false,
                    stats,
                    false,
                ),
                write(
                    &format!("r1{v}"),
                    "stream=history;shared=1;rank=1;pid=77",
                    2,
                    false,
                    stats,
                    false,
                ),
                write(
                    &format!("r2{v}"),
                    "stream=history;shared=1;rank=2",
                    3,
                    true,
                    stats,
                    false,
                ),
            ];
            let files = [
                vec![one.clone()],
                vec![bad.clone()],
                vec![torn.clone()],
                vec![shared.clone()],
                vec![ranks[1].clone()],
                ranks.to_vec(),
            ];
            for paths in files {
                for keys in [None, Some(&keys[..])] {
                    let old = read_files_projected(&paths, keys).unwrap();
                    for threads in [1, 2, 4] {
                        let new = read_files_threaded(&paths, keys, threads, true).unwrap();
                        assert_eq!(table_text(&new), table_text(&old), "{paths:?} {keys:?} {threads}");
                    }
                }
            }
            // Which files were read straight into the table: those with statistics, whole or
            // torn, not damaged, not a forked process's.
            for (path, direct) in [
                (&one, true),
                (&torn, true),
                (&shared, true),
                (&bad, false),
                (&ranks[1], false),
            ] {
                for threads in [1, 2] {
                    let got = crate::direct_read::read(path, None, threads).unwrap();
                    assert_eq!(got.is_some(), stats && direct, "{path:?} {threads}");
                }
            }
            one_file_tables(&one, &bad, &torn);
        }
    }

    /// Blocks whose statistics lie about them (a count, a type; the statistics' own checksum
    /// right) or whose payload is not what its statistics say (each byte changed in turn) never
    /// panic the read straight into the table nor change what it gives: it gives up, and the
    /// file is read as one block at a time reads it.
    #[test]
    fn blocks_unlike_their_statistics_read_as_one_block_at_a_time_reads_them() {
        let names = ["a", "b", "c", "d", "e"];
        let mut enc = BlockEncoder::default();
        for step in 0..24 {
            let mut row = vec![(0, Value::Float(step as f64 * 0.25))];
            if step % 2 == 0 {
                row.push((1, Value::Int(step)));
            }
            if step % 3 == 0 {
                row.push((2, Value::Str(format!("s{step}"))));
            }
            if step % 4 == 1 {
                row.push((3, if step % 8 == 1 { Value::Null } else { Value::Float(1.0) }));
            }
            row.push((4, Value::Bool(step % 5 == 0)));
            enc.push_row(step, 100.0 + step as f64, &mut row);
        }
        let mut raw = vec![];
        let n = enc.seal(|i| names[i as usize], &mut raw);
        let stats = enc.sealed_stats().clone();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.ttrk");
        let paths = [path.clone()];
        let mut framer = crate::format::block::Framer::new().unwrap();
        let (mut good, mut frame) = (vec![], vec![]);
        framer.frame_with_stats(&raw, n, &stats, &mut good).unwrap();
        let mut tried = 0;
        let mut check = |raw: &[u8], stats: &crate::format::stats::BlockStats| {
            framer.frame_with_stats(raw, n, stats, &mut frame).unwrap();
            let mut file = FileHeader::new(100.0, "stream=history").to_bytes();
            file.extend_from_slice(&good);
            file.extend_from_slice(&frame);
            std::fs::write(&path, &file).unwrap();
            let old = read_files_projected(&paths, None).unwrap();
            for threads in [1, 2] {
                let new = read_files_threaded(&paths, None, threads, true).unwrap();
                assert_eq!(table_text(&new), table_text(&old), "{stats:?} {threads}");
            }
            tried += 1;
        };
        for c in 0..stats.columns.len() {
            for change in 0..10 {
                let mut lie = stats.clone();
                let col = &mut lie.columns[c];
                match change {
                    0..=6 => col.kind = change as u8,
                    7 => col.held = col.held.saturating_sub(1),
                    8 => col.held = (col.held + 1).min(n),
                    _ => col.nulls = col.nulls.saturating_sub(1),
                }
                check(&raw, &lie);
            }
        }
        for i in 0..raw.len() {
            for x in [0x01u8, 0xff] {
                let mut bad = raw.clone();
                bad[i] ^= x;
                check(&bad, &stats);
            }
        }
        assert!(tried > 100);
    }

    #[test]
    fn shards_merge_by_step_then_rank() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.ttrk");
        let b = dir.path().join("b.ttrk");
        write_file(&a, "stream=history;shared=1;rank=1", &[(0, 10.0), (1, 11.0), (2, 12.0)]);
        write_file(&b, "stream=history;shared=1;rank=0", &[(0, 0.0), (2, 2.0)]);
        let t = read_files(&[a, b]).unwrap();
        assert_eq!(t.steps, vec![0, 0, 1, 2, 2]);
        assert_eq!(t.ranks.as_deref(), Some(&[0, 1, 1, 0, 1][..]));
        assert_eq!(t.columns[0].data, ColData::Float(vec![0.0, 10.0, 11.0, 2.0, 12.0]));
        assert_eq!(t.columns[0].rows, vec![0, 1, 2, 3, 4]);
        assert_eq!(t.runtimes[2], 1.0);
    }

    /// Damaged blocks whose CRC still matches (so they reach the decoder: a writer bug, or damage
    /// made on purpose) never push a reader out of bounds: every row number, bitmap and count
    /// in them is checked. Each byte of a sparse, mixed block is changed in turn.
    #[test]
    fn crafted_blocks_never_panic_the_reader() {
        let names = ["a", "b", "c", "d"];
        let mut enc = BlockEncoder::default();
        for step in 0..9 {
            let mut row = vec![(0, Value::Float(step as f64))];
            if step % 2 == 0 {
                row.push((1, Value::Int(step)));
            }
            if step % 3 == 0 {
                row.push((2, Value::Str(format!("s{step}"))));
            }
            if step == 4 {
                row.push((1, Value::Bool(true))); // a mixed column
            }
            if step % 4 == 1 {
                row.push((3, Value::Null)); // nulls
            }
            enc.push_row(step, 100.0 + step as f64, &mut row);
        }
        let mut raw = vec![];
        let n = enc.seal(|i| names[i as usize], &mut raw);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.ttrk");
        let header = FileHeader::new(100.0, "stream=history;shared=1;rank=0").to_bytes();
        let mut frame = vec![];
        let mut tried = 0;
        for i in 0..raw.len() {
            for x in [0x01u8, 0x80, 0xff] {
                let mut bad = raw.clone();
                bad[i] ^= x;
                for rows in [n, n + 1, u32::MAX] {
                    frame_block(&bad, rows, &mut frame).unwrap();
                    let mut file = header.clone();
                    file.extend_from_slice(&frame);
                    std::fs::write(&path, &file).unwrap();
                    let paths = [path.clone(), path.clone()];
                    let outcome = std::panic::catch_unwind(|| {
                        let _ = read_files(&paths);
                        let _ = verify(&path);
                        let _ = summarize(&paths, vec![]);
                        if let Ok(mut scan) = Scan::open(&paths) {
                            while scan.fill().is_ok() && scan.pop().is_some() {}
                        }
                    });
                    assert!(outcome.is_ok(), "byte {i} ^ {x:#x}, {rows} rows panicked the reader");
                    tried += 1;
                }
            }
        }
        assert!(tried > 100);
    }
}
