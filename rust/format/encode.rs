//! Rows → one block payload (before compression), column by column.

use super::codec::{put_deltas, put_floats, put_text};
use super::column::ColData;
use super::stats::{column_stats, seg_rows_for, step_range, BlockStats};
use crate::value::Value;

const NONE: u32 = u32::MAX;

struct EncColumn {
    id: u32,
    /// Every row that holds the metric, nulls included.
    rows: Vec<u32>,
    /// The rows among them that hold a null (their values are not in `data`).
    nulls: Vec<u32>,
    data: ColData,
}

/// Presence byte flags: a bitmap of the rows holding the metric follows (else every row does).
pub(super) const SOME_ROWS: u8 = 1;
/// A bitmap of the rows holding a null follows.
pub(super) const NULL_ROWS: u8 = 2;

/// `rows` as a bitmap of `n` bits, LSB first.
fn put_bitmap(out: &mut Vec<u8>, n: usize, rows: &[u32]) {
    let at = out.len();
    out.resize(at + n.div_ceil(8), 0);
    for r in rows {
        out[at + *r as usize / 8] |= 1 << (r % 8);
    }
}

/// Collects committed rows column-wise until the writer seals them into a block.
#[derive(Default)]
pub struct BlockEncoder {
    steps: Vec<i64>,
    timestamps: Vec<f64>,
    cols: Vec<EncColumn>,
    /// Columns of sealed blocks, emptied, whose buffers the next block reuses (no reallocation,
    /// no fresh pages: the block's memory is touched once).
    spare: Vec<EncColumn>,
    /// Column of each metric id (`NONE`: not in this block).
    col_of: Vec<u32>,
    bytes: usize,
    /// The statistics of the block sealed last (format version 3: framed beside it).
    stats: BlockStats,
}

impl BlockEncoder {
    /// Rows held.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Approximate encoded size of the rows held, in bytes.
    pub fn approx_bytes(&self) -> usize {
        self.bytes
    }

    /// Add one committed row; its values are moved out of `items`.
    pub fn push_row(&mut self, step: i64, timestamp: f64, items: &mut Vec<(u32, Value)>) {
        let row = self.steps.len() as u32;
        self.steps.push(step);
        self.timestamps.push(timestamp);
        self.bytes += 16;
        for (id, value) in items.drain(..) {
            self.bytes += ColData::value_size(&value) + 1;
            let i = id as usize;
            if i >= self.col_of.len() {
                self.col_of.resize(i + 1, NONE);
            }
            let col = match self.col_of[i] {
                c if c != NONE => &mut self.cols[c as usize],
                _ => {
                    self.col_of[i] = self.cols.len() as u32;
                    let col = match self.spare.pop() {
                        Some(mut c) => {
                            c.id = id;
                            c.data.reset_for(&value);
                            c
                        }
                        None => EncColumn {
                            id,
                            rows: Vec::new(),
                            nulls: Vec::new(),
                            data: ColData::new_for(&value),
                        },
                    };
                    self.cols.push(col);
                    self.cols.last_mut().expect("just pushed")
                }
            };
            col.rows.push(row);
            if matches!(value, Value::Null) {
                col.nulls.push(row);
            } else {
                col.data.push(value);
            }
        }
    }

    /// The statistics of the block [`BlockEncoder::seal`] encoded last (offsets relative to the
    /// start of its payload), for [`super::block::Framer::frame_with_stats`].
    pub fn sealed_stats(&self) -> &BlockStats {
        &self.stats
    }

    /// Encode the rows held into `out` and forget them. `name` gives each metric id's name.
    pub fn seal<'n>(&mut self, name: impl Fn(u32) -> &'n str, out: &mut Vec<u8>) -> u32 {
        let n = self.steps.len();
        let start = out.len();
        out.extend_from_slice(&(n as u32).to_le_bytes());
        out.extend_from_slice(&(self.cols.len() as u32).to_le_bytes());
        put_deltas(out, &self.steps);
        self.stats.columns.clear();
        self.stats.frames.clear();
        self.stats.ts_offset = (out.len() - start) as u32;
        step_range(&mut self.stats, &self.steps);
        self.stats.seg_rows = seg_rows_for(n);
        put_floats(out, &self.timestamps);
        for mut col in self.cols.drain(..) {
            self.col_of[col.id as usize] = NONE;
            let offset = (out.len() - start) as u32;
            self.stats.columns.push(column_stats(
                name(col.id),
                offset,
                &col.rows,
                &col.nulls,
                &col.data,
                &self.steps,
                self.stats.seg_rows,
            ));
            put_text(out, name(col.id));
            let some = col.rows.len() != n;
            let nulls = !col.nulls.is_empty();
            out.push(if some { SOME_ROWS } else { 0 } | if nulls { NULL_ROWS } else { 0 });
            if some {
                put_bitmap(out, n, &col.rows);
            }
            if nulls {
                put_bitmap(out, n, &col.nulls);
            }
            col.data.encode(out);
            col.rows.clear();
            col.nulls.clear();
            col.data.clear();
            self.spare.push(col);
        }
        self.steps.clear();
        self.timestamps.clear();
        self.bytes = 0;
        n as u32
    }
}
