//! The block scanner for sync and ingest: the framing walk of the history format, without
//! decompressing or copying.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::format::scan_stream;

/// Walk whole CRC-valid blocks of `data` from byte `pos` (`at_start`: the file header comes
/// first there): `(end of the last whole block, rows, why it stopped early or None when the bytes
/// end exactly there)`, the end counted from the start of `data`. Nothing is decompressed.
/// `ValueError` when `at_start` and the file header is damaged, or `pos` is past the end.
#[pyfunction]
#[pyo3(signature = (data, pos = 0, at_start = false))]
pub fn scan_blocks(py: Python<'_>, data: &[u8], pos: usize, at_start: bool) -> PyResult<(usize, u64, Option<String>)> {
    let Some(tail) = data.get(pos..) else {
        return Err(PyValueError::new_err(format!(
            "pos {pos} is past the end of the {} bytes given",
            data.len()
        )));
    };
    let (end, rows, why) = py
        .detach(|| scan_stream(tail, at_start))
        .map_err(PyValueError::new_err)?;
    Ok((pos + end, rows, why.map(|w| shift(&w, pos))))
}

/// `why` names byte offsets of the tail: name them from the start of `data` instead.
fn shift(why: &str, pos: usize) -> String {
    match why.strip_prefix("at byte ").and_then(|r| r.split_once(':')) {
        Some((n, rest)) if pos > 0 => match n.parse::<usize>() {
            Ok(n) => format!("at byte {}:{rest}", n + pos),
            Err(_) => why.to_string(),
        },
        _ => why.to_string(),
    }
}
