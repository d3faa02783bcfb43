//! A whole read of one history file decoded straight into the table's final columns. The blocks'
//! statistics (format version 3) give every column's size before anything is decompressed, so
//! each column is allocated once at its final size and each block is decompressed and decoded
//! into its own slices of them, on `threads` threads, while this thread reads the file and checks
//! each block's checksum. Whatever this path does not expect (a block without statistics, damage,
//! a block that does not decode as its statistics say, a forked process's file) makes it give up
//! with `None`, nothing lost: the caller reads the file one block at a time, which skips and
//! reports damage.

use std::fs::File;
use std::path::Path;

use rustc_hash::{FxHashMap, FxHashSet};

use crate::error::{Error, Result};
use crate::format::block::{BLOCK_HEADER, MAX_BLOCK};
use crate::format::column::{T_BOOL, T_FLOAT, T_INT, T_NULL};
use crate::format::decode_into::{decode_block_into, BlockTarget, Target, Values};
use crate::format::stats::BlockStats;
use crate::format::{BlockWalker, ColData, DecodedColumn, WalkError, BLOCK_MAGIC};
use crate::fsutil::read_exact_at;
use crate::reader::{meta_field, walk_error, Column, Table};

/// One block as its header and statistics describe it.
struct Planned {
    /// Where the block ends in the file.
    end: u64,
    n_rows: u32,
    raw_len: usize,
    /// Each column record in payload order: name, type byte, values, nulls.
    columns: Vec<(String, u8, usize, usize)>,
}

/// A column's type over the whole file.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// Only nulls so far (a float column, as one block at a time reads it).
    Nulls,
    /// Float, int or bool in every block that holds a value: decoded into its slices.
    Numeric(u8),
    /// Anything else (strings, a type that changes): decoded block by block, appended in order.
    Owned,
}

/// One column of the table: its type, and how many values and nulls it holds in all.
struct PlannedColumn<'p> {
    name: &'p str,
    kind: Kind,
    values: usize,
    nulls: usize,
}

/// The table's columns in the order first seen, the names a projection leaves out, and where
/// each block's column records go (`None`: left out).
struct Layout<'p> {
    columns: Vec<PlannedColumn<'p>>,
    skipped: Vec<String>,
    at: Vec<Vec<Option<usize>>>,
}

/// The table of `path` read whole (see the module doc), or `None` when this path does not apply:
/// read the file one block at a time instead.
pub fn read(path: &Path, keys: Option<&[String]>, threads: usize) -> Result<Option<Table>> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut walker = BlockWalker::new(&file, false).map_err(|e| walk_error(path, e))?;
    let Some(hdr) = walker.header().cloned() else {
        return Ok(None);
    };
    if meta_field(&hdr.meta, "pid").is_some_and(|p| p.parse::<i64>().is_ok()) {
        return Ok(None);
    }
    let (start, end) = (walker.report().valid_bytes, walker.report().file_bytes);
    let Some(blocks) = plan(&file, path, start, end)? else {
        return Ok(None);
    };
    let n: usize = blocks.iter().map(|b| b.n_rows as usize).sum();
    if blocks.is_empty() || u32::try_from(n).is_err() {
        return Ok(None);
    }
    let keep = |name: &str| keys.is_none_or(|k| k.iter().any(|key| key == name));
    let layout = layout(&blocks, &keep);
    let Some(mut bufs) = allocate(&layout, n) else {
        return Ok(None);
    };
    let Some(targets) = cut(&blocks, &layout, n, hdr.start_time, &mut bufs) else {
        return Ok(None);
    };
    let decoded = decode_all(&mut walker, &blocks, targets, threads).map_err(|e| walk_error(path, e))?;
    let Some(owned) = decoded else {
        return Ok(None);
    };
    // Every block planned was read, and nothing follows them but what the walker calls torn.
    let more = walker
        .next_block(&mut Vec::new(), |_, _| Ok(()))
        .map_err(|e| walk_error(path, e))?;
    if more.is_some() || !walker.report().damaged.is_empty() {
        return Ok(None);
    }
    let shared = meta_field(&hdr.meta, "shared") == Some("1");
    let rank = meta_field(&hdr.meta, "rank").and_then(|r| r.parse().ok()).unwrap_or(0);
    let report = walker.report().clone();
    let mut t = assemble(&blocks, &layout, bufs, owned, n);
    t.ranks = shared.then(|| vec![rank; n]);
    t.reports.push((path.to_owned(), report));
    Ok(Some(t))
}

/// The blocks from `pos` to `end` with their statistics, one read per block (its header and,
/// usually, all of its statistics); `None` when a block has none or is not where the one before
/// it ends. A block cut short ends the walk (a torn tail, which the walker reports).
fn plan(file: &File, path: &Path, mut pos: u64, end: u64) -> Result<Option<Vec<Planned>>> {
    let mut buf = vec![0u8; 16 << 10];
    let mut blocks = Vec::new();
    while pos < end {
        let want = buf.len().min((end - pos) as usize);
        if want < BLOCK_HEADER + 8 {
            break;
        }
        if !read_exact_at(file, path, &mut buf[..want], pos)? || &buf[..4] != BLOCK_MAGIC {
            return Ok(None);
        }
        let word = |i: usize| u32::from_le_bytes([buf[i], buf[i + 1], buf[i + 2], buf[i + 3]]) as usize;
        let (comp_len, raw_len, n_rows) = (word(4), word(8), word(12));
        // Each row holds at least a step byte and a timestamp, after the two counts.
        if comp_len > MAX_BLOCK || raw_len > MAX_BLOCK || 9 * n_rows + 8 > raw_len {
            return Ok(None);
        }
        let size = (BLOCK_HEADER + comp_len) as u64;
        if pos + size > end {
            break;
        }
        let Some(stats_len) = BlockStats::frame_len(&buf[BLOCK_HEADER..want]) else {
            return Ok(None); // a block without statistics (format version 1 or 2)
        };
        if stats_len > comp_len {
            return Ok(None);
        }
        let mut long = Vec::new();
        let frame = if BLOCK_HEADER + stats_len <= want {
            &buf[BLOCK_HEADER..BLOCK_HEADER + stats_len]
        } else {
            long.resize(stats_len, 0);
            if !read_exact_at(file, path, &mut long, pos + BLOCK_HEADER as u64)? {
                return Ok(None);
            }
            &long[..]
        };
        let Ok(stats) = BlockStats::parse(frame, n_rows as u32, raw_len as u32, comp_len as u32) else {
            return Ok(None);
        };
        let mut columns = Vec::with_capacity(stats.columns.len());
        for c in stats.columns {
            let values = (c.held - c.nulls) as usize;
            if c.kind == T_NULL && values > 0 {
                return Ok(None);
            }
            columns.push((c.name, c.kind, values, c.nulls as usize));
        }
        blocks.push(Planned {
            end: pos + size,
            n_rows: n_rows as u32,
            raw_len,
            columns,
        });
        pos += size;
    }
    Ok(Some(blocks))
}

/// The table's columns, as one block at a time would build them.
fn layout<'p>(blocks: &'p [Planned], keep: &dyn Fn(&str) -> bool) -> Layout<'p> {
    let mut col_of: FxHashMap<&str, usize> = FxHashMap::default();
    let mut skipped_seen = FxHashSet::default();
    let mut out = Layout {
        columns: Vec::new(),
        skipped: Vec::new(),
        at: Vec::with_capacity(blocks.len()),
    };
    for b in blocks {
        let mut at = Vec::with_capacity(b.columns.len());
        for (name, kind, values, nulls) in &b.columns {
            if !keep(name) {
                if skipped_seen.insert(name.as_str()) {
                    out.skipped.push(name.clone());
                }
                at.push(None);
                continue;
            }
            let k = *col_of.entry(name.as_str()).or_insert_with(|| {
                out.columns.push(PlannedColumn {
                    name,
                    kind: Kind::Nulls,
                    values: 0,
                    nulls: 0,
                });
                out.columns.len() - 1
            });
            let c = &mut out.columns[k];
            c.values += values;
            c.nulls += nulls;
            c.kind = match (c.kind, *kind) {
                (k, T_NULL) => k,
                (Kind::Nulls, T_FLOAT | T_INT | T_BOOL) => Kind::Numeric(*kind),
                (Kind::Numeric(a), b) if a == b => Kind::Numeric(a),
                _ => Kind::Owned,
            };
            at.push(Some(k));
        }
        out.at.push(at);
    }
    out
}

/// A column's buffers at their final sizes (an owned one's filled in afterwards).
enum Data {
    Float(Vec<f64>),
    Int(Vec<i64>),
    Bool(Vec<bool>),
    Owned,
}

struct Buffers {
    steps: Vec<i64>,
    timestamps: Vec<f64>,
    runtimes: Vec<f64>,
    /// Per column: values, rows (empty when it holds a value in every row), nulls.
    columns: Vec<(Data, Vec<u32>, Vec<u32>)>,
}

/// Every buffer of the table at its final size, zeroed (the pages are mapped when first
/// written); `None` when the statistics ask for more memory than there is (damage, most likely).
fn allocate(l: &Layout<'_>, n: usize) -> Option<Buffers> {
    let mut bytes = 24 * n;
    for c in &l.columns {
        if let Kind::Owned = c.kind {
            continue;
        }
        let width = if c.kind == Kind::Numeric(T_BOOL) { 1 } else { 8 };
        let rows = if c.values == n { 0 } else { 4 * c.values };
        bytes = bytes.checked_add(width * c.values + rows + 4 * c.nulls)?;
    }
    // Zeroed vectors cannot be asked for fallibly: ask for the whole once, then let it go.
    Vec::<u8>::new().try_reserve_exact(bytes).ok()?;
    let columns = l
        .columns
        .iter()
        .map(|c| {
            let data = match c.kind {
                Kind::Nulls | Kind::Numeric(T_FLOAT) => Data::Float(vec![0.0; c.values]),
                Kind::Numeric(T_INT) => Data::Int(vec![0; c.values]),
                Kind::Numeric(_) => Data::Bool(vec![false; c.values]),
                Kind::Owned => return (Data::Owned, Vec::new(), Vec::new()),
            };
            let rows = if c.values == n { Vec::new() } else { vec![0; c.values] };
            (data, rows, vec![0; c.nulls])
        })
        .collect();
    Some(Buffers {
        steps: vec![0; n],
        timestamps: vec![0.0; n],
        runtimes: vec![0.0; n],
        columns,
    })
}

/// What is left of a buffer while it is cut into blocks.
struct Left<'a, T>(&'a mut [T]);

impl<'a, T> Left<'a, T> {
    /// The first `len` items; `None` when fewer are left.
    fn take(&mut self, len: usize) -> Option<&'a mut [T]> {
        let (head, tail) = std::mem::take(&mut self.0).split_at_mut_checked(len)?;
        self.0 = tail;
        Some(head)
    }
}

/// What is left of a column's values while they are cut into blocks.
enum LeftValues<'a> {
    Float(Left<'a, f64>),
    Int(Left<'a, i64>),
    Bool(Left<'a, bool>),
    Owned,
}

/// What is left of a column's buffers: values, rows (`None`: left out), nulls.
struct LeftColumn<'a> {
    values: LeftValues<'a>,
    rows: Option<Left<'a, u32>>,
    nulls: Left<'a, u32>,
}

/// Each block's slices of the buffers, in file order.
fn cut<'a>(
    blocks: &'a [Planned],
    layout: &Layout<'_>,
    n: usize,
    start_time: f64,
    bufs: &'a mut Buffers,
) -> Option<Vec<BlockTarget<'a>>> {
    let mut steps = Left(&mut bufs.steps[..]);
    let mut timestamps = Left(&mut bufs.timestamps[..]);
    let mut runtimes = Left(&mut bufs.runtimes[..]);
    let mut left: Vec<LeftColumn<'a>> = bufs
        .columns
        .iter_mut()
        .zip(&layout.columns)
        .map(|((data, rows, nulls), c)| LeftColumn {
            values: match data {
                Data::Float(v) => LeftValues::Float(Left(v)),
                Data::Int(v) => LeftValues::Int(Left(v)),
                Data::Bool(v) => LeftValues::Bool(Left(v)),
                Data::Owned => LeftValues::Owned,
            },
            rows: (c.values != n).then_some(Left(&mut rows[..])),
            nulls: Left(&mut nulls[..]),
        })
        .collect();
    let mut out = Vec::with_capacity(blocks.len());
    let mut first_row = 0u32;
    for (block, at) in blocks.iter().zip(&layout.at) {
        let rows = block.n_rows as usize;
        let mut columns = Vec::with_capacity(block.columns.len());
        for ((name, kind, count, nulls), k) in block.columns.iter().zip(at) {
            let Some(k) = *k else {
                columns.push((name.as_str(), Target::Skip));
                continue;
            };
            let c = &mut left[k];
            let values = match (&mut c.values, *kind) {
                (LeftValues::Owned, _) => {
                    columns.push((name.as_str(), Target::Owned));
                    continue;
                }
                (_, T_NULL) => Values::None,
                (LeftValues::Float(v), _) => Values::Float(v.take(*count)?),
                (LeftValues::Int(v), _) => Values::Int(v.take(*count)?),
                (LeftValues::Bool(v), _) => Values::Bool(v.take(*count)?),
            };
            let rows = match &mut c.rows {
                Some(r) => Some(r.take(*count)?),
                None => None,
            };
            let nulls = c.nulls.take(*nulls)?;
            columns.push((name.as_str(), Target::Into { values, rows, nulls }));
        }
        out.push(BlockTarget {
            first_row,
            start_time,
            steps: steps.take(rows)?,
            timestamps: timestamps.take(rows)?,
            runtimes: runtimes.take(rows)?,
            columns,
        });
        first_row += block.n_rows;
    }
    Some(out)
}

/// Decompresses and decodes blocks, its zstd context and payload buffer used again.
struct Worker {
    zstd: zstd::bulk::Decompressor<'static>,
    raw: Vec<u8>,
}

type Owned = Vec<(usize, DecodedColumn)>;

impl Worker {
    fn new() -> Option<Self> {
        Some(Self {
            zstd: zstd::bulk::Decompressor::new().ok()?,
            raw: Vec::new(),
        })
    }

    /// One block's compressed payload into its slices; `None` when it does not decompress to
    /// `raw_len` bytes or does not decode as planned.
    fn decode(&mut self, comp: &[u8], raw_len: usize, t: &mut BlockTarget<'_>) -> Option<Owned> {
        if self.raw.len() < raw_len {
            self.raw.resize(raw_len, 0);
        }
        let raw = &mut self.raw[..raw_len];
        match self.zstd.decompress_to_buffer(comp, raw) {
            Ok(got) if got == raw_len => decode_block_into(raw, t).ok(),
            _ => None,
        }
    }
}

/// The next block's compressed payload into `buf`: `false` when it is not the block planned.
fn next_payload(walker: &mut BlockWalker<&File>, planned: &Planned, buf: &mut Vec<u8>) -> Result<bool, WalkError> {
    let found = walker.next_block(&mut Vec::new(), |_, _| Ok(()))?;
    let r = walker.report();
    if found != Some(planned.n_rows) || r.valid_bytes != planned.end || !r.damaged.is_empty() {
        return Ok(false);
    }
    walker.swap_payload(buf);
    Ok(true)
}

/// Every block into its slices, read by this thread and decoded on `threads` threads (1: on this
/// one); the owned columns of each block, or `None` when a block is not as planned.
fn decode_all(
    walker: &mut BlockWalker<&File>,
    blocks: &[Planned],
    targets: Vec<BlockTarget<'_>>,
    threads: usize,
) -> Result<Option<Vec<Owned>>, WalkError> {
    type Done = (usize, Option<Owned>, Vec<u8>);
    if threads <= 1 {
        let Some(mut worker) = Worker::new() else {
            return Ok(None);
        };
        let mut buf = Vec::new();
        let mut owned = Vec::with_capacity(blocks.len());
        for (b, mut t) in blocks.iter().zip(targets) {
            if !next_payload(walker, b, &mut buf)? {
                return Ok(None);
            }
            let Some(o) = worker.decode(&buf, b.raw_len, &mut t) else {
                return Ok(None);
            };
            owned.push(o);
        }
        return Ok(Some(owned));
    }
    // At most `depth` payloads out at a time, so neither channel fills and memory stays bounded.
    let depth = threads * 2;
    std::thread::scope(|s| {
        let (work_tx, work_rx) = crossbeam_channel::bounded::<(usize, BlockTarget<'_>, Vec<u8>, usize)>(depth);
        let (done_tx, done_rx) = crossbeam_channel::bounded::<Done>(depth);
        for _ in 0..threads {
            let (done_tx, work_rx) = (done_tx.clone(), work_rx.clone());
            s.spawn(move || {
                let mut worker = Worker::new();
                for (i, mut t, comp, raw_len) in work_rx {
                    let owned = worker.as_mut().and_then(|w| w.decode(&comp, raw_len, &mut t));
                    drop(t);
                    if done_tx.send((i, owned, comp)).is_err() {
                        break;
                    }
                }
            });
        }
        drop((done_tx, work_rx));
        let mut owned: Vec<Option<Owned>> = (0..blocks.len()).map(|_| None).collect();
        let mut failed = false;
        let mut spare: Vec<Vec<u8>> = Vec::new();
        let mut take = |(i, o, buf): Done, spare: &mut Vec<Vec<u8>>| {
            failed |= o.is_none();
            owned[i] = o;
            spare.push(buf);
        };
        let mut out = 0;
        let mut result = Ok(true);
        for (i, (b, t)) in blocks.iter().zip(targets).enumerate() {
            while out >= depth {
                let Ok(done) = done_rx.recv() else { break };
                take(done, &mut spare);
                out -= 1;
            }
            while let Ok(done) = done_rx.try_recv() {
                take(done, &mut spare);
                out -= 1;
            }
            let mut buf = spare.pop().unwrap_or_default();
            match next_payload(walker, b, &mut buf) {
                Ok(true) if work_tx.send((i, t, buf, b.raw_len)).is_ok() => out += 1,
                Ok(_) => {
                    result = Ok(false);
                    break;
                }
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        drop(work_tx);
        for done in done_rx {
            take(done, &mut spare);
        }
        let ok = result? && !failed;
        Ok(ok.then(|| owned.into_iter().collect::<Option<Vec<_>>>()).flatten())
    })
}

/// The table from the filled buffers, the owned columns appended block by block.
fn assemble(blocks: &[Planned], layout: &Layout<'_>, bufs: Buffers, owned: Vec<Owned>, n: usize) -> Table {
    let mut columns: Vec<Column> = Vec::with_capacity(layout.columns.len());
    let mut owned_data: Vec<Option<ColData>> = Vec::with_capacity(layout.columns.len());
    for ((data, rows, nulls), c) in bufs.columns.into_iter().zip(&layout.columns) {
        let data = match data {
            Data::Float(v) => ColData::Float(v),
            Data::Int(v) => ColData::Int(v),
            Data::Bool(v) => ColData::Bool(v),
            Data::Owned => ColData::Float(Vec::new()),
        };
        columns.push(Column {
            name: c.name.to_owned(),
            rows,
            nulls,
            data,
        });
        owned_data.push(None);
    }
    let mut first_row = 0u32;
    for ((block, at), list) in blocks.iter().zip(&layout.at).zip(owned) {
        for (j, dc) in list {
            let Some(col) = at[j] else { continue };
            let (k, col) = (col, &mut columns[col]);
            if layout.columns[k].values != n {
                col.rows.extend(dc.rows.iter().map(|r| r + first_row));
            }
            col.nulls.extend(dc.nulls.iter().map(|r| r + first_row));
            match &mut owned_data[k] {
                Some(data) => data.extend(dc.data),
                none => *none = Some(dc.data),
            }
        }
        first_row += block.n_rows;
    }
    for (col, d) in columns.iter_mut().zip(owned_data) {
        if let Some(d) = d {
            col.data = d;
        }
    }
    Table {
        every_row: layout.columns.iter().map(|c| c.values == n).collect(),
        steps: bufs.steps,
        timestamps: bufs.timestamps,
        runtimes: bufs.runtimes,
        columns,
        skipped: layout.skipped.clone(),
        ..Table::default()
    }
}
