//! `m4_indices`: the rows that M4 downsampling keeps, for `history(samples=N)` (local and server).

use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;

use crate::downsample;

/// Indices (ascending, int64) of at most `max_rows` rows of `x` that keep, per bucket of the x
/// range, the first and last row and each series' min and max. NaN in `x` or a series: no value.
#[pyfunction]
pub fn m4_indices<'py>(
    py: Python<'py>,
    x: PyReadonlyArray1<'py, f64>,
    ys: Vec<PyReadonlyArray1<'py, f64>>,
    max_rows: usize,
) -> PyResult<Bound<'py, PyArray1<i64>>> {
    let xs = x.as_slice()?;
    let series: Vec<&[f64]> = ys.iter().map(PyReadonlyArray1::as_slice).collect::<Result<_, _>>()?;
    if let Some(bad) = series.iter().find(|s| s.len() != xs.len()) {
        return Err(crate::error::Error::Value(format!(
            "every series must be as long as x ({}), got one of {}",
            xs.len(),
            bad.len()
        ))
        .into());
    }
    let keep = py.detach(|| downsample::m4_indices(xs, &series, max_rows));
    Ok(keep.into_iter().map(|i| i as i64).collect::<Vec<_>>().into_pyarray(py))
}
