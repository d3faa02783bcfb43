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
/// The first bytes inside the skippable frame: the statistics layout version.
const STATS_TAG: &[u8; 4] = b"TTS1";
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
/// `nulls` those holding a null (ascending, a subset of `rows`), `data` the other rows' values.
pub fn column_stats(
    name: &str,
    raw_offset: u32,
    rows: &[u32],
    nulls: &[u32],
    data: &ColData,
    steps: &[i64],
) -> ColStats {
    let kind = kind_of(data);
    let point = |row: u32, value: Option<usize>| Point {
        row,
        step: steps[row as usize],
        null: value.is_none(),
        bits: value.map_or(0, |i| bits_at(data, i)),
    };
    let numeric = matches!(kind, T_FLOAT | T_INT | T_BOOL);
    let (mut nans, mut min, mut max) = (0u32, None::<(usize, f64)>, None::<(usize, f64)>);
    let mut value_row = Vec::new();
    // The row of each value: the held rows that are not nulls, in order.
    let mut k = 0;
    for &r in rows {
        if nulls.get(k) == Some(&r) {
            k += 1;
        } else {
            value_row.push(r);
        }
    }
    if numeric {
        for i in 0..data.len() {
            let v = as_f64(kind, bits_at(data, i));
            if v.is_nan() {
                nans += 1;
                continue;
            }
            if min.is_none_or(|(_, m)| v < m) {
                min = Some((i, v));
            }
            if max.is_none_or(|(_, m)| v > m) {
                max = Some((i, v));
            }
        }
    }
    let value_of_row = |row: u32| value_row.binary_search(&row).ok();
    ColStats {
        name: name.to_owned(),
        raw_offset,
        kind,
        held: rows.len() as u32,
        nulls: nulls.len() as u32,
        nans,
        first: rows.first().map(|&r| point(r, value_of_row(r))),
        last: rows.last().map(|&r| point(r, value_of_row(r))),
        min: min.map(|(i, _)| point(value_row[i], Some(i))),
        max: max.map(|(i, _)| point(value_row[i], Some(i))),
    }
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
        let crc = crc32fast::hash(&body);
        out.extend_from_slice(&STATS_FRAME_MAGIC.to_le_bytes());
        out.extend_from_slice(&((STATS_TAG.len() + body.len() + 4) as u32).to_le_bytes());
        out.extend_from_slice(STATS_TAG);
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
        let len = Self::frame_len(frame).ok_or(Truncated)?;
        if frame.len() != len || len < 8 + STATS_TAG.len() + 4 || &frame[8..12] != STATS_TAG {
            return Err(Truncated);
        }
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
            let name = r.text()?;
            let raw_offset = small(r.varint()?)?;
            let kind = r.u8()?;
            let (held, nulls, nans) = (small(r.varint()?)?, small(r.varint()?)?, small(r.varint()?)?);
            let flags = r.u8()?;
            if raw_offset >= raw_len
                || kind > T_NULL
                || held > n_rows
                || nulls > held
                || nans > held - nulls
                || flags > 3
            {
                return Err(Truncated);
            }
            let mut get = |on: bool| -> Result<Option<Point>, Truncated> {
                if !on {
                    return Ok(None);
                }
                let p = point(&mut r)?;
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
            columns.push(ColStats {
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
            });
        }
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
        let b = decode_block(payload).unwrap();
        let mut out = vec![];
        for c in &b.columns {
            let kind = kind_of(&c.data);
            let mut held: Vec<(u32, Option<usize>)> = c.rows.iter().enumerate().map(|(i, &r)| (r, Some(i))).collect();
            held.extend(c.nulls.iter().map(|&r| (r, None)));
            held.sort_by_key(|h| h.0);
            let pt = |(row, v): (u32, Option<usize>)| Point {
                row,
                step: b.steps[row as usize],
                null: v.is_none(),
                bits: v.map_or(0, |i| bits_at(&c.data, i)),
            };
            let numeric = matches!(kind, T_FLOAT | T_INT | T_BOOL);
            let vals: Vec<(usize, f64)> = (0..c.data.len())
                .filter(|_| numeric)
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

    /// Each column's statistics equal what a full decode of the block computes (counts, first
    /// and last rows, min and max rows with NaN, infinities and nulls), the statistics frame
    /// survives its own round trip, and the framed block (statistics, then several frames)
    /// decodes, through every reader, to exactly the payload that was sealed.
    #[test]
    fn statistics_match_a_full_decode() {
        for (rows, seed) in [(1, 3), (37, 5), (20_000, 7)] {
            let (mut enc, names) = block(rows, seed);
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
