//! Zoom-outs from block statistics: `history(keys=[one], samples=N)` of a run's history file
//! answered by reading each block's statistics (format version 3) and decompressing only the
//! steps and that one column of the blocks it must look inside.
//!
//! * A view of at most `N` rows: every row, from the blocks overlapping it.
//! * A view over few blocks (at most twice as many as M4 buckets): those blocks' column, and
//!   `downsample::m4_indices` over it, exactly as a whole read would answer.
//! * A wider view: M4 over whole blocks. A block whose rows of the column all fall in one bucket
//!   gives its first, last, min and max rows from its statistics, undecoded; only blocks that
//!   straddle a bucket edge (or the view's bounds) are decoded. The answer holds each bucket's
//!   first, last, min and max rows exactly (a spike is never sampled away), without the evenly
//!   spaced rows a whole read adds when M4 keeps fewer than `N`.
//!
//! `Ok(None)`: the file cannot be answered this way (blocks without statistics, damage, steps
//! that go back, a column that is not numbers or changes type), and the caller reads it whole.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::downsample::m4_indices;
use crate::error::{Error, Result};
use crate::format::block::{BLOCK_HEADER, MAX_BLOCK};
use crate::format::codec::Reader;
use crate::format::stats::{as_f64, BlockStats, ColStats, Point, T_BOOL, T_FLOAT, T_INT, T_NULL};
use crate::format::{decode_column, decode_steps, ColData, FileHeader, BLOCK_MAGIC};
use crate::fsutil::read_exact_at;

/// The rows of a zoom-out answer, in order: their steps, and the column's values (`rows`: the
/// answer rows holding a value; `nulls`: those holding a null).
#[derive(Debug, Default, PartialEq)]
pub struct Zoomed {
    pub steps: Vec<i64>,
    pub rows: Vec<u32>,
    pub nulls: Vec<u32>,
    pub data: ColData,
    /// Blocks read, and those among them whose column was decompressed (for benches and tests).
    pub blocks: usize,
    pub decoded: usize,
    /// Whether the answer is M4 over whole blocks (a wide view), not a whole read's answer.
    pub from_stats: bool,
    /// Whether blocks straddling a bucket edge were answered from their segments' statistics
    /// (a view of many segments a bucket: see [`SNAP_SEGMENTS`]).
    pub segments: bool,
}

/// A wide view over at least this many segments (of the column's rows) per M4 bucket on average
/// answers a block straddling a bucket edge from its segments' statistics, undecompressed: each
/// segment's first, last, min and max rows go to the buckets their steps fall in, and the rows
/// between them are not looked at. A bucket's min and max are then still exactly its extremes
/// whenever they lie in a segment wholly inside it (always for the view's own min and max: a
/// spike is never lost); its first and last row, and an extreme in a segment cut by its edge, may
/// be up to a segment (at most 1/16 of a bucket) from the row a whole read would keep.
pub const SNAP_SEGMENTS: usize = 16;

impl Default for ColData {
    fn default() -> Self {
        ColData::Float(Vec::new())
    }
}

struct BlockAt {
    n_rows: u32,
    stats: BlockStats,
    /// Where the frames start (after the block header and the statistics frame).
    frames_at: u64,
    /// The column's statistics in this block (index into `stats.columns`).
    col: Option<usize>,
}

/// One row of the column: its step, and its value's bits (`None`: a null).
#[derive(Clone, Copy, Debug)]
struct Row {
    /// Block and row in it: the row's place in the file, for ordering.
    at: (u32, u32),
    step: i64,
    value: Option<u64>,
}

fn io(path: &Path, e: std::io::Error) -> Error {
    Error::io(path, e)
}

/// The names `read_history(paths, keys=[])` gives (`_step`, `_timestamp`, `_runtime`, `_rank`
/// in a shared run, `_pid` for a forked process's file, then every metric in the order first
/// seen) read from the blocks' statistics alone, nothing decompressed; `None` when a block has no
/// statistics or is damaged (the caller reads the files whole).
pub fn names(paths: &[std::path::PathBuf]) -> Result<Option<Vec<String>>> {
    let mut out: Vec<String> = ["_step", "_timestamp", "_runtime"].map(String::from).to_vec();
    let mut seen = rustc_hash::FxHashSet::default();
    let (mut shared, mut pid) = (false, false);
    let mut metrics = Vec::new();
    for path in paths {
        let file = File::open(path).map_err(|e| io(path, e))?;
        let mut head = vec![0u8; 16 + u16::MAX as usize + 4];
        let n = read_some_at(&file, path, &mut head, 0)?;
        head.truncate(n);
        let header = match FileHeader::parse(&head) {
            Ok(Some((h, _))) => h,
            Ok(None) => continue, // a file torn inside its header holds no rows
            Err(_) => return Ok(None),
        };
        let Some(blocks) = walk(&file, path, "")? else {
            return Ok(None);
        };
        shared |= crate::reader::meta_field(&header.meta, "shared") == Some("1");
        pid |= !blocks.is_empty()
            && crate::reader::meta_field(&header.meta, "pid").is_some_and(|p| p.parse::<i64>().is_ok());
        for b in blocks {
            for c in b.stats.columns {
                if seen.insert(c.name.clone()) {
                    metrics.push(c.name);
                }
            }
        }
    }
    if shared {
        out.push("_rank".into());
    }
    if pid {
        out.push("_pid".into());
    }
    out.extend(metrics);
    Ok(Some(out))
}

fn read_some_at(f: &File, path: &Path, buf: &mut [u8], at: u64) -> Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match f.read_at(&mut buf[done..], at + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io(path, e)),
        }
    }
    Ok(done)
}

/// The blocks of `path` with their statistics; `None` when a block has none or is damaged. A
/// torn tail (a last block cut short) ends the walk, as it does for every reader.
fn walk(f: &File, path: &Path, key: &str) -> Result<Option<Vec<BlockAt>>> {
    let end = f.metadata().map_err(|e| io(path, e))?.len();
    // The walk reads a few KiB at the start of each block: no readahead (a cold file's pages
    // would otherwise come in by the 128 KiB window around each). A hint: its failure is ignored.
    let _ = rustix::fs::fadvise(f, 0, None, rustix::fs::Advice::Random);
    let mut head = vec![0u8; (16 + u16::MAX as usize + 4).min(end as usize)];
    if !read_exact_at(f, path, &mut head, 0)? {
        return Ok(None);
    }
    if head.is_empty() {
        return Ok(Some(Vec::new()));
    }
    let Ok(Some((_, pos))) = FileHeader::parse(&head) else {
        return Ok(None);
    };
    let pos = pos as u64;
    if end - pos >= PARALLEL_WALK_MIN {
        if let Some(blocks) = walk_parallel(f, path, key, pos, end)? {
            return Ok(Some(blocks));
        }
    }
    Ok(match chain(f, path, key, pos, end, end)? {
        Chain::Blocks(blocks, _) => Some(blocks),
        Chain::Bad => None,
    })
}

/// A file at least this long is walked in [`WALK_PARTS`] parts at once.
const PARALLEL_WALK_MIN: u64 = 64 << 20;
/// Each block's statistics are one read at an offset only the block before gives: one chain of
/// reads is bound by the disk's latency (~0.1 ms a read here, 60-70 ms for 600 blocks cold).
/// Cut into parts, each found by its first block and walked on its own thread, the reads overlap.
const WALK_PARTS: u64 = 8;

/// [`walk`] in [`WALK_PARTS`] parts at once: each part from the first block starting in it
/// (found by its magic and statistics, their checksum included) up to the next part. `None`
/// when the parts do not join up exactly (a block bigger than a part, damage, a torn block
/// before the end): the caller walks the file in one chain, which says which.
fn walk_parallel(f: &File, path: &Path, key: &str, pos: u64, end: u64) -> Result<Option<Vec<BlockAt>>> {
    let cut = |i: u64| {
        if i == 0 {
            pos
        } else {
            pos + (end - pos) / WALK_PARTS * i
        }
    };
    let parts: Vec<Result<Option<(u64, Chain)>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..WALK_PARTS)
            .map(|i| {
                scope.spawn(move || -> Result<Option<(u64, Chain)>> {
                    let (from, stop) = (cut(i), if i + 1 == WALK_PARTS { end } else { cut(i + 1) });
                    let first = if i == 0 {
                        Some(from)
                    } else {
                        first_block(f, path, from, stop, end)?
                    };
                    let Some(first) = first else { return Ok(None) };
                    Ok(Some((first, chain(f, path, key, first, stop, end)?)))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(Ok(None))).collect()
    });
    let mut blocks = Vec::new();
    let mut expect = pos;
    for part in parts {
        let Some((first, Chain::Blocks(got, stopped))) = part? else {
            return Ok(None);
        };
        if first != expect {
            return Ok(None);
        }
        blocks.extend(got);
        expect = stopped;
    }
    Ok((expect == end).then_some(blocks))
}

/// The first offset in `from..stop` where a block with statistics starts (its magic, then a
/// statistics frame whose checksum holds: compressed bytes are not taken for one).
fn first_block(f: &File, path: &Path, from: u64, stop: u64, end: u64) -> Result<Option<u64>> {
    const CHUNK: usize = 256 << 10;
    let mut chunk = vec![0u8; CHUNK];
    let mut buf = vec![0u8; 16 << 10];
    let mut at = from;
    while at < stop {
        let n = CHUNK.min((end - at) as usize);
        if !read_exact_at(f, path, &mut chunk[..n], at)? {
            return Ok(None);
        }
        for i in 0..n.saturating_sub(3) {
            let o = at + i as u64;
            if o >= stop {
                return Ok(None);
            }
            if &chunk[i..i + 4] == BLOCK_MAGIC && matches!(block_at(f, path, "", o, end, &mut buf)?, Step::Block(..)) {
                return Ok(Some(o));
            }
        }
        at += n.saturating_sub(3).max(1) as u64;
    }
    Ok(None)
}

/// What [`chain`] found: the blocks, and where it stopped (the first block at or past its stop,
/// or the end of the file after a torn tail); or damage.
enum Chain {
    Blocks(Vec<BlockAt>, u64),
    Bad,
}

/// The blocks from `pos` on, one after the other, until one starts at or past `stop` or the
/// file ends (a torn tail: stopped at `end`).
fn chain(f: &File, path: &Path, key: &str, mut pos: u64, stop: u64, end: u64) -> Result<Chain> {
    let mut blocks = Vec::new();
    // One read per block: its header and (usually all of) its statistics.
    let mut buf = vec![0u8; 16 << 10];
    while pos < stop && pos < end {
        match block_at(f, path, key, pos, end, &mut buf)? {
            Step::Block(b, size) => {
                blocks.push(b);
                pos += size;
            }
            Step::Torn => return Ok(Chain::Blocks(blocks, end)),
            Step::Bad => return Ok(Chain::Bad),
        }
    }
    Ok(Chain::Blocks(blocks, pos))
}

/// One block read at `at`: with its statistics and its size; a block cut short by the end of
/// the file; or not a block with statistics.
enum Step {
    Block(BlockAt, u64),
    Torn,
    Bad,
}

fn block_at(f: &File, path: &Path, key: &str, at: u64, end: u64, buf: &mut [u8]) -> Result<Step> {
    let want = buf.len().min((end - at) as usize);
    if want < BLOCK_HEADER + 8 || !read_exact_at(f, path, &mut buf[..want], at)? {
        return Ok(Step::Torn);
    }
    if &buf[..4] != BLOCK_MAGIC {
        return Ok(Step::Bad);
    }
    let word = |i: usize| u32::from_le_bytes([buf[i], buf[i + 1], buf[i + 2], buf[i + 3]]);
    let (comp_len, raw_len, n_rows) = (word(4), word(8), word(12));
    if comp_len as usize > MAX_BLOCK || raw_len as usize > MAX_BLOCK {
        return Ok(Step::Bad);
    }
    let size = (BLOCK_HEADER + comp_len as usize) as u64;
    if at + size > end {
        return Ok(Step::Torn);
    }
    let Some(stats_len) = BlockStats::frame_len(&buf[BLOCK_HEADER..want]) else {
        return Ok(Step::Bad); // a block without statistics (format version 1 or 2)
    };
    if stats_len > comp_len as usize {
        return Ok(Step::Bad);
    }
    let frame = if BLOCK_HEADER + stats_len <= want {
        buf[BLOCK_HEADER..BLOCK_HEADER + stats_len].to_vec()
    } else {
        let mut v = vec![0u8; stats_len];
        read_exact_at(f, path, &mut v, at + BLOCK_HEADER as u64)?;
        v
    };
    let Ok(stats) = BlockStats::parse_for(&frame, n_rows, raw_len, comp_len, Some(key)) else {
        return Ok(Step::Bad);
    };
    let col = stats.columns.iter().position(|c| c.name == key);
    Ok(Step::Block(
        BlockAt {
            n_rows,
            frames_at: at + (BLOCK_HEADER + stats_len) as u64,
            stats,
            col,
        },
        size,
    ))
}

/// Decompress the payload bytes `[offset..)` of the frame holding `offset`: that frame alone.
fn frame_from(f: &File, path: &Path, b: &BlockAt, offset: u32) -> Result<Option<(Vec<u8>, usize)>> {
    let Some((i, raw_at, comp_at)) = b.stats.frame_of(offset) else {
        return Ok(None);
    };
    let (raw_len, comp_len) = b.stats.frames[i];
    let mut comp = vec![0u8; comp_len as usize];
    if !read_exact_at(f, path, &mut comp, b.frames_at + comp_at)? {
        return Ok(None);
    }
    let mut raw = vec![0u8; raw_len as usize];
    match zstd::bulk::decompress_to_buffer(&comp, raw.as_mut_slice()) {
        Ok(n) if n == raw_len as usize => Ok(Some((raw, (offset - raw_at) as usize))),
        _ => Ok(None),
    }
}

/// The column's rows of one block, decoded (steps and the column only).
fn decode_rows(file: &File, path: &Path, bi: usize, block: &BlockAt, stats: &ColStats) -> Result<Option<Vec<Row>>> {
    let Some((head, 0)) = frame_from(file, path, block, 0)? else {
        return Ok(None);
    };
    let Ok(steps) = decode_steps(&head, block.n_rows) else {
        return Ok(None);
    };
    let (buf, at) = if block.stats.frame_of(stats.raw_offset).map(|x| x.0) == Some(0) {
        let at = stats.raw_offset as usize;
        (head, at)
    } else {
        match frame_from(file, path, block, stats.raw_offset)? {
            Some(x) => x,
            None => return Ok(None),
        }
    };
    let mut reader = Reader::new(buf.get(at..).unwrap_or(&[]));
    let Ok(Ok(col)) = decode_column(&mut reader, block.n_rows as usize, &|_| true) else {
        return Ok(None);
    };
    if col.name != stats.name || (col.rows.len() + col.nulls.len()) as u32 != stats.held {
        return Ok(None);
    }
    let mut out = Vec::with_capacity(stats.held as usize);
    let (mut v, mut k) = (0, 0);
    while v < col.rows.len() || k < col.nulls.len() {
        let take_value = k >= col.nulls.len() || (v < col.rows.len() && col.rows[v] < col.nulls[k]);
        let (row, value) = if take_value {
            let bits = match &col.data {
                ColData::Float(x) => x[v].to_bits(),
                ColData::Int(x) => x[v] as u64,
                ColData::Bool(x) => u64::from(x[v]),
                _ => return Ok(None),
            };
            v += 1;
            (col.rows[v - 1], Some(bits))
        } else {
            k += 1;
            (col.nulls[k - 1], None)
        };
        out.push(Row {
            at: (bi as u32, row),
            step: steps[row as usize],
            value,
        });
    }
    Ok(Some(out))
}

fn row_of(bi: usize, p: &Point) -> Row {
    Row {
        at: (bi as u32, p.row),
        step: p.step,
        value: (!p.null).then_some(p.bits),
    }
}

/// The zoom-out answer for `key` of the history file `path` (see the module docs): at most
/// `samples` rows of those holding `key` with `lo <= step <= hi`.
pub fn zoom(path: &Path, key: &str, samples: usize, lo: Option<f64>, hi: Option<f64>) -> Result<Option<Zoomed>> {
    zoom_with(path, key, samples, lo, hi, SNAP_SEGMENTS)
}

/// [`zoom`], answering from segments when a wide view has at least `snap` segments a bucket
/// (`usize::MAX`: never, every straddling block decoded: M4's exact answer).
pub fn zoom_with(
    path: &Path,
    key: &str,
    samples: usize,
    lo: Option<f64>,
    hi: Option<f64>,
    snap: usize,
) -> Result<Option<Zoomed>> {
    let file = File::open(path).map_err(|e| io(path, e))?;
    let Some(blocks) = walk(&file, path, key)? else {
        return Ok(None);
    };
    let Some(kind) = numeric_kind(&blocks) else {
        return Ok(None);
    };
    let (lo, hi) = (lo.unwrap_or(f64::NEG_INFINITY), hi.unwrap_or(f64::INFINITY));
    let mut view = View {
        file: &file,
        path,
        blocks: &blocks,
        span: Vec::new(),
        lo,
        hi,
        kind,
        decoded: 0,
    };
    // The blocks holding the column within the view, and whether wholly.
    for (bi, block) in blocks.iter().enumerate() {
        let Some(col) = block.col.map(|i| &block.stats.columns[i]) else {
            continue;
        };
        let (Some(first), Some(last)) = (col.first, col.last) else {
            continue;
        };
        if (last.step as f64) < lo || (first.step as f64) > hi {
            continue;
        }
        view.span.push((bi, view.inside(first.step) && view.inside(last.step)));
    }
    let buckets = (samples / 4).max(1);
    let wide = view.span.len() > 2 * buckets && samples > 0;
    let segments = wide && view.segments_held() >= snap.saturating_mul(buckets);
    let kept = if wide {
        view.wide(samples, buckets, segments)?
    } else {
        view.narrow(samples)?
    };
    let Some(kept) = kept else {
        return Ok(None);
    };
    let mut out = answer(&kept, kind, blocks.len(), view.decoded, wide);
    out.segments = segments;
    Ok(Some(out))
}

/// The column's one numeric type (float, int or bool) when its steps never go back and it has
/// that type in every block holding a value; `None` otherwise.
fn numeric_kind(blocks: &[BlockAt]) -> Option<u8> {
    let mut kind = None;
    let mut prev = i64::MIN;
    for block in blocks {
        if !block.stats.monotone || (block.n_rows > 0 && block.stats.first_step < prev) {
            return None;
        }
        if block.n_rows > 0 {
            prev = block.stats.last_step;
        }
        if let Some(col) = block.col.map(|i| &block.stats.columns[i]) {
            match col.kind {
                T_NULL => {}
                T_FLOAT | T_INT | T_BOOL if kind.is_none_or(|k| k == col.kind) => kind = Some(col.kind),
                _ => return None,
            }
        }
    }
    kind // None too when no block holds a value: a whole read says what there is
}

/// The blocks a view spans, and what reading them takes.
struct View<'a> {
    file: &'a File,
    path: &'a Path,
    blocks: &'a [BlockAt],
    /// `(block, wholly inside the view)` of each block holding the column within the view.
    span: Vec<(usize, bool)>,
    lo: f64,
    hi: f64,
    kind: u8,
    decoded: usize,
}

impl View<'_> {
    fn inside(&self, step: i64) -> bool {
        (step as f64) >= self.lo && (step as f64) <= self.hi
    }

    /// The column's rows within the view of block `bi`, decoded.
    fn rows_of(&mut self, bi: usize) -> Result<Option<Vec<Row>>> {
        let block = &self.blocks[bi];
        let col = &block.stats.columns[block.col.expect("spanned blocks hold the column")];
        self.decoded += 1;
        let Some(mut rows) = decode_rows(self.file, self.path, bi, block, col)? else {
            return Ok(None);
        };
        rows.retain(|r| self.inside(r.step));
        Ok(Some(rows))
    }

    /// The rows within the view of the spanned blocks `ks` (indices into `span`), decoded on
    /// a few threads (each block decompresses alone); `None` when one does not decode.
    fn decode_many(&mut self, ks: &[usize]) -> Result<Option<Vec<Vec<Row>>>> {
        let threads = std::thread::available_parallelism()
            .map_or(1, std::num::NonZero::get)
            .min(4);
        if threads <= 1 || ks.len() < 4 {
            let mut out = Vec::with_capacity(ks.len());
            for &k in ks {
                match self.rows_of(self.span[k].0)? {
                    Some(rows) => out.push(rows),
                    None => return Ok(None),
                }
            }
            return Ok(Some(out));
        }
        self.decoded += ks.len();
        let this = &*self;
        let per = ks.len().div_ceil(threads);
        let parts: Vec<Result<Option<Vec<Vec<Row>>>>> = std::thread::scope(|scope| {
            let handles: Vec<_> = ks
                .chunks(per)
                .map(|chunk| {
                    scope.spawn(move || {
                        let mut out = Vec::with_capacity(chunk.len());
                        for &k in chunk {
                            let bi = this.span[k].0;
                            let block = &this.blocks[bi];
                            let col = &block.stats.columns[block.col.expect("spanned blocks hold the column")];
                            let Some(mut rows) = decode_rows(this.file, this.path, bi, block, col)? else {
                                return Ok(None);
                            };
                            rows.retain(|r| this.inside(r.step));
                            out.push(rows);
                        }
                        Ok(Some(out))
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap_or(Ok(None))).collect()
        });
        let mut out = Vec::with_capacity(ks.len());
        for part in parts {
            match part? {
                Some(rows) => out.extend(rows),
                None => return Ok(None),
            }
        }
        Ok(Some(out))
    }

    /// Few blocks: their rows, and M4 over them exactly as a whole read computes it.
    fn narrow(&mut self, samples: usize) -> Result<Option<Vec<Row>>> {
        let ks: Vec<usize> = (0..self.span.len()).collect();
        let Some(parts) = self.decode_many(&ks)? else {
            return Ok(None);
        };
        let total: usize = parts.iter().map(Vec::len).sum();
        if total <= samples {
            return Ok(Some(parts.concat()));
        }
        // M4 over the blocks' rows in order, without joining them (a 1M-row view: 32 MB less).
        let rows = || parts.iter().flatten();
        let x: Vec<f64> = rows().map(|r| r.step as f64).collect();
        let kind = self.kind;
        let y: Vec<f64> = rows()
            .map(|r| r.value.map_or(f64::NAN, |bits| as_f64(kind, bits)))
            .collect();
        let mut starts = Vec::with_capacity(parts.len());
        let mut at = 0;
        for part in &parts {
            starts.push(at);
            at += part.len();
        }
        let row = |i: usize| {
            let p = starts.partition_point(|&s| s <= i) - 1;
            parts[p][i - starts[p]]
        };
        Ok(Some(m4_indices(&x, &[&y], samples).into_iter().map(row).collect()))
    }

    /// The segments holding the column in the spanned blocks (0 when a block has none: then no
    /// view is answered from segments).
    fn segments_held(&self) -> usize {
        let mut n = 0;
        for k in 0..self.span.len() {
            let col = self.stats(k);
            if col.segs.is_empty() {
                return 0;
            }
            n += col.segs.iter().filter(|s| s.first.is_some()).count();
        }
        n
    }

    /// Whether spanned block `k`, wholly inside the view, can be answered from its segments:
    /// it has them, and each lies within two adjacent buckets.
    fn by_segments(&self, k: usize, grid: &Grid) -> bool {
        let col = self.stats(k);
        self.span[k].1
            && !col.segs.is_empty()
            && col.segs.iter().all(|s| match (s.first, s.last) {
                (Some(first), Some(last)) => grid.of(last.step) <= grid.of(first.step) + 1,
                _ => true,
            })
    }

    fn stats(&self, k: usize) -> &ColStats {
        let block = &self.blocks[self.span[k].0];
        &block.stats.columns[block.col.expect("spanned blocks hold the column")]
    }

    /// A block at the view's edge: its rows within the view when it is not wholly inside.
    fn edge(&mut self, k: usize) -> Result<Option<Option<Vec<Row>>>> {
        if self.span[k].1 {
            return Ok(Some(None));
        }
        Ok(self.rows_of(self.span[k].0)?.map(Some))
    }

    /// A wide view: M4 over whole blocks, decoding only those straddling a bucket edge.
    fn wide(&mut self, samples: usize, buckets: usize, segments: bool) -> Result<Option<Vec<Row>>> {
        let last_k = self.span.len() - 1;
        let Some(first_rows) = self.edge(0)? else {
            return Ok(None);
        };
        let Some(last_rows) = (if last_k == 0 {
            Some(first_rows.clone())
        } else {
            self.edge(last_k)?
        }) else {
            return Ok(None);
        };
        // The view's x range: the first and last step of the column's rows within it.
        let x_lo = match &first_rows {
            None => self.stats(0).first.map(|p| p.step),
            Some(rows) => rows.first().map(|r| r.step),
        };
        let x_hi = match &last_rows {
            None => self.stats(last_k).last.map(|p| p.step),
            Some(rows) => rows.last().map(|r| r.step),
        };
        let (Some(x_lo), Some(x_hi)) = (x_lo, x_hi) else {
            return Ok(None);
        };
        let mut partial: Vec<Option<Vec<Row>>> = vec![None; self.span.len()];
        partial[0] = first_rows;
        if last_k > 0 {
            partial[last_k] = last_rows;
        }
        let grid = Grid {
            x_lo: x_lo as f64,
            width: x_hi as f64 - x_lo as f64,
            buckets,
        };
        let bucket_of = |v: i64| grid.of(v);
        let by_segments: Vec<bool> = (0..self.span.len())
            .map(|k| segments && self.by_segments(k, &grid))
            .collect();
        // The blocks straddling a bucket edge, decoded together.
        let straddling: Vec<usize> = (0..self.span.len())
            .filter(|&k| {
                let col = self.stats(k);
                let same = match (col.first, col.last) {
                    (Some(first), Some(last)) => bucket_of(first.step) == bucket_of(last.step),
                    _ => true,
                };
                partial[k].is_none() && !(self.span[k].1 && same) && !by_segments[k]
            })
            .collect();
        let Some(decoded) = self.decode_many(&straddling)? else {
            return Ok(None);
        };
        for (k, rows) in straddling.into_iter().zip(decoded) {
            partial[k] = Some(rows);
        }
        let mut m4 = M4::new(buckets, self.kind);
        for (k, part) in partial.iter_mut().enumerate() {
            let (bi, whole) = self.span[k];
            let col = self.stats(k).clone();
            let (Some(first), Some(last)) = (col.first, col.last) else {
                continue;
            };
            if whole && bucket_of(first.step) == bucket_of(last.step) {
                let b = bucket_of(first.step);
                m4.first(b, row_of(bi, &first));
                m4.last(b, row_of(bi, &last));
                if let (Some(mn), Some(mx)) = (col.min, col.max) {
                    m4.value(b, row_of(bi, &mn));
                    m4.value(b, row_of(bi, &mx));
                }
                continue;
            }
            if part.is_none() && by_segments[k] {
                for seg in &col.segs {
                    for p in [seg.first, seg.last, seg.min, seg.max].into_iter().flatten() {
                        m4.row(grid.of(p.step), row_of(bi, &p));
                    }
                }
                continue;
            }
            let rows = match part.take() {
                Some(rows) => rows,
                None => match self.rows_of(bi)? {
                    Some(rows) => rows,
                    None => return Ok(None),
                },
            };
            for r in rows {
                m4.row(bucket_of(r.step), r);
            }
        }
        let mut keep = m4.rows();
        if keep.len() > samples {
            let step = (keep.len() - 1) as f64 / (samples.max(2) - 1) as f64;
            keep = (0..samples).map(|k| keep[(k as f64 * step).round() as usize]).collect();
            keep.dedup_by_key(|r| r.at);
        }
        Ok(Some(keep))
    }
}

/// The kept rows as an answer: their steps, and the column's values typed by `kind`.
fn answer(kept: &[Row], kind: u8, blocks: usize, decoded: usize, from_stats: bool) -> Zoomed {
    let mut out = Zoomed {
        blocks,
        decoded,
        from_stats,
        data: match kind {
            T_INT => ColData::Int(Vec::new()),
            T_BOOL => ColData::Bool(Vec::new()),
            _ => ColData::Float(Vec::new()),
        },
        ..Zoomed::default()
    };
    for (i, r) in kept.iter().enumerate() {
        out.steps.push(r.step);
        let Some(bits) = r.value else {
            out.nulls.push(i as u32);
            continue;
        };
        out.rows.push(i as u32);
        match &mut out.data {
            ColData::Float(v) => v.push(f64::from_bits(bits)),
            ColData::Int(v) => v.push(bits as i64),
            ColData::Bool(v) => v.push(bits != 0),
            _ => {}
        }
    }
    out
}

/// M4's buckets: `buckets` of equal width over the steps `x_lo ..= x_lo + width`.
struct Grid {
    x_lo: f64,
    width: f64,
    buckets: usize,
}

impl Grid {
    /// The bucket of `step`.
    fn of(&self, step: i64) -> usize {
        if self.width <= 0.0 || !self.width.is_finite() {
            return 0;
        }
        ((((step as f64) - self.x_lo) / self.width * self.buckets as f64) as usize).min(self.buckets - 1)
    }
}

/// M4's per-bucket state, fed rows in file order: the same comparisons as `m4_indices` (first:
/// the earliest smallest step; last: the latest largest; min and max: the first of each value).
struct M4 {
    kind: u8,
    first: Vec<Option<Row>>,
    last: Vec<Option<Row>>,
    min: Vec<Option<(Row, f64)>>,
    max: Vec<Option<(Row, f64)>>,
}

impl M4 {
    fn new(buckets: usize, kind: u8) -> Self {
        Self {
            kind,
            first: vec![None; buckets],
            last: vec![None; buckets],
            min: vec![None; buckets],
            max: vec![None; buckets],
        }
    }

    /// A row, as a candidate for each of its bucket's four.
    fn row(&mut self, b: usize, r: Row) {
        self.first(b, r);
        self.last(b, r);
        self.value(b, r);
    }

    fn first(&mut self, b: usize, r: Row) {
        if self.first[b].is_none_or(|f| r.step < f.step) {
            self.first[b] = Some(r);
        }
    }

    fn last(&mut self, b: usize, r: Row) {
        if self.last[b].is_none_or(|l| r.step >= l.step) {
            self.last[b] = Some(r);
        }
    }

    fn value(&mut self, b: usize, r: Row) {
        let Some(bits) = r.value else { return };
        let v = as_f64(self.kind, bits);
        if v.is_nan() {
            return;
        }
        if self.min[b].is_none_or(|(_, m)| v < m) {
            self.min[b] = Some((r, v));
        }
        if self.max[b].is_none_or(|(_, m)| v > m) {
            self.max[b] = Some((r, v));
        }
    }

    /// The rows kept, in file order, each once.
    fn rows(self) -> Vec<Row> {
        let mut keep: Vec<Row> = self
            .first
            .into_iter()
            .chain(self.last)
            .flatten()
            .chain(self.min.into_iter().chain(self.max).flatten().map(|(r, _)| r))
            .collect();
        keep.sort_unstable_by_key(|r| r.at);
        keep.dedup_by_key(|r| r.at);
        keep
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::downsample::m4_buckets;
    use crate::format::block::{read_blocks, Framer};
    use crate::format::BlockEncoder;
    use crate::reader::read_files_projected;
    use crate::value::Value;

    /// A history file of `blocks` blocks (sizes varying, some large enough to be cut into
    /// frames) of metrics "y" (floats, NaN, inf, nulls, gaps; one spike down), "k" (ints), "t"
    /// (text); with statistics and their segments ("TTS2", `stats` 2), statistics without
    /// segments (as earlier writers wrote them, "TTS1", 1) or none (version 2, 0).
    fn write(path: &Path, blocks: usize, stats: u8, steps: impl Fn(usize) -> i64) -> usize {
        let mut f = FileHeader::new(0.0, "stream=history").to_bytes();
        let mut enc = BlockEncoder::default();
        let mut framer = Framer::new().unwrap();
        let (mut raw, mut frame) = (vec![], vec![]);
        let mut row = 0usize;
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for b in 0..blocks {
            let n = if b % 7 == 3 { 20_000 } else { 50 + (b * 37) % 400 };
            for _ in 0..n {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let mut items = vec![];
                if row == 123_457 {
                    items.push((0, Value::Float(-1e9))); // a spike (the max is infinity)
                } else if x % 5 != 0 {
                    items.push((
                        0,
                        match x % 31 {
                            0 => Value::Null,
                            1 => Value::Float(f64::NAN),
                            2 => Value::Float(f64::INFINITY),
                            _ => Value::Float((x % 10_000) as f64 / 100.0),
                        },
                    ));
                }
                items.push((1, Value::Int((x % 1000) as i64)));
                if x % 3 == 0 {
                    items.push((2, Value::Str("t".into())));
                }
                enc.push_row(steps(row), row as f64, &mut items);
                row += 1;
            }
            raw.clear();
            let n = enc.seal(|i| ["y", "k", "t"][i as usize], &mut raw);
            let mut st = enc.sealed_stats().clone();
            if stats == 1 {
                st.seg_rows = 0;
                st.columns.iter_mut().for_each(|c| c.segs.clear());
            }
            if stats > 0 {
                framer.frame_with_stats(&raw, n, &st, &mut frame).unwrap();
            } else {
                framer.frame(&raw, n, &mut frame).unwrap();
            }
            f.extend_from_slice(&frame);
        }
        std::fs::write(path, f).unwrap();
        row
    }

    /// A whole read of `key`: its rows (nulls too) with lo <= step <= hi, as (step, value).
    fn whole(path: &Path, key: &str, lo: f64, hi: f64) -> Vec<(i64, Option<f64>)> {
        let t = read_files_projected(&[path.to_owned()], Some(&[key.to_owned()])).unwrap();
        let c = &t.columns[0];
        let mut rows: Vec<(u32, Option<f64>)> = c
            .rows
            .iter()
            .enumerate()
            .map(|(i, &r)| {
                (
                    r,
                    Some(match &c.data {
                        ColData::Float(v) => v[i],
                        ColData::Int(v) => v[i] as f64,
                        _ => unreachable!(),
                    }),
                )
            })
            .collect();
        rows.extend(c.nulls.iter().map(|&r| (r, None)));
        rows.sort_by_key(|r| r.0);
        rows.into_iter()
            .map(|(r, v)| (t.steps[r as usize], v))
            .filter(|(s, _)| (*s as f64) >= lo && (*s as f64) <= hi)
            .collect()
    }

    fn answer_of(z: &Zoomed) -> Vec<(i64, Option<f64>)> {
        let mut vals = z.rows.iter().enumerate();
        let mut out = vec![];
        for (i, &s) in z.steps.iter().enumerate() {
            if z.nulls.contains(&(i as u32)) {
                out.push((s, None));
            } else {
                let (k, _) = vals.next().unwrap();
                out.push((
                    s,
                    Some(match &z.data {
                        ColData::Float(v) => v[k],
                        ColData::Int(v) => v[k] as f64,
                        _ => unreachable!(),
                    }),
                ));
            }
        }
        out
    }

    fn same(a: &[(i64, Option<f64>)], b: &[(i64, Option<f64>)]) -> bool {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| x.0 == y.0 && x.1.map(f64::to_bits) == y.1.map(f64::to_bits))
    }

    /// A wide view equals M4 over a whole read (the same buckets: each bucket's first, last, min
    /// and max rows), decodes only the blocks straddling bucket edges, and keeps the spike; a
    /// narrow one equals a whole read's answer exactly (`m4_indices`, or every row).
    #[test]
    fn zoom_outs_equal_m4_over_a_whole_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.ttrk");
        let rows = write(&path, 400, 2, |r| r as i64 * 3);
        assert!(rows > 1_000_000, "{rows}");
        for (key, samples, lo, hi) in [
            ("y", 1000, None, None),
            ("y", 40, None, None),
            ("k", 400, None, None),
            ("y", 200, Some(30_000.0), Some(2_500_000.0)),
            ("y", 1000, Some(300_000.0), Some(400_000.0)),
            ("k", 100, Some(1000.0), Some(1300.0)),
            ("y", 3, None, None),
        ] {
            let exact = |samples| zoom_with(&path, key, samples, lo, hi, usize::MAX);
            assert!(samples != 1000 || lo.is_some() || !exact(samples).unwrap().unwrap().from_stats);
            let got_z = exact(samples).unwrap().expect("a version-3 file");
            assert!(!got_z.segments);
            let all = whole(&path, key, lo.unwrap_or(f64::NEG_INFINITY), hi.unwrap_or(f64::INFINITY));
            let x: Vec<f64> = all.iter().map(|r| r.0 as f64).collect();
            let y: Vec<f64> = all.iter().map(|r| r.1.unwrap_or(f64::NAN)).collect();
            let wide = got_z.from_stats;
            let expect: Vec<_> = if all.len() <= samples {
                all.clone()
            } else if wide {
                let mut keep: Vec<_> = m4_buckets(&x, &[&y], (samples / 4).max(1))
                    .into_iter()
                    .map(|i| all[i])
                    .collect();
                if keep.len() > samples {
                    let step = (keep.len() - 1) as f64 / (samples.max(2) - 1) as f64;
                    keep = (0..samples).map(|k| keep[(k as f64 * step).round() as usize]).collect();
                }
                keep
            } else {
                crate::downsample::m4_indices(&x, &[&y], samples)
                    .into_iter()
                    .map(|i| all[i])
                    .collect()
            };
            let got = answer_of(&got_z);
            assert!(got.len() <= samples, "{key} {samples}");
            assert!(
                same(&got, &expect),
                "{key} {samples} {lo:?}-{hi:?}: {} vs {} rows",
                got.len(),
                expect.len()
            );
            if key == "y" && lo.is_none() && samples == 40 {
                assert!(wide, "{} of {} blocks decoded", got_z.decoded, got_z.blocks);
                assert!(got_z.decoded <= samples / 4 + 2, "{} decoded", got_z.decoded);
                assert!(got.iter().any(|r| r.1 == Some(-1e9)), "the spike is kept");
                assert!(got.iter().any(|r| r.1 == Some(f64::INFINITY)), "infinity is the max");
            }
        }
    }

    /// A wide view over many segments a bucket: each block whose rows all lie in one bucket
    /// gives its four rows, each other block whose segments each lie within two adjacent
    /// buckets gives its segments' four rows (first, last, min, max, to the buckets their steps
    /// fall in), any other block all its rows: what a full decode of every block computes so,
    /// with nothing decompressed; the spike and the infinite max are kept.
    #[test]
    fn wide_views_answer_from_segments() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.ttrk");
        write(&path, 400, 2, |r| r as i64 * 3);
        // Every block decoded, the key's rows as (block, row in it, step, value bits).
        let bytes = std::fs::read(&path).unwrap();
        let mut blocks: Vec<(usize, Vec<Row>)> = vec![];
        read_blocks(&bytes, |_, payload, _| {
            let b = crate::format::decode_block(payload).unwrap();
            let bi = blocks.len() as u32;
            let mut rows = vec![];
            if let Some(c) = b.columns.iter().find(|c| c.name == "y") {
                let ColData::Float(v) = &c.data else { panic!() };
                rows.extend(c.rows.iter().zip(v).map(|(&r, x)| (r, Some(x.to_bits()))));
                rows.extend(c.nulls.iter().map(|&r| (r, None)));
            }
            rows.sort_by_key(|r| r.0);
            let rows = rows
                .into_iter()
                .map(|(r, value)| Row {
                    at: (bi, r),
                    step: b.steps[r as usize],
                    value,
                })
                .collect();
            blocks.push((b.steps.len(), rows));
            Ok(())
        })
        .unwrap();
        for samples in [40, 200] {
            let z = zoom(&path, "y", samples, None, None).unwrap().unwrap();
            assert!(z.from_stats && z.segments, "{samples}");
            assert_eq!(z.decoded, 0, "{samples}");
            let buckets = samples / 4;
            let all: Vec<&Row> = blocks.iter().flat_map(|b| &b.1).collect();
            let (x_lo, x_hi) = (all[0].step as f64, all[all.len() - 1].step as f64);
            let bucket_of = |v: i64| ((((v as f64) - x_lo) / (x_hi - x_lo) * buckets as f64) as usize).min(buckets - 1);
            let mut m4 = M4::new(buckets, T_FLOAT);
            let mut feed = |r: Row| {
                let b = bucket_of(r.step);
                m4.first(b, r);
                m4.last(b, r);
                m4.value(b, r);
            };
            for (n_rows, rows) in blocks.iter().filter(|b| !b.1.is_empty()) {
                let extremes = |rows: &[Row]| -> Vec<Row> {
                    let real = |r: &&Row| r.value.is_some_and(|b| !f64::from_bits(b).is_nan());
                    let v = |r: &Row| f64::from_bits(r.value.unwrap());
                    let min = rows.iter().filter(real).fold(None::<Row>, |m, r| match m {
                        Some(m) if v(&m) <= v(r) => Some(m),
                        _ => Some(*r),
                    });
                    let max = rows.iter().filter(real).fold(None::<Row>, |m, r| match m {
                        Some(m) if v(&m) >= v(r) => Some(m),
                        _ => Some(*r),
                    });
                    [Some(rows[0]), Some(rows[rows.len() - 1]), min, max]
                        .into_iter()
                        .flatten()
                        .collect()
                };
                let seg_rows = crate::format::stats::seg_rows_for(*n_rows) as usize;
                let mut segs: Vec<Vec<Row>> = vec![];
                for r in rows {
                    let k = r.at.1 as usize / seg_rows;
                    if segs.last().is_none_or(|s| s[0].at.1 as usize / seg_rows != k) {
                        segs.push(vec![]);
                    }
                    segs.last_mut().unwrap().push(*r);
                }
                let spans = |rows: &[Row]| bucket_of(rows[rows.len() - 1].step) - bucket_of(rows[0].step);
                if spans(rows) == 0 {
                    extremes(rows).into_iter().for_each(&mut feed);
                } else if segs.iter().all(|s| spans(s) <= 1) {
                    segs.iter().flat_map(|s| extremes(s)).for_each(&mut feed);
                } else {
                    rows.iter().copied().for_each(&mut feed);
                }
            }
            let mut expect = m4.rows();
            if expect.len() > samples {
                let step = (expect.len() - 1) as f64 / (samples.max(2) - 1) as f64;
                expect = (0..samples)
                    .map(|k| expect[(k as f64 * step).round() as usize])
                    .collect();
                expect.dedup_by_key(|r| r.at);
            }
            let expect: Vec<(i64, Option<u64>)> = expect.iter().map(|r| (r.step, r.value)).collect();
            let got: Vec<(i64, Option<u64>)> = answer_of(&z).iter().map(|r| (r.0, r.1.map(f64::to_bits))).collect();
            assert_eq!(got, expect, "{samples}");
            assert!(got.len() <= samples);
            let values: Vec<f64> = got.iter().filter_map(|r| r.1.map(f64::from_bits)).collect();
            assert!(values.contains(&-1e9), "the spike is kept");
            assert!(values.contains(&f64::INFINITY), "infinity is the max");
        }
        // Fewer segments a bucket than SNAP_SEGMENTS: the exact answer, as before.
        let z = zoom(&path, "y", 1000, None, None).unwrap().unwrap();
        assert!(!z.segments);
        let exact = zoom_with(&path, "y", 1000, None, None, usize::MAX).unwrap().unwrap();
        assert_eq!(answer_of(&z).len(), answer_of(&exact).len());
    }

    /// A file whose statistics have no segments ("TTS1", what writers before them wrote) answers a
    /// wide view from its blocks' statistics as before: M4's exact answer, straddling blocks
    /// decompressed, never from segments.
    #[test]
    fn statistics_without_segments_still_answer_wide_views() {
        let dir = tempfile::tempdir().unwrap();
        let (old, new) = (dir.path().join("tts1.ttrk"), dir.path().join("tts2.ttrk"));
        write(&old, 400, 1, |r| r as i64 * 3);
        write(&new, 400, 2, |r| r as i64 * 3);
        let z = zoom(&old, "y", 40, None, None)
            .unwrap()
            .expect("TTS1 statistics are read");
        assert!(z.from_stats && !z.segments && z.decoded > 0);
        let exact = zoom_with(&new, "y", 40, None, None, usize::MAX).unwrap().unwrap();
        assert_eq!(answer_of(&z).len(), answer_of(&exact).len());
        assert!(same(&answer_of(&z), &answer_of(&exact)));
        assert!(zoom(&new, "y", 40, None, None).unwrap().unwrap().segments);
        assert_eq!(names(std::slice::from_ref(&old)).unwrap(), names(&[new]).unwrap());
    }

    /// A file walked in parts at once finds the blocks one chain finds: whole, with a torn tail
    /// (the last part ends at it), and with a damaged block (the parts do not join: `None`, and
    /// the one chain reports the damage).
    #[test]
    fn a_walk_in_parts_equals_one_chain() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.ttrk");
        write(&path, 400, 2, |r| r as i64 * 3);
        let bytes = std::fs::read(&path).unwrap();
        let head = FileHeader::parse(&bytes).unwrap().unwrap().1 as u64;
        let places = |blocks: &[BlockAt]| blocks.iter().map(|b| (b.frames_at, b.n_rows)).collect::<Vec<_>>();
        let one = |f: &File, end: u64| match chain(f, &path, "y", head, end, end).unwrap() {
            Chain::Blocks(b, _) => Some(places(&b)),
            Chain::Bad => None,
        };
        let f = File::open(&path).unwrap();
        let end = bytes.len() as u64;
        let whole = places(
            &walk_parallel(&f, &path, "y", head, end)
                .unwrap()
                .expect("the parts join"),
        );
        assert_eq!(Some(whole.clone()), one(&f, end));
        assert_eq!(whole.len(), 400);
        // a torn tail: the last block cut short
        std::fs::write(&path, &bytes[..bytes.len() - 100]).unwrap();
        let f = File::open(&path).unwrap();
        let parts = walk_parallel(&f, &path, "y", head, end - 100)
            .unwrap()
            .expect("the parts join");
        assert_eq!(parts.len(), 399);
        assert_eq!(Some(places(&parts)), one(&f, end - 100));
        // a damaged block in the middle: no walk in parts, and one chain says so
        let mut bad = bytes.clone();
        let middle = whole[200].0 as usize;
        bad[middle - 1] ^= 0xff; // the last byte of its statistics frame: their checksum fails
        std::fs::write(&path, &bad).unwrap();
        let f = File::open(&path).unwrap();
        assert!(walk_parallel(&f, &path, "y", head, end).unwrap().is_none());
        assert_eq!(one(&f, end), None);
    }

    /// Files written before statistics existed, damaged ones, and runs whose steps go back are
    /// not answered from statistics (the caller reads them whole); neither is a text column.
    #[test]
    fn what_statistics_cannot_answer_is_left_to_a_whole_read() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("v2.ttrk");
        write(&old, 20, 0, |r| r as i64);
        assert!(zoom(&old, "y", 100, None, None).unwrap().is_none());
        let back = dir.path().join("back.ttrk");
        write(&back, 20, 2, |r| (r as i64 * 7) % 1000);
        assert!(zoom(&back, "y", 100, None, None).unwrap().is_none());
        let good = dir.path().join("good.ttrk");
        write(&good, 20, 2, |r| r as i64);
        assert!(zoom(&good, "t", 100, None, None).unwrap().is_none());
        assert!(zoom(&good, "absent", 100, None, None).unwrap().is_none());
        assert!(zoom(&good, "y", 100, None, None).unwrap().is_some());
        let bytes = std::fs::read(&good).unwrap();
        // a flipped byte in the first block's statistics, and a torn tail
        let mut bad = bytes.clone();
        let head = FileHeader::parse(&bytes).unwrap().unwrap().1;
        bad[head + BLOCK_HEADER + 30] ^= 1;
        std::fs::write(&good, &bad).unwrap();
        assert!(zoom(&good, "y", 100, None, None).unwrap().is_none());
        std::fs::write(&good, &bytes[..bytes.len() - 10]).unwrap();
        let torn = zoom(&good, "y", 100_000, None, None).unwrap().unwrap();
        assert_eq!(torn.blocks, 19);
        // every cut of the file: an answer or None, never a panic
        for cut in (0..bytes.len()).step_by(97) {
            std::fs::write(&good, &bytes[..cut]).unwrap();
            let _ = zoom(&good, "y", 10, None, None);
        }
        // bytes changed anywhere (headers, statistics, the frames a zoom-out decompresses without
        // the block's checksum): an answer, None or an error, never a panic
        let small = dir.path().join("small.ttrk");
        write(&small, 6, 2, |r| r as i64);
        let bytes = std::fs::read(&small).unwrap();
        let mut tried = 0;
        for i in (0..bytes.len()).step_by(bytes.len() / 1500 + 1) {
            for x in [0x01u8, 0x80, 0xff] {
                let mut bad = bytes.clone();
                bad[i] ^= x;
                std::fs::write(&small, &bad).unwrap();
                let outcome = std::panic::catch_unwind(|| {
                    for samples in [1, 8, 100_000] {
                        let _ = zoom(&small, "y", samples, None, None);
                    }
                    let _ = zoom(&small, "k", 4, Some(10.0), Some(2000.0));
                    let _ = names(std::slice::from_ref(&small));
                });
                assert!(outcome.is_ok(), "byte {i} ^ {x:#x} panicked");
                tried += 1;
            }
        }
        assert!(tried > 1000);
    }
}

#[cfg(test)]
mod names_tests {
    use super::*;
    use crate::format::block::Framer;
    use crate::format::BlockEncoder;
    use crate::reader::read_files_projected;
    use crate::value::Value;

    /// The names from statistics are those a whole read lists, in its order (shared ranks, a
    /// forked process's `_pid`, metrics first seen in a later block or file); a file without
    /// statistics gives `None`.
    #[test]
    fn names_from_statistics_equal_a_whole_read() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, meta: &str, blocks: &[&[&str]], stats: bool| {
            let path = dir.path().join(name);
            let mut f = FileHeader::new(0.0, meta).to_bytes();
            let mut enc = BlockEncoder::default();
            let mut framer = Framer::new().unwrap();
            for (i, names) in blocks.iter().enumerate() {
                let mut items: Vec<(u32, Value)> = (0..names.len() as u32).map(|k| (k, Value::Int(1))).collect();
                enc.push_row(i as i64, 0.0, &mut items);
                let (mut raw, mut frame) = (vec![], vec![]);
                let n = enc.seal(|k| names[k as usize], &mut raw);
                if stats {
                    framer
                        .frame_with_stats(&raw, n, enc.sealed_stats(), &mut frame)
                        .unwrap();
                } else {
                    framer.frame(&raw, n, &mut frame).unwrap();
                }
                f.extend_from_slice(&frame);
            }
            std::fs::write(&path, f).unwrap();
            path
        };
        let a = write("a", "shared=1;rank=0", &[&["b", "a"], &["c", "a"]], true);
        let b = write("b", "shared=1;rank=1;pid=7", &[&["d", "b"]], true);
        let empty = dir.path().join("empty");
        std::fs::write(&empty, b"").unwrap();
        for paths in [
            vec![a.clone()],
            vec![a.clone(), b.clone(), empty.clone()],
            vec![b.clone()],
        ] {
            let t = read_files_projected(&paths, Some(&[])).unwrap();
            let mut expect: Vec<String> = ["_step", "_timestamp", "_runtime"].map(String::from).to_vec();
            if t.ranks.is_some() {
                expect.push("_rank".into());
            }
            expect.extend(t.columns.iter().map(|c| c.name.clone()));
            expect.extend(t.skipped.iter().cloned());
            assert_eq!(names(&paths).unwrap().unwrap(), expect);
        }
        let old = write("old", "", &[&["x"]], false);
        assert_eq!(names(&[a, old]).unwrap(), None);
    }
}
