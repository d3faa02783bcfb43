//! One block payload decoded straight into slices of a table's columns, each slice of the size
//! the block's statistics give (see `direct_read.rs`): nothing is allocated for a numeric column.
//! Every count is checked against its slice: a payload that does not fit is refused (`Truncated`).

use super::codec::{Reader, Truncated};
use super::column::{ColData, T_BOOL, T_FLOAT, T_INT, T_NULL};
use super::decode::{presence, DecodedColumn};

/// Where a numeric column's values go: a slice of its type, or none (a block holding only nulls
/// of it, `T_NULL`).
pub enum Values<'a> {
    Float(&'a mut [f64]),
    Int(&'a mut [i64]),
    Bool(&'a mut [bool]),
    None,
}

/// What to do with one column record of a block.
pub enum Target<'a> {
    /// A projection leaves it out: its bytes are stepped over.
    Skip,
    /// Decoded into these slices: the values, the rows holding them (`None`: the column holds a
    /// value in every row of the table, its rows are left out) and the rows holding a null, row
    /// numbers counted from the table's first row.
    Into {
        values: Values<'a>,
        rows: Option<&'a mut [u32]>,
        nulls: &'a mut [u32],
    },
    /// Decoded into a column of its own (strings, or a column whose type changes between blocks:
    /// the caller appends it as one block at a time does).
    Owned,
}

/// One block's slices of a table.
pub struct BlockTarget<'a> {
    /// The table row of the block's first row.
    pub first_row: u32,
    /// `_runtime` is `_timestamp` minus this.
    pub start_time: f64,
    pub steps: &'a mut [i64],
    pub timestamps: &'a mut [f64],
    pub runtimes: &'a mut [f64],
    /// The block's column records in payload order: the name each must have, and its target.
    pub columns: Vec<(&'a str, Target<'a>)>,
}

/// Decode `payload` into `t`. `Ok`: the [`Target::Owned`] columns (index in `t.columns`, rows
/// within the block, as [`super::decode_block`] gives them); `Err` when the payload does not hold
/// exactly the rows, columns, names, types and counts `t` was cut for.
pub fn decode_block_into(payload: &[u8], t: &mut BlockTarget<'_>) -> Result<Vec<(usize, DecodedColumn)>, Truncated> {
    let mut r = Reader::new(payload);
    let n = r.u32()? as usize;
    let ncols = r.u32()? as usize;
    if n != t.steps.len() || n != t.timestamps.len() || n != t.runtimes.len() || ncols != t.columns.len() {
        return Err(Truncated);
    }
    r.deltas_into(t.steps)?;
    r.floats_into(t.timestamps)?;
    for (rt, ts) in t.runtimes.iter_mut().zip(t.timestamps.iter()) {
        *rt = ts - t.start_time;
    }
    let mut owned = Vec::new();
    for (k, (name, target)) in t.columns.iter_mut().enumerate() {
        if let Some(c) = column_into(&mut r, n, name, target, t.first_row)? {
            owned.push((k, c));
        }
    }
    if !r.is_done() {
        return Err(Truncated);
    }
    Ok(owned)
}

/// The column record at the reader's position, into `target`; `Some` for an owned one.
fn column_into(
    r: &mut Reader<'_>,
    n: usize,
    name: &str,
    target: &mut Target<'_>,
    first_row: u32,
) -> Result<Option<DecodedColumn>, Truncated> {
    let len = usize::try_from(r.varint()?).map_err(|_| Truncated)?;
    if r.bytes(len)? != name.as_bytes() {
        return Err(Truncated);
    }
    let (held, null) = presence(r, n)?;
    let is_set = |bits: &[u8], i: usize| bits[i / 8] & (1 << (i % 8)) != 0;
    if let Some(null) = null {
        // A null is marked only in a row that holds the metric.
        if (0..n).any(|i| is_set(null, i) && held.is_some_and(|h| !is_set(h, i))) {
            return Err(Truncated);
        }
    }
    let has_value = |i: usize| held.is_none_or(|h| is_set(h, i)) && null.is_none_or(|b| !is_set(b, i));
    let count = if held.is_none() && null.is_none() {
        n
    } else {
        (0..n).filter(|&i| has_value(i)).count()
    };
    match target {
        Target::Skip => {
            ColData::skip(r, count)?;
            Ok(None)
        }
        Target::Owned => {
            let rows: Vec<u32> = (0..n).filter(|&i| has_value(i)).map(|i| i as u32).collect();
            let nulls: Vec<u32> = match null {
                Some(b) => (0..n).filter(|&i| is_set(b, i)).map(|i| i as u32).collect(),
                None => Vec::new(),
            };
            let data = ColData::decode(r, count)?;
            Ok(Some(DecodedColumn {
                name: name.to_owned(),
                rows,
                nulls,
                data,
            }))
        }
        Target::Into { values, rows, nulls } => {
            if let Some(rows) = rows {
                if rows.len() != count {
                    return Err(Truncated);
                }
                let mut at = rows.iter_mut();
                for i in (0..n).filter(|&i| has_value(i)) {
                    *at.next().ok_or(Truncated)? = first_row + i as u32;
                }
            }
            let null_rows = null.map_or(0, |b| (0..n).filter(|&i| is_set(b, i)).count());
            if null_rows != nulls.len() {
                return Err(Truncated);
            }
            if let Some(b) = null {
                let mut at = nulls.iter_mut();
                for i in (0..n).filter(|&i| is_set(b, i)) {
                    *at.next().ok_or(Truncated)? = first_row + i as u32;
                }
            }
            match (r.u8()?, values) {
                (T_FLOAT, Values::Float(v)) if v.len() == count => r.floats_into(v)?,
                (T_INT, Values::Int(v)) if v.len() == count => r.deltas_into(v)?,
                (T_BOOL, Values::Bool(v)) if v.len() == count => {
                    for (o, &b) in v.iter_mut().zip(r.bytes(count)?) {
                        *o = b != 0;
                    }
                }
                (T_NULL, Values::None) if count == 0 => {}
                _ => return Err(Truncated),
            }
            Ok(None)
        }
    }
}
