//! Per-block column statistics (format version 3): what a wide view of a run needs from a block
//! without decompressing it, and where each column's bytes lie so a reader can decompress only the
//! columns it wants.
//!
//! A version-3 block's compressed payload is a zstd *skippable frame* holding these statistics,
//! then one or more ordinary zstd frames whose concatenated output is the block payload exactly as
//! before (`decode.rs` reads it unchanged: zstd skips the skippable frame and joins the others).
//! The frames are cut at the timestamps and at column starts, so the steps, and each large
//! column, decompress alone. See docs/file-format.md.

use super::codec::{put_text, put_varint, unzigzag, zigzag, Reader, Truncated};
use super::column::ColData;

/// The zstd skippable-frame magic number a block's statistics travel in (`0x184D2A5B`, one of the
/// sixteen reserved for skippable frames).
pub const STATS_FRAME_MAGIC: u32 = 0x184D_2A5B;
/// The first bytes inside the skippable frame: the statistics layout version ("TTS1": per
/// column only; "TTS2": the same, then per segment of rows, see [`Seg`]).
const STATS_TAG: &[u8; 4] = b"TTS1";
const STATS_TAG_SEGS: &[u8; 4] = b"TTS2";
/// Rows per segment at least: a block is cut into segments of this many rows (doubled until a
/// block has at most [`SEGS_MAX`]), each with its own first, last, min and max per column.
pub const SEG_ROWS_MIN: u32 = 1024;
pub const SEGS_MAX: u32 = 64;

/// The rows per segment a block of `n_rows` rows is cut into.
pub fn seg_rows_for(n_rows: usize) -> u32 {
    let mut s = SEG_ROWS_MIN;
    while (n_rows as u64).div_ceil(u64::from(s)) > u64::from(SEGS_MAX) {
        s *= 2;
    }
    s
}
/// Frames smaller than this are joined with the next column (a frame costs a few bytes and loses
/// the context of its neighbours).
pub const MIN_FRAME_RAW: usize = 64 << 10;
/// A payload smaller than this stays one frame: decompressing it whole is as cheap as a part.
pub const MIN_SPLIT_RAW: usize = 128 << 10;

/// One row of a block as the statistics name it: its row in the block, its step, and its value
/// (the bits of an f64, an i64, or 0/1 by the column's type; `null` when it holds a null).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub row: u32,
    pub step: i64,
    pub null: bool,
    pub bits: u64,
}

/// A column's statistics in one block.
#[derive(Debug, Clone, PartialEq)]
pub struct ColStats {
    pub name: String,
    /// Where the column's record (its name first) starts in the block payload.
    pub raw_offset: u32,
    /// The column's type byte (`column.rs`: 0 float … 6 null).
    pub kind: u8,
    /// Rows holding the metric (nulls included), and those holding a null.
    pub held: u32,
    pub nulls: u32,
    /// Float values that are NaN (no min or max is taken over them).
    pub nans: u32,
    /// The first and last rows holding the metric (`None` when none does).
    pub first: Option<Point>,
    pub last: Option<Point>,
    /// The first row of the smallest and of the largest value, compared as f64 (float, int and
    /// bool columns; NaN and nulls excluded; `None` when there is no such value).
    pub min: Option<Point>,
    pub max: Option<Point>,
    /// The same per segment of [`BlockStats::seg_rows`] rows (rows `k * seg_rows ..`), every
    /// segment of the block in order (empty: statistics without segments, "TTS1").
    pub segs: Vec<Seg>,
}

/// A column's first, last, min and max rows within one segment of a block (all `None`: the
/// segment holds no row of it). What a wide view over many segments needs to keep each
/// bucket's extremes without decompressing the block.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Seg {
    pub first: Option<Point>,
    pub last: Option<Point>,
    pub min: Option<Point>,
    pub max: Option<Point>,
}

/// A block's statistics: its frames, its steps' range, and each column's statistics.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BlockStats {
    /// `(raw_len, compressed_len)` of each zstd frame after the statistics, in order.
    pub frames: Vec<(u32, u32)>,
    /// Where the timestamps start in the payload (the steps end there).
    pub ts_offset: u32,
    pub first_step: i64,
    pub last_step: i64,
    pub min_step: i64,
    pub max_step: i64,
    /// Every step is at least the one before it.
    pub monotone: bool,
    /// Rows per segment of the columns' [`ColStats::segs`] (0: none, "TTS1").
    pub seg_rows: u32,
    pub columns: Vec<ColStats>,
}

pub const T_FLOAT: u8 = 0;
pub const T_INT: u8 = 1;
pub const T_BOOL: u8 = 2;
pub const T_MIXED: u8 = 5;
pub const T_NULL: u8 = 6;

/// The type byte `ColData::encode` writes for `data`.
pub fn kind_of(data: &ColData) -> u8 {
    if data.is_empty() {
        return T_NULL;
    }
    match data {
        ColData::Float(_) => T_FLOAT,
        ColData::Int(_) => T_INT,
        ColData::Bool(_) => T_BOOL,
        ColData::Str(_) => 3,
        ColData::Json(_) => 4,
        ColData::Mixed(_) => T_MIXED,
    }
}

/// A value of a numeric column as an f64, the way a chart (and M4) compares it.
pub fn as_f64(kind: u8, bits: u64) -> f64 {
    match kind {
        T_FLOAT => f64::from_bits(bits),
        T_INT => bits as i64 as f64,
        _ => bits as f64,
    }
}

fn bits_at(data: &ColData, i: usize) -> u64 {
    match data {
        ColData::Float(v) => v[i].to_bits(),
        ColData::Int(v) => v[i] as u64,
        ColData::Bool(v) => u64::from(v[i]),
        _ => 0,
    }
}

/// The statistics of one column: `rows` are the rows holding it (nulls included, ascending),
/// `nulls` those holding a null (ascending, a subset of `rows`), `data` the other rows' values;
/// per segment of `seg_rows` rows too (0: none) of a block of `steps.len()` rows. One pass over
/// the rows, segment by segment; the column's own figures are its segments' joined.
pub fn column_stats(
    name: &str,
    raw_offset: u32,
    rows: &[u32],
    nulls: &[u32],
    data: &ColData,
    steps: &[i64],
    seg_rows: u32,
) -> ColStats {
    let kind = kind_of(data);
    let numeric = matches!(kind, T_FLOAT | T_INT | T_BOOL);
    let n_segs = if seg_rows == 0 {
        0
    } else {
        steps.len().div_ceil(seg_rows as usize)
    };
    // One segment covering every row when none are asked for: the column's figures alone.
    let span = if seg_rows == 0 { u32::MAX } else { seg_rows };
    let mut segs = vec![Seg::default(); n_segs];
    let mut whole = Seg::default();
    let (mut min_v, mut max_v) = (f64::NAN, f64::NAN);
    let mut nans = 0u32;
    let (mut pos, mut k, mut vi) = (0usize, 0usize, 0usize);
    while pos < rows.len() {
        let seg = rows[pos] / span;
        let end = pos + rows[pos..].partition_point(|&r| r / span == seg);
        let mut s = Seg::default();
        let (mut s_min, mut s_max) = (f64::NAN, f64::NAN);
        let fast = match data {
            // The usual column: floats, no nulls; its values line up with its rows.
            ColData::Float(v) if nulls.is_empty() => Some(v),
            _ => None,
        };
        if let Some(v) = fast {
            (s, s_min, s_max, nans) = float_seg(&rows[pos..end], &v[pos..end], steps, nans);
        }
        for &r in rows[pos..end].iter().filter(|_| fast.is_none()) {
            let null = nulls.get(k) == Some(&r);
            let p = if null {
                k += 1;
                Point {
                    row: r,
                    step: steps[r as usize],
                    null: true,
                    bits: 0,
                }
            } else {
                vi += 1;
                Point {
                    row: r,
                    step: steps[r as usize],
                    null: false,
                    bits: bits_at(data, vi - 1),
                }
            };
            if s.first.is_none() {
                s.first = Some(p);
            }
            s.last = Some(p);
            if numeric && !null {
                let v = as_f64(kind, p.bits);
                if v.is_nan() {
                    nans += 1;
                    continue;
                }
                // NaN compares false: the first value sets both.
                if s.min.is_none() || v < s_min {
                    (s.min, s_min) = (Some(p), v);
                }
                if s.max.is_none() || v > s_max {
                    (s.max, s_max) = (Some(p), v);
                }
            }
        }
        if whole.first.is_none() {
            whole.first = s.first;
        }
        whole.last = s.last;
        if s.min.is_some() && (whole.min.is_none() || s_min < min_v) {
            (whole.min, min_v) = (s.min, s_min);
        }
        if s.max.is_some() && (whole.max.is_none() || s_max > max_v) {
            (whole.max, max_v) = (s.max, s_max);
        }
        if let Some(slot) = segs.get_mut(seg as usize) {
            *slot = s;
        }
        pos = end;
    }
    ColStats {
        name: name.to_owned(),
        raw_offset,
        kind,
        held: rows.len() as u32,
        nulls: nulls.len() as u32,
        nans,
        first: whole.first,
        last: whole.last,
        min: whole.min,
        max: whole.max,
        segs,
    }
}

/// A segment of a float column without nulls (`rows` and their `values`): its four points, its
/// min and max values (NaN: none), and `nans` plus its NaNs. The same answer as the general
/// loop of [`column_stats`], in a loop over the values alone.
fn float_seg(rows: &[u32], values: &[f64], steps: &[i64], nans: u32) -> (Seg, f64, f64, u32) {
    let point = |i: usize| Point {
        row: rows[i],
        step: steps[rows[i] as usize],
        null: false,
        bits: values[i].to_bits(),
    };
    let mut seg = Seg {
        first: Some(point(0)),
        last: Some(point(values.len() - 1)),
        ..Seg::default()
    };
    let Some(at) = values.iter().position(|x| !x.is_nan()) else {
        return (seg, f64::NAN, f64::NAN, nans + values.len() as u32);
    };
    let (mut lo, mut hi) = (at, at);
    let mut n_nan = at;
    for (i, &x) in values.iter().enumerate().skip(at + 1) {
        // NaN compares false both ways: never an extreme, counted apart.
        n_nan += usize::from(x.is_nan());
        if x < values[lo] {
            lo = i;
        }
        if x > values[hi] {
            hi = i;
        }
    }
    seg.min = Some(point(lo));
    seg.max = Some(point(hi));
    (seg, values[lo], values[hi], nans + n_nan as u32)
}

/// Fill in the step range of `steps` (an empty block keeps zeros).
pub fn step_range(stats: &mut BlockStats, steps: &[i64]) {
    if let (Some(&first), Some(&last)) = (steps.first(), steps.last()) {
        stats.first_step = first;
        stats.last_step = last;
        stats.min_step = steps.iter().copied().min().unwrap_or(first);
        stats.max_step = steps.iter().copied().max().unwrap_or(last);
    }
    stats.monotone = steps.windows(2).all(|w| w[0] <= w[1]);
}

fn put_point(out: &mut Vec<u8>, p: &Point) {
    put_varint(out, u64::from(p.row));
    put_varint(out, zigzag(p.step));
    out.push(u8::from(p.null));
    out.extend_from_slice(&p.bits.to_le_bytes());
}

fn point(r: &mut Reader<'_>) -> Result<Point, Truncated> {
    let row = u32::try_from(r.varint()?).map_err(|_| Truncated)?;
    let step = unzigzag(r.varint()?);
    let null = match r.u8()? {
        0 => false,
        1 => true,
        _ => return Err(Truncated),
    };
    let bits = u64::from_le_bytes(r.bytes(8)?.try_into().map_err(|_| Truncated)?);
    Ok(Point { row, step, null, bits })
}

/// Segment flags: first/last follow; min/max follow; the first is a null; the last is a null.
const SEG_HELD: u8 = 1;
const SEG_MINMAX: u8 = 2;
const SEG_FIRST_NULL: u8 = 4;
const SEG_LAST_NULL: u8 = 8;

/// A segment's point: its row after the segment's `start`, its step as the distance from where
/// steps one apart from the block's first would put it (0 for the usual dense steps), its value
/// unless it is a null.
fn put_seg_point(out: &mut Vec<u8>, p: &Point, start: u32, first_step: i64) {
    put_varint(out, u64::from(p.row - start));
    put_varint(
        out,
        zigzag(p.step.wrapping_sub(first_step).wrapping_sub(i64::from(p.row))),
    );
    if !p.null {
        out.extend_from_slice(&p.bits.to_le_bytes());
    }
}

fn put_seg(out: &mut Vec<u8>, s: &Seg, start: u32, first_step: i64) {
    let null = |p: &Option<Point>| p.is_some_and(|p| p.null);
    let flags = (u8::from(s.first.is_some()) * SEG_HELD)
        | (u8::from(s.min.is_some()) * SEG_MINMAX)
        | (u8::from(null(&s.first)) * SEG_FIRST_NULL)
        | (u8::from(null(&s.last)) * SEG_LAST_NULL);
    out.push(flags);
    for p in [&s.first, &s.last, &s.min, &s.max].into_iter().flatten() {
        put_seg_point(out, p, start, first_step);
    }
}

fn seg_point(r: &mut Reader<'_>, start: u32, end: u32, first_step: i64, null: bool) -> Result<Point, Truncated> {
    let row = u32::try_from(r.varint()?)
        .ok()
        .and_then(|d| start.checked_add(d))
        .filter(|&row| row < end)
        .ok_or(Truncated)?;
    let step = first_step
        .wrapping_add(i64::from(row))
        .wrapping_add(unzigzag(r.varint()?));
    let bits = if null {
        0
    } else {
        u64::from_le_bytes(r.bytes(8)?.try_into().map_err(|_| Truncated)?)
    };
    Ok(Point { row, step, null, bits })
}

/// One segment of rows `start..end`, as [`put_seg`] wrote it.
fn seg(r: &mut Reader<'_>, start: u32, end: u32, first_step: i64) -> Result<Seg, Truncated> {
    let flags = r.u8()?;
    if flags > 15 || (flags & SEG_HELD == 0 && flags != 0) {
        return Err(Truncated);
    }
    let mut s = Seg::default();
    if flags & SEG_HELD != 0 {
        s.first = Some(seg_point(r, start, end, first_step, flags & SEG_FIRST_NULL != 0)?);
        s.last = Some(seg_point(r, start, end, first_step, flags & SEG_LAST_NULL != 0)?);
    }
    if flags & SEG_MINMAX != 0 {
        s.min = Some(seg_point(r, start, end, first_step, false)?);
        s.max = Some(seg_point(r, start, end, first_step, false)?);
    }
    Ok(s)
}

/// One column's statistics ("TTS1"'s part), checked against its block's `n_rows` and `raw_len`.
fn parse_column(r: &mut Reader<'_>, n_rows: u32, raw_len: u32) -> Result<ColStats, Truncated> {
    let small = |v: u64| u32::try_from(v).map_err(|_| Truncated);
    let name = r.text()?;
    let raw_offset = small(r.varint()?)?;
    let kind = r.u8()?;
    let (held, nulls, nans) = (small(r.varint()?)?, small(r.varint()?)?, small(r.varint()?)?);
    let flags = r.u8()?;
    if raw_offset >= raw_len || kind > T_NULL || held > n_rows || nulls > held || nans > held - nulls || flags > 3 {
        return Err(Truncated);
    }
    let mut get = |on: bool| -> Result<Option<Point>, Truncated> {
        if !on {
            return Ok(None);
        }
        let p = point(r)?;
        if p.row >= n_rows {
            return Err(Truncated);
        }
        Ok(Some(p))
    };
    let (first, last) = (get(flags & 1 != 0)?, get(flags & 1 != 0)?);
    let (min, max) = (get(flags & 2 != 0)?, get(flags & 2 != 0)?);
    if first.is_some() != (held > 0) {
        return Err(Truncated);
    }
    Ok(ColStats {
        name,
        raw_offset,
        kind,
        held,
        nulls,
        nans,
        first,
        last,
        min,
        max,
        segs: Vec::new(),
    })
}

/// The segments part of "TTS2" statistics into `columns` (those of `segs_of` only, when named):
/// the rows per segment.
fn parse_segs(
    r: &mut Reader<'_>,
    columns: &mut [ColStats],
    n_rows: u32,
    first_step: i64,
    segs_of: Option<&str>,
    body_len: usize,
) -> Result<u32, Truncated> {
    let seg_rows = u32::try_from(r.varint()?).map_err(|_| Truncated)?;
    if seg_rows == 0 {
        return Err(Truncated);
    }
    let n_segs = n_rows.div_ceil(seg_rows) as usize;
    // Every segment takes a byte at least: a count the body cannot hold is damage.
    if n_segs > body_len {
        return Err(Truncated);
    }
    for c in columns {
        let len = r.varint()? as usize;
        let mut part = Reader::new(r.bytes(len)?);
        if segs_of.is_some_and(|name| name != c.name) {
            continue;
        }
        if n_segs > len {
            return Err(Truncated);
        }
        c.segs.reserve_exact(n_segs);
        for i in 0..n_segs as u32 {
            let start = i * seg_rows;
            let seg = seg(&mut part, start, start.saturating_add(seg_rows).min(n_rows), first_step)?;
            if seg.first.is_some() && c.held == 0 {
                return Err(Truncated);
            }
            c.segs.push(seg);
        }
        if !part.is_done() {
            return Err(Truncated);
        }
    }
    Ok(seg_rows)
}

impl BlockStats {
    /// The skippable frame holding these statistics (its header included), appended to `out`.
    /// `frames`: `(raw_len, compressed_len)` of the frames that follow (`self.frames` is what
    /// parsing found; the writer knows them only once it has compressed).
    pub fn write_frame(&self, frames: &[(u32, u32)], out: &mut Vec<u8>) {
        let mut body = Vec::with_capacity(64 + 64 * self.columns.len());
        put_varint(&mut body, frames.len() as u64);
        for &(raw, comp) in frames {
            put_varint(&mut body, u64::from(raw));
            put_varint(&mut body, u64::from(comp));
        }
        put_varint(&mut body, u64::from(self.ts_offset));
        for s in [self.first_step, self.last_step, self.min_step, self.max_step] {
            put_varint(&mut body, zigzag(s));
        }
        body.push(u8::from(self.monotone));
        put_varint(&mut body, self.columns.len() as u64);
        for c in &self.columns {
            put_text(&mut body, &c.name);
            put_varint(&mut body, u64::from(c.raw_offset));
            body.push(c.kind);
            for n in [c.held, c.nulls, c.nans] {
                put_varint(&mut body, u64::from(n));
            }
            let flags = u8::from(c.first.is_some()) | u8::from(c.min.is_some()) << 1;
            body.push(flags);
            for p in [&c.first, &c.last, &c.min, &c.max].into_iter().flatten() {
                put_point(&mut body, p);
            }
        }
        if self.seg_rows > 0 {
            put_varint(&mut body, u64::from(self.seg_rows));
            let mut segs = Vec::new();
            for c in &self.columns {
                segs.clear();
                for (i, seg) in c.segs.iter().enumerate() {
                    put_seg(&mut segs, seg, i as u32 * self.seg_rows, self.first_step);
                }
                put_varint(&mut body, segs.len() as u64);
                body.extend_from_slice(&segs);
            }
        }
        let tag = if self.seg_rows > 0 { STATS_TAG_SEGS } else { STATS_TAG };
        let crc = crc32fast::hash(&body);
        out.extend_from_slice(&STATS_FRAME_MAGIC.to_le_bytes());
        out.extend_from_slice(&((tag.len() + body.len() + 4) as u32).to_le_bytes());
        out.extend_from_slice(tag);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc.to_le_bytes());
    }

    /// The length of the statistics frame at the start of a compressed payload, from its first
    /// 8 bytes (`None`: the payload does not start with one, a version-1 or -2 block).
    pub fn frame_len(head: &[u8]) -> Option<usize> {
        let magic = u32::from_le_bytes(head.get(..4)?.try_into().ok()?);
        let len = u32::from_le_bytes(head.get(4..8)?.try_into().ok()?);
        (magic == STATS_FRAME_MAGIC).then_some(8 + len as usize)
    }

    /// Parse a statistics frame (`frame`: all of it, header included) of a block of `n_rows`
    /// rows, `raw_len` payload bytes and `comp_len` compressed bytes. Every count, row, offset and
    /// frame length is checked against the block: `Err` for one that does not fit (damage).
    pub fn parse(frame: &[u8], n_rows: u32, raw_len: u32, comp_len: u32) -> Result<Self, Truncated> {
        Self::parse_for(frame, n_rows, raw_len, comp_len, None)
    }

    /// [`BlockStats::parse`], reading the segments of the column `segs_of` only (`None`: of
    /// every column; the others' are skipped, their bytes guarded by the checksum alone).
    pub fn parse_for(
        frame: &[u8],
        n_rows: u32,
        raw_len: u32,
        comp_len: u32,
        segs_of: Option<&str>,
    ) -> Result<Self, Truncated> {
        let len = Self::frame_len(frame).ok_or(Truncated)?;
        if frame.len() != len || len < 8 + STATS_TAG.len() + 4 {
            return Err(Truncated);
        }
        let with_segs = match &frame[8..12] {
            t if t == STATS_TAG => false,
            t if t == STATS_TAG_SEGS => true,
            _ => return Err(Truncated),
        };
        let body = &frame[12..len - 4];
        let crc = u32::from_le_bytes(frame[len - 4..].try_into().map_err(|_| Truncated)?);
        if crc != crc32fast::hash(body) {
            return Err(Truncated);
        }
        let mut r = Reader::new(body);
        let small = |v: u64| u32::try_from(v).map_err(|_| Truncated);
        let n_frames = r.varint()? as usize;
        if n_frames == 0 || n_frames > body.len() {
            return Err(Truncated);
        }
        let mut frames = Vec::with_capacity(n_frames);
        let (mut raw_sum, mut comp_sum) = (0u64, len as u64);
        for _ in 0..n_frames {
            let (raw, comp) = (small(r.varint()?)?, small(r.varint()?)?);
            raw_sum += u64::from(raw);
            comp_sum += u64::from(comp);
            frames.push((raw, comp));
        }
        if raw_sum != u64::from(raw_len) || comp_sum != u64::from(comp_len) {
            return Err(Truncated);
        }
        let ts_offset = small(r.varint()?)?;
        if ts_offset > frames[0].0 {
            return Err(Truncated);
        }
        let mut s = [0i64; 4];
        for v in &mut s {
            *v = unzigzag(r.varint()?);
        }
        let monotone = match r.u8()? {
            0 => false,
            1 => true,
            _ => return Err(Truncated),
        };
        let n_cols = r.varint()? as usize;
        if n_cols > body.len() {
            return Err(Truncated);
        }
        let mut columns = Vec::with_capacity(n_cols);
        for _ in 0..n_cols {
            columns.push(parse_column(&mut r, n_rows, raw_len)?);
        }
        let seg_rows = if with_segs {
            parse_segs(&mut r, &mut columns, n_rows, s[0], segs_of, body.len())?
        } else {
            0
        };
        if !r.is_done() {
            return Err(Truncated);
        }
        Ok(Self {
            frames,
            ts_offset,
            first_step: s[0],
            last_step: s[1],
            min_step: s[2],
            max_step: s[3],
            monotone,
            seg_rows,
            columns,
        })
    }

    /// The frame holding payload byte `offset`, with the payload offset it starts at and the
    /// compressed offset (from the end of the statistics frame) it starts at.
    pub fn frame_of(&self, offset: u32) -> Option<(usize, u32, u64)> {
        let (mut raw_at, mut comp_at) = (0u32, 0u64);
        for (i, &(raw, comp)) in self.frames.iter().enumerate() {
            if offset < raw_at + raw {
                return Some((i, raw_at, comp_at));
            }
            raw_at += raw;
            comp_at += u64::from(comp);
        }
        None
    }
}

/// Where a payload is cut into frames: at the timestamps, then at column starts once a frame
/// holds [`MIN_FRAME_RAW`] bytes (`col_offsets` ascending); none for a small payload.
pub fn frame_cuts(raw_len: usize, ts_offset: usize, col_offsets: &[u32]) -> Vec<usize> {
    if raw_len < MIN_SPLIT_RAW {
        return Vec::new();
    }
    let mut cuts = vec![ts_offset];
    let mut at = ts_offset;
    for &c in col_offsets {
        let c = c as usize;
        if c - at >= MIN_FRAME_RAW && c < raw_len {
            cuts.push(c);
            at = c;
        }
    }
    cuts.retain(|&c| c > 0 && c < raw_len);
    cuts.dedup();
    cuts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::block::{read_blocks, Framer, BLOCK_HEADER};
    use crate::format::{decode_block, BlockEncoder, FileHeader};
    use crate::value::Value;

    /// name, kind, held, nulls, NaNs, first, last, min, max
    type Flat = (
        String,
        u8,
        u32,
        u32,
        u32,
        Option<Point>,
        Option<Point>,
        Option<Point>,
        Option<Point>,
    );

    /// The statistics as a full decode of the block computes them, one value at a time.
    fn from_decode(payload: &[u8]) -> Vec<Flat> {
        from_decode_in(payload, 0..u32::MAX)
    }

    /// The same over the rows `within` of the block only (a segment's).
    fn from_decode_in(payload: &[u8], within: std::ops::Range<u32>) -> Vec<Flat> {
        let b = decode_block(payload).unwrap();
        let mut out = vec![];
        for c in &b.columns {
            let kind = kind_of(&c.data);
            let mut held: Vec<(u32, Option<usize>)> = c.rows.iter().enumerate().map(|(i, &r)| (r, Some(i))).collect();
            held.extend(c.nulls.iter().map(|&r| (r, None)));
            held.retain(|h| within.contains(&h.0));
            held.sort_by_key(|h| h.0);
            let pt = |(row, v): (u32, Option<usize>)| Point {
                row,
                step: b.steps[row as usize],
                null: v.is_none(),
                bits: v.map_or(0, |i| bits_at(&c.data, i)),
            };
            let numeric = matches!(kind, T_FLOAT | T_INT | T_BOOL);
            let vals: Vec<(usize, f64)> = (0..c.data.len())
                .filter(|&i| numeric && within.contains(&c.rows[i]))
                .map(|i| (i, as_f64(kind, bits_at(&c.data, i))))
                .collect();
            let nans = vals.iter().filter(|v| v.1.is_nan()).count() as u32;
            let real: Vec<&(usize, f64)> = vals.iter().filter(|v| !v.1.is_nan()).collect();
            // first occurrence of the extremes
            let min = real.iter().fold(None::<(usize, f64)>, |m, &&(i, v)| match m {
                Some((_, mv)) if mv <= v => m,
                _ => Some((i, v)),
            });
            let max = real.iter().fold(None::<(usize, f64)>, |m, &&(i, v)| match m {
                Some((_, mv)) if mv >= v => m,
                _ => Some((i, v)),
            });
            let at = |i: usize| pt((c.rows[i], Some(i)));
            out.push((
                c.name.clone(),
                kind,
                held.len() as u32,
                c.nulls.len() as u32,
                nans,
                held.first().copied().map(pt),
                held.last().copied().map(pt),
                min.map(|m| at(m.0)),
                max.map(|m| at(m.0)),
            ));
        }
        out
    }

    fn block(rows: usize, seed: u64) -> (BlockEncoder, Vec<&'static str>) {
        let names = vec!["f", "sparse", "i", "b", "s", "mixed", "nulls", "inf"];
        let mut enc = BlockEncoder::default();
        let mut x = seed;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for r in 0..rows {
            let mut row = vec![];
            let v = next();
            row.push((
                0,
                match v % 11 {
                    0 => Value::Float(f64::NAN),
                    1 => Value::Null,
                    2 => Value::Float(-0.0),
                    _ => Value::Float((v % 1000) as f64 / 7.0 - 50.0),
                },
            ));
            if v % 3 == 0 {
                row.push((1, Value::Float((v % 97) as f64)));
            }
            row.push((
                2,
                if v % 13 == 0 {
                    Value::Null
                } else {
                    Value::Int((v % 100_000) as i64 - 50_000)
                },
            ));
            row.push((3, Value::Bool(v % 2 == 0)));
            if r % 5 == 0 {
                row.push((4, Value::Str(format!("s{r}"))));
            }
            row.push((
                5,
                if r % 2 == 0 {
                    Value::Int(r as i64)
                } else {
                    Value::Float(0.5)
                },
            ));
            row.push((6, Value::Null));
            row.push((
                7,
                Value::Float(match v % 4 {
                    0 => f64::INFINITY,
                    1 => f64::NEG_INFINITY,
                    2 => f64::NAN,
                    _ => 1.0,
                }),
            ));
            enc.push_row(r as i64 * 2, 1.0 + r as f64, &mut row);
        }
        (enc, names)
    }

    /// Seal the encoder's rows into a block and frame it with its statistics: the payload, its
    /// rows, the statistics, the framed block, and the statistics parsed back from it.
    fn sealed(enc: &mut BlockEncoder, names: &[&str]) -> (Vec<u8>, u32, BlockStats, Vec<u8>, BlockStats) {
        let mut raw = vec![];
        let n = enc.seal(|i| names[i as usize], &mut raw);
        let stats = enc.sealed_stats().clone();
        let mut framed = vec![];
        Framer::new()
            .unwrap()
            .frame_with_stats(&raw, n, &stats, &mut framed)
            .unwrap();
        let comp = &framed[BLOCK_HEADER..];
        let len = BlockStats::frame_len(comp).unwrap();
        let parsed = BlockStats::parse(&comp[..len], n, raw.len() as u32, comp.len() as u32).unwrap();
        (raw, n, stats, framed, parsed)
    }

    /// Each column's statistics equal what a full decode of the block computes (counts, first
    /// and last rows, min and max rows with NaN, infinities and nulls), the statistics frame
    /// survives its own round trip, and the framed block (statistics, then several frames)
    /// decodes, through every reader, to exactly the payload that was sealed.
    #[test]
    fn statistics_match_a_full_decode() {
        for (rows, seed) in [(1, 3), (37, 5), (20_000, 7)] {
            let (mut enc, names) = block(rows, seed);
            let (raw, _, stats, framed, parsed) = sealed(&mut enc, &names);
            assert_eq!(parsed.columns, stats.columns);
            assert_eq!(
                (parsed.first_step, parsed.last_step, parsed.monotone),
                (0, 2 * (rows as i64 - 1), true)
            );
            if rows == 20_000 {
                assert!(parsed.frames.len() > 3, "{:?}", parsed.frames);
            }
            let expect = from_decode(&raw);
            let got: Vec<_> = stats
                .columns
                .iter()
                .map(|c| {
                    (
                        c.name.clone(),
                        c.kind,
                        c.held,
                        c.nulls,
                        c.nans,
                        c.first,
                        c.last,
                        c.min,
                        c.max,
                    )
                })
                .collect();
            assert_eq!(got, expect);
            // -0.0 and 0.0 compare equal, the first kept; infinities are values
            let inf = stats.columns.iter().find(|c| c.name == "inf").unwrap();
            if rows > 10 {
                assert_eq!(f64::from_bits(inf.max.unwrap().bits), f64::INFINITY);
                assert_eq!(f64::from_bits(inf.min.unwrap().bits), f64::NEG_INFINITY);
            }
            let nulls = stats.columns.iter().find(|c| c.name == "nulls").unwrap();
            assert_eq!(
                (nulls.kind, nulls.held, nulls.nulls, nulls.min),
                (T_NULL, rows as u32, rows as u32, None)
            );
            assert!(nulls.first.unwrap().null);
            let mut file = FileHeader::new(1.0, "").to_bytes();
            file.extend_from_slice(&framed);
            let mut seen = vec![];
            let (_, report) = read_blocks(&file, |_, p, _| {
                seen.push(p.to_vec());
                Ok(())
            })
            .unwrap();
            assert_eq!((report.blocks, report.torn), (1, None));
            assert_eq!(seen, vec![raw.clone()]);
        }
    }

    /// Each segment's first, last, min and max rows equal a full decode's over the segment's
    /// rows (segments doubling in a long block); statistics without segments ("TTS1", what
    /// earlier writers wrote) still parse, with none.
    #[test]
    fn segments_match_a_full_decode() {
        for (rows, seed, seg_rows) in [(1, 3, 1024), (3000, 5, 1024), (70_000, 7, 2048)] {
            let (mut enc, names) = block(rows, seed);
            let (raw, n, stats, framed, parsed) = sealed(&mut enc, &names);
            assert_eq!(stats.seg_rows, seg_rows);
            let comp = &framed[BLOCK_HEADER..];
            let len = BlockStats::frame_len(comp).unwrap();
            assert_eq!(
                parsed,
                BlockStats {
                    frames: parsed.frames.clone(),
                    ..stats.clone()
                }
            );
            let n_segs = rows.div_ceil(seg_rows as usize);
            for c in &stats.columns {
                assert_eq!(c.segs.len(), n_segs, "{}", c.name);
            }
            for i in 0..n_segs as u32 {
                let expect = from_decode_in(&raw, i * seg_rows..(i + 1) * seg_rows);
                for (c, e) in stats.columns.iter().zip(&expect) {
                    let s = &c.segs[i as usize];
                    assert_eq!(
                        (s.first, s.last, s.min, s.max),
                        (e.5, e.6, e.7, e.8),
                        "{} segment {i}",
                        c.name
                    );
                }
            }
            // without segments: the layout of earlier writers
            let mut old = stats.clone();
            old.seg_rows = 0;
            old.columns.iter_mut().for_each(|c| c.segs.clear());
            let mut frame = vec![];
            old.write_frame(&parsed.frames, &mut frame);
            assert_eq!(&frame[8..12], b"TTS1");
            let back = BlockStats::parse(
                &frame,
                n,
                raw.len() as u32,
                comp.len() as u32 - len as u32 + frame.len() as u32,
            )
            .unwrap();
            assert_eq!(back.columns, old.columns);
            assert_eq!(back.seg_rows, 0);
        }
    }

    /// Statistics that do not fit their block are refused, never trusted: every byte changed in
    /// turn gives an error or statistics that still fit (and never a panic).
    #[test]
    fn damaged_statistics_are_refused() {
        let (mut enc, names) = block(50, 9);
        let mut raw = vec![];
        let n = enc.seal(|i| names[i as usize], &mut raw);
        let mut framed = vec![];
        Framer::new()
            .unwrap()
            .frame_with_stats(&raw, n, enc.sealed_stats(), &mut framed)
            .unwrap();
        let comp = framed[BLOCK_HEADER..].to_vec();
        let len = BlockStats::frame_len(&comp).unwrap();
        for i in 0..len {
            let mut bad = comp[..len].to_vec();
            bad[i] ^= 0x40;
            if let Some(l) = BlockStats::frame_len(&bad).filter(|&l| l == len) {
                assert_eq!(l, len);
                assert!(
                    BlockStats::parse(&bad, n, raw.len() as u32, comp.len() as u32).is_err(),
                    "byte {i}"
                );
            }
        }
        // the wrong block sizes
        assert!(BlockStats::parse(&comp[..len], n, raw.len() as u32 + 1, comp.len() as u32).is_err());
        assert!(BlockStats::parse(&comp[..len], n, raw.len() as u32, comp.len() as u32 - 1).is_err());
        assert!(BlockStats::parse(&comp[..len], 3, raw.len() as u32, comp.len() as u32).is_err());
    }
}
