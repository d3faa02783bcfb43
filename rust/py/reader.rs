//! Reading runs back into Python: columns as NumPy arrays, rows as dicts, file checks, and
//! tensor statistics for the summary.

use std::path::PathBuf;

use numpy::{IntoPyArray, PyReadonlyArrayDyn};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use pyo3::IntoPyObjectExt;

use crate::format::{ColData, ReadReport};
use crate::reader::{read_files, verify, Column, Table};
use crate::tensor_stats::{tensor_stats as stats_of, PERCENTILES};
use crate::value::Value;

fn value_to_py<'py>(py: Python<'py>, v: &Value, loads: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    match v {
        Value::Float(f) => f.into_bound_py_any(py),
        Value::Int(i) => i.into_bound_py_any(py),
        Value::Bool(b) => b.into_bound_py_any(py),
        Value::Str(s) => s.into_bound_py_any(py),
        Value::Json(s) => loads.call1((s.as_str(),)),
    }
}

fn read(py: Python<'_>, paths: Vec<PathBuf>) -> PyResult<Table> {
    Ok(py.detach(|| read_files(&paths))?)
}

fn torn_list<'py>(py: Python<'py>, reports: &[(PathBuf, ReadReport)]) -> PyResult<Bound<'py, PyList>> {
    let torn = PyList::empty(py);
    for (path, r) in reports {
        if let Some(why) = &r.torn {
            torn.append(format!("{}: {why}", path.display()))?;
        }
    }
    Ok(torn)
}

/// One column as an array the length of the table: numbers as float64 with NaN where the row
/// does not hold the metric (int64 / bool when every row holds it), anything else as a list.
fn column_to_py<'py>(
    py: Python<'py>,
    col: &Column,
    n: usize,
    loads: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let full = col.rows.len() == n;
    match &col.data {
        ColData::Int(v) if full => return Ok(v.clone().into_pyarray(py).into_any()),
        ColData::Bool(v) if full => return Ok(v.clone().into_pyarray(py).into_any()),
        ColData::Float(v) if full => return Ok(v.clone().into_pyarray(py).into_any()),
        _ => {}
    }
    let numeric = match &col.data {
        ColData::Float(_) | ColData::Int(_) | ColData::Bool(_) => true,
        ColData::Mixed(v) => v.iter().all(|x| x.as_number().is_some()),
        ColData::Str(_) | ColData::Json(_) => false,
    };
    if numeric {
        let mut out = vec![f64::NAN; n];
        for (k, &r) in col.rows.iter().enumerate() {
            out[r as usize] = match col.data.get(k) {
                Value::Bool(b) => f64::from(u8::from(b)),
                v => v.as_number().unwrap_or(f64::NAN),
            };
        }
        return Ok(out.into_pyarray(py).into_any());
    }
    let list: Vec<Bound<'py, PyAny>> = {
        let mut out = vec![py.None().into_bound(py); n];
        for (k, &r) in col.rows.iter().enumerate() {
            out[r as usize] = value_to_py(py, &col.data.get(k), loads)?;
        }
        out
    };
    Ok(PyList::new(py, list)?.into_any())
}

/// Read history files (the shards of one run) into columns.
///
/// Returns `{"n_rows": int, "columns": {name: array or list}, "present": {name: bool array},
/// "torn": [str]}`; `columns` holds `_step`, `_timestamp`, `_runtime` (and `_rank` for shared runs).
#[pyfunction]
pub fn read_history(py: Python<'_>, paths: Vec<PathBuf>) -> PyResult<Bound<'_, PyDict>> {
    let t = read(py, paths)?;
    let loads = py.import("json")?.getattr("loads")?;
    let n = t.len();
    let columns = PyDict::new(py);
    columns.set_item("_step", t.steps.clone().into_pyarray(py))?;
    columns.set_item("_timestamp", t.timestamps.clone().into_pyarray(py))?;
    columns.set_item("_runtime", t.runtimes.clone().into_pyarray(py))?;
    if let Some(r) = &t.ranks {
        columns.set_item("_rank", r.clone().into_pyarray(py))?;
    }
    let present = PyDict::new(py);
    for col in &t.columns {
        columns.set_item(&col.name, column_to_py(py, col, n, &loads)?)?;
        let mut mask = vec![false; n];
        for &r in &col.rows {
            mask[r as usize] = true;
        }
        present.set_item(&col.name, mask.into_pyarray(py))?;
    }
    let out = PyDict::new(py);
    out.set_item("n_rows", n)?;
    out.set_item("columns", columns)?;
    out.set_item("present", present)?;
    out.set_item("torn", torn_list(py, &t.reports)?)?;
    Ok(out)
}

/// Every row as a dict, in order. With `keys`, only rows that hold all of them, with just those
/// keys and `_step`, `_timestamp`, `_runtime`.
#[pyfunction]
#[pyo3(signature = (paths, keys=None))]
pub fn read_rows(py: Python<'_>, paths: Vec<PathBuf>, keys: Option<Vec<String>>) -> PyResult<Bound<'_, PyList>> {
    let t = read(py, paths)?;
    let loads = py.import("json")?.getattr("loads")?;
    let n = t.len();
    let cols: Vec<&Column> = match &keys {
        Some(k) => t.columns.iter().filter(|c| k.contains(&c.name)).collect(),
        None => t.columns.iter().collect(),
    };
    let mut keep = vec![true; n];
    if let Some(k) = &keys {
        let wanted = k.iter().filter(|k| !k.starts_with('_')).count();
        let mut count = vec![0usize; n];
        for c in &cols {
            for &r in &c.rows {
                count[r as usize] += 1;
            }
        }
        let have = cols.len();
        for (i, c) in count.iter().enumerate() {
            keep[i] = have == wanted && *c == have;
        }
    }
    let mut dicts: Vec<Option<Bound<'_, PyDict>>> = Vec::with_capacity(n);
    for i in 0..n {
        if !keep[i] {
            dicts.push(None);
            continue;
        }
        let d = PyDict::new(py);
        d.set_item("_step", t.steps[i])?;
        d.set_item("_timestamp", t.timestamps[i])?;
        d.set_item("_runtime", t.runtimes[i])?;
        if let Some(r) = &t.ranks {
            d.set_item("_rank", r[i])?;
        }
        dicts.push(Some(d));
    }
    for c in cols {
        for (k, &r) in c.rows.iter().enumerate() {
            if let Some(d) = &dicts[r as usize] {
                d.set_item(&c.name, value_to_py(py, &c.data.get(k), &loads)?)?;
            }
        }
    }
    PyList::new(py, dicts.into_iter().flatten())
}

/// The summary of a shared run's shards, folded natively over every rank's rows (JSON text).
/// `defs`: `(name, summary words, objective)` of each `define_metric`.
#[pyfunction]
pub fn summarize_history(
    paths: Vec<PathBuf>,
    defs: Vec<(String, Option<String>, Option<String>)>,
    py: Python<'_>,
) -> PyResult<String> {
    let defs = defs
        .iter()
        .map(|(name, words, objective)| crate::summary::MetricDef::new(name, words.as_deref(), objective.as_deref()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(py.detach(|| crate::reader::summarize(&paths, defs))?)
}

/// Check one history file block by block: `{"blocks", "rows", "valid_bytes", "file_bytes", "torn"}`.
#[pyfunction]
pub fn verify_file(py: Python<'_>, path: PathBuf) -> PyResult<Bound<'_, PyDict>> {
    let r = py.detach(|| verify(&path))?;
    let d = PyDict::new(py);
    d.set_item("blocks", r.blocks)?;
    d.set_item("rows", r.rows)?;
    d.set_item("valid_bytes", r.valid_bytes)?;
    d.set_item("file_bytes", r.file_bytes)?;
    d.set_item("torn", r.torn)?;
    Ok(d)
}

/// Statistics of a float64 array for the summary (NaN ignored; `nan_count` when there were any).
#[pyfunction]
pub fn tensor_stats<'py>(py: Python<'py>, values: PyReadonlyArrayDyn<'py, f64>) -> PyResult<Bound<'py, PyDict>> {
    let s = match values.as_slice() {
        Ok(slice) => py.detach(|| stats_of(slice)),
        Err(_) => {
            let owned: Vec<f64> = values.as_array().iter().copied().collect();
            py.detach(|| stats_of(&owned))
        }
    };
    let d = PyDict::new(py);
    d.set_item("min", s.min)?;
    d.set_item("max", s.max)?;
    d.set_item("mean", s.mean)?;
    d.set_item("var", s.var)?;
    d.set_item("std", s.std)?;
    let p = PyDict::new(py);
    for (k, v) in PERCENTILES.iter().zip(s.percentiles) {
        p.set_item(k.to_string(), v)?;
    }
    d.set_item("percentiles", p)?;
    if s.nan_count > 0 {
        d.set_item("nan_count", s.nan_count)?;
    }
    Ok(d)
}
