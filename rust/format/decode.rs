//! One block payload (decompressed) → its rows, column by column.

use super::codec::{Reader, Truncated};
use super::column::ColData;
use super::encode::{NULL_ROWS, SOME_ROWS};

#[derive(Debug)]
pub struct DecodedColumn {
    pub name: String,
    /// Row index (within the block) of each value.
    pub rows: Vec<u32>,
    /// Rows (within the block) that hold a null for the metric, in order; not in `rows`.
    pub nulls: Vec<u32>,
    pub data: ColData,
}

#[derive(Debug, Default)]
pub struct DecodedBlock {
    pub steps: Vec<i64>,
    pub timestamps: Vec<f64>,
    pub columns: Vec<DecodedColumn>,
    /// Names of the columns a projection left out (their bytes stepped over, not decoded).
    pub skipped: Vec<String>,
}

pub fn decode_block(payload: &[u8]) -> Result<DecodedBlock, Truncated> {
    decode_block_projected(payload, &|_| true)
}

/// As [`decode_block`], decoding only the columns `keep` accepts; the others' presence and values
/// are stepped over (their length read, nothing built). The block is one zstd frame, so their
/// bytes are still decompressed: a projection saves the decoding, not the decompression.
pub fn decode_block_projected(payload: &[u8], keep: &dyn Fn(&str) -> bool) -> Result<DecodedBlock, Truncated> {
    let mut r = Reader::new(payload);
    let n = r.u32()? as usize;
    let ncols = r.u32()? as usize;
    if n > payload.len() * 8 + 8 {
        return Err(Truncated);
    }
    let steps = r.deltas(n)?;
    let timestamps = r.floats(n)?;
    let mut columns = Vec::with_capacity(ncols.min(payload.len()));
    let mut skipped = Vec::new();
    for _ in 0..ncols {
        match decode_column(&mut r, n, keep)? {
            Ok(c) => columns.push(c),
            Err(name) => skipped.push(name),
        }
    }
    if !r.is_done() {
        return Err(Truncated);
    }
    Ok(DecodedBlock {
        steps,
        timestamps,
        columns,
        skipped,
    })
}

/// The column record at the reader's position in a block of `n` rows: `Ok(column)` when `keep`
/// accepts its name, else `Err(name)` with its bytes stepped over.
pub fn decode_column(
    r: &mut Reader<'_>,
    n: usize,
    keep: &dyn Fn(&str) -> bool,
) -> Result<Result<DecodedColumn, String>, Truncated> {
    let name = r.text()?;
    let (held, null) = presence(r, n)?;
    let is_set = |bits: Option<&[u8]>, i: usize| bits.is_none_or(|b| b[i / 8] & (1 << (i % 8)) != 0);
    if let Some(null) = null {
        // A null is marked only in a row that holds the metric.
        if (0..n).any(|i| is_set(Some(null), i) && !is_set(held, i)) {
            return Err(Truncated);
        }
    }
    let has_value = |i: usize| is_set(held, i) && !null.is_some_and(|b| is_set(Some(b), i));
    if !keep(&name) {
        ColData::skip(r, (0..n).filter(|&i| has_value(i)).count())?;
        return Ok(Err(name));
    }
    let rows: Vec<u32> = (0..n).filter(|&i| has_value(i)).map(|i| i as u32).collect();
    let nulls: Vec<u32> = match null {
        Some(b) => (0..n).filter(|&i| is_set(Some(b), i)).map(|i| i as u32).collect(),
        None => Vec::new(),
    };
    let data = ColData::decode(r, rows.len())?;
    Ok(Ok(DecodedColumn {
        name,
        rows,
        nulls,
        data,
    }))
}

/// The steps of a block from the start of its payload (the first frame of a version-3 block
/// holds them): `n_rows` then the steps, checked against `n_rows`.
pub fn decode_steps(head: &[u8], n_rows: u32) -> Result<Vec<i64>, Truncated> {
    let mut r = Reader::new(head);
    let n = r.u32()?;
    r.u32()?;
    if n != n_rows {
        return Err(Truncated);
    }
    r.deltas(n as usize)
}

/// A row bitmap of a block (`ceil(n_rows / 8)` bytes, LSB first), when there is one.
pub(super) type Bitmap<'a> = Option<&'a [u8]>;

/// A column's presence byte and bitmaps: the rows holding the metric (`None`: every row) and
/// the rows holding a null (`None`: no row).
pub(super) fn presence<'a>(r: &mut Reader<'a>, n: usize) -> Result<(Bitmap<'a>, Bitmap<'a>), Truncated> {
    let flags = r.u8()?;
    if flags & !(SOME_ROWS | NULL_ROWS) != 0 {
        return Err(Truncated);
    }
    let held = if flags & SOME_ROWS != 0 {
        Some(r.bytes(n.div_ceil(8))?)
    } else {
        None
    };
    let null = if flags & NULL_ROWS != 0 {
        Some(r.bytes(n.div_ceil(8))?)
    } else {
        None
    };
    Ok((held, null))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::BlockEncoder;
    use crate::value::Value;

    #[test]
    fn sparse_mixed_block_round_trips() {
        let names = ["a", "b", "c"];
        let mut enc = BlockEncoder::default();
        enc.push_row(0, 1.0, &mut vec![(0, Value::Float(0.5)), (1, Value::Int(3))]);
        enc.push_row(
            1,
            2.0,
            &mut vec![(0, Value::Float(f64::NAN)), (2, Value::Str("x".into()))],
        );
        enc.push_row(4, 3.0, &mut vec![(1, Value::Float(2.5)), (0, Value::Float(1.0))]);
        let mut buf = vec![];
        assert_eq!(enc.seal(|i| names[i as usize], &mut buf), 3);
        assert!(enc.is_empty());
        let p = decode_block_projected(&buf, &|name| name == "c").unwrap();
        assert_eq!(p.steps, vec![0, 1, 4]);
        assert_eq!((p.columns.len(), p.columns[0].name.as_str()), (1, "c"));
        assert_eq!(p.columns[0].rows, vec![1]);
        assert_eq!(p.skipped, vec!["a".to_owned(), "b".to_owned()]);
        let none = decode_block_projected(&buf, &|_| false).unwrap();
        assert!(none.columns.is_empty() && none.skipped.len() == 3);
        let b = decode_block(&buf).unwrap();
        assert_eq!(b.steps, vec![0, 1, 4]);
        assert_eq!(b.timestamps, vec![1.0, 2.0, 3.0]);
        assert_eq!(b.columns.len(), 3);
        let a = &b.columns[0];
        assert_eq!((a.name.as_str(), a.rows.clone()), ("a", vec![0, 1, 2]));
        assert!(matches!(&a.data, ColData::Float(v) if v[0] == 0.5 && v[1].is_nan() && v[2] == 1.0));
        let bcol = &b.columns[1];
        assert_eq!(bcol.rows, vec![0, 2]);
        assert_eq!(bcol.data, ColData::Mixed(vec![Value::Int(3), Value::Float(2.5)]));
        assert_eq!(b.columns[2].data, ColData::Str(vec!["x".into()]));
        // Every strict prefix fails cleanly rather than panicking.
        for cut in 0..buf.len() {
            assert!(decode_block(&buf[..cut]).is_err());
        }
    }

    /// Nulls are marked per row and are no values: a float column with nulls stays a float
    /// column, a column of nulls only has the null type, and a projection steps over both.
    #[test]
    fn nulls_round_trip_beside_typed_values() {
        let names = ["loss", "gone", "text", "list"];
        let mut enc = BlockEncoder::default();
        enc.push_row(
            0,
            1.0,
            &mut vec![(0, Value::Null), (1, Value::Null), (3, Value::Json("[]".into()))],
        );
        enc.push_row(1, 2.0, &mut vec![(0, Value::Float(0.5)), (2, Value::Str("a".into()))]);
        enc.push_row(
            2,
            3.0,
            &mut vec![(0, Value::Float(0.25)), (1, Value::Null), (2, Value::Null)],
        );
        enc.push_row(3, 4.0, &mut vec![(0, Value::Null), (2, Value::Int(3))]);
        let mut buf = vec![];
        assert_eq!(enc.seal(|i| names[i as usize], &mut buf), 4);
        let b = decode_block(&buf).unwrap();
        let col = |name: &str| b.columns.iter().find(|c| c.name == name).unwrap();
        let loss = col("loss");
        assert_eq!((loss.rows.clone(), loss.nulls.clone()), (vec![1, 2], vec![0, 3]));
        assert_eq!(loss.data, ColData::Float(vec![0.5, 0.25]));
        let gone = col("gone");
        assert_eq!((gone.rows.clone(), gone.nulls.clone()), (vec![], vec![0, 2]));
        assert!(gone.data.is_empty());
        let text = col("text");
        assert_eq!((text.rows.clone(), text.nulls.clone()), (vec![1, 3], vec![2]));
        assert_eq!(text.data, ColData::Mixed(vec![Value::Str("a".into()), Value::Int(3)]));
        assert_eq!(col("list").data, ColData::Json(vec!["[]".into()]));
        assert!(col("list").nulls.is_empty());
        let p = decode_block_projected(&buf, &|name| name == "list").unwrap();
        assert_eq!(p.columns.len(), 1);
        assert_eq!(p.skipped.len(), 3);
        for cut in 0..buf.len() {
            assert!(decode_block(&buf[..cut]).is_err());
        }
    }

    /// A column that starts with nulls takes the type of its first value; one whose only values
    /// were nulls in an earlier block of the encoder's reused columns does not keep a stale type.
    #[test]
    fn a_column_takes_the_type_of_its_first_value() {
        let mut enc = BlockEncoder::default();
        enc.push_row(0, 1.0, &mut vec![(0, Value::Null)]);
        enc.push_row(1, 1.0, &mut vec![(0, Value::Str("s".into()))]);
        let mut buf = vec![];
        enc.seal(|_| "x", &mut buf);
        assert_eq!(
            decode_block(&buf).unwrap().columns[0].data,
            ColData::Str(vec!["s".into()])
        );
        enc.push_row(2, 1.0, &mut vec![(0, Value::Null)]);
        enc.push_row(3, 1.0, &mut vec![(0, Value::Int(4))]);
        buf.clear();
        enc.seal(|_| "x", &mut buf);
        assert_eq!(decode_block(&buf).unwrap().columns[0].data, ColData::Int(vec![4]));
    }

    /// A null bit for a row that does not hold the metric, or an unknown presence flag, is damage.
    #[test]
    fn inconsistent_null_marks_are_refused() {
        let mut enc = BlockEncoder::default();
        enc.push_row(0, 1.0, &mut vec![(0, Value::Float(1.0))]);
        enc.push_row(1, 1.0, &mut vec![(1, Value::Null)]);
        let mut buf = vec![];
        enc.seal(|i| ["a", "b"][i as usize], &mut buf);
        assert!(decode_block(&buf).is_ok());
        // Column "b": name (1 + 1 bytes), presence flags, presence bitmap (row 1), null bitmap (row 1).
        let at = buf.windows(2).rposition(|w| w == [1, b'b']).unwrap() + 2;
        assert_eq!(&buf[at..at + 3], &[SOME_ROWS | NULL_ROWS, 0b10, 0b10]);
        let mut bad = buf.clone();
        bad[at + 2] = 0b11; // row 0 marked null, but it does not hold "b"
        assert!(decode_block(&bad).is_err());
        let mut bad = buf.clone();
        bad[at] |= 4;
        assert!(decode_block(&bad).is_err());
    }
}
