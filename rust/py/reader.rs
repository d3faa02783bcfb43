//! Reading runs back into Python: columns as NumPy arrays, rows as dicts, file checks, and
//! tensor statistics for the summary.

use std::path::PathBuf;

use numpy::{IntoPyArray, PyReadonlyArrayDyn};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use pyo3::IntoPyObjectExt;

use crate::format::{ColData, ReadReport};
use crate::reader::{check_upload, read_files_threaded, read_threads, verify, Column, Scan};
use crate::tensor_stats::{tensor_stats as stats_of, PERCENTILES};
use crate::value::Value;

fn value_to_py<'py>(py: Python<'py>, v: &Value, loads: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    match v {
        Value::Float(f) => f.into_bound_py_any(py),
        Value::Int(i) => i.into_bound_py_any(py),
        Value::Bool(b) => b.into_bound_py_any(py),
        Value::Str(s) => s.into_bound_py_any(py),
        Value::Json(s) => loads.call1((s.as_str(),)),
        Value::Null => Ok(py.None().into_bound(py)),
    }
}

/// Mid-file damage found in `reports`, one line per damaged range.
fn damage_list<'py>(py: Python<'py>, reports: &[(PathBuf, ReadReport)]) -> PyResult<Bound<'py, PyList>> {
    let out = PyList::empty(py);
    for (path, r) in reports {
        for d in &r.damaged {
            out.append(format!("{}: bytes {}-{}: {}", path.display(), d.start, d.end, d.why))?;
        }
    }
    Ok(out)
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

/// One sparse column: `(rows, values, kind)` — the indices of the rows holding the metric
/// (int64), and their values: a NumPy array for `float`, `int` and `bool` columns, else a list
/// of exact Python values (`str`, `json`, `mixed`).
/// A column for Python, taken by value: its buffers move into the arrays, never copied.
fn column_to_py<'py>(py: Python<'py>, col: Column, loads: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTuple>> {
    column_to_py_shared(py, col, false, loads, &mut EveryRow::new(usize::MAX))
}

/// The rows array of the columns held in every row of a table (`0..n`), made once and shared
/// read-only by all of them: a dense run of ten metrics does not build ten copies of `arange(n)`.
struct EveryRow<'py> {
    n: usize,
    rows: Option<Bound<'py, PyAny>>,
}

impl<'py> EveryRow<'py> {
    fn new(n: usize) -> Self {
        Self { n, rows: None }
    }

    /// `rows` as int64, the shared array when they are `0..n` (rows are strictly increasing) or
    /// when `every` says so (`rows` left out).
    fn rows(&mut self, py: Python<'py>, rows: &[u32], every: bool) -> PyResult<Bound<'py, PyAny>> {
        let every = every
            || (rows.len() == self.n
                && rows.first() == Some(&0)
                && rows.last().map(|&r| r as usize + 1) == Some(self.n));
        if !every {
            let v: Vec<i64> = rows.iter().map(|&r| i64::from(r)).collect();
            return Ok(v.into_pyarray(py).into_any());
        }
        if let Some(r) = &self.rows {
            return Ok(r.clone());
        }
        let v: Vec<i64> = (0..self.n as i64).collect();
        let arr = v.into_pyarray(py).into_any();
        let kwargs = PyDict::new(py);
        kwargs.set_item("write", false)?;
        arr.call_method("setflags", (), Some(&kwargs))?;
        self.rows = Some(arr.clone());
        Ok(arr)
    }
}

fn column_to_py_shared<'py>(
    py: Python<'py>,
    col: Column,
    every_row: bool,
    loads: &Bound<'py, PyAny>,
    every: &mut EveryRow<'py>,
) -> PyResult<Bound<'py, PyTuple>> {
    let rows = every.rows(py, &col.rows, every_row)?;
    drop(col.rows);
    let (values, kind) = match col.data {
        ColData::Float(v) => (v.into_pyarray(py).into_any(), "float"),
        ColData::Int(v) => (v.into_pyarray(py).into_any(), "int"),
        ColData::Bool(v) => (v.into_pyarray(py).into_any(), "bool"),
        ColData::Str(v) => (PyList::new(py, v)?.into_any(), "str"),
        ColData::Json(v) => {
            let list = PyList::empty(py);
            for s in &v {
                list.append(loads.call1((s.as_str(),))?)?;
            }
            (list.into_any(), "json")
        }
        ColData::Mixed(v) => {
            let list = PyList::empty(py);
            for x in &v {
                list.append(value_to_py(py, x, loads)?)?;
            }
            (list.into_any(), "mixed")
        }
    };
    PyTuple::new(py, [rows, values, kind.into_bound_py_any(py)?])
}

/// Read history files (the shards of one run) into sparse columns.
///
/// Returns `{"n_rows": int, "columns": {name: array}, "metrics": {name: (rows, values, kind)},
/// "nulls": {name: rows}, "torn": [str], "damaged": [str]}`; `columns` holds `_step`,
/// `_timestamp`, `_runtime` (and `_rank` for shared runs), every row; `metrics` the logged
/// metrics (see `column_to_py`; a null is no value there); `nulls` the rows (int64) where a
/// metric was logged as `None`, for the metrics that have any.
/// A run's history as columns. With `keys`, only those metric columns are decoded (every row is
/// kept, with `_step`, `_timestamp`, `_runtime`, `_rank`); `skipped` names the metrics left out.
#[pyfunction]
#[pyo3(signature = (paths, keys=None))]
pub fn read_history(py: Python<'_>, paths: Vec<PathBuf>, keys: Option<Vec<String>>) -> PyResult<Bound<'_, PyDict>> {
    let threads = read_threads();
    let mut t = py.detach(|| read_files_threaded(&paths, keys.as_deref(), threads, true))?;
    // The table's buffers move into the arrays one by one (never a second copy of the run).
    let n_rows = t.len();
    let loads = py.import("json")?.getattr("loads")?;
    let columns = PyDict::new(py);
    columns.set_item("_step", std::mem::take(&mut t.steps).into_pyarray(py))?;
    columns.set_item("_timestamp", std::mem::take(&mut t.timestamps).into_pyarray(py))?;
    columns.set_item("_runtime", std::mem::take(&mut t.runtimes).into_pyarray(py))?;
    if let Some(r) = t.ranks.take() {
        columns.set_item("_rank", r.into_pyarray(py))?;
    }
    let metrics = PyDict::new(py);
    let nulls = PyDict::new(py);
    let mut every = EveryRow::new(n_rows);
    let every_row = std::mem::take(&mut t.every_row);
    for (k, col) in std::mem::take(&mut t.columns).into_iter().enumerate() {
        if !col.nulls.is_empty() {
            let rows: Vec<i64> = col.nulls.iter().map(|&r| i64::from(r)).collect();
            nulls.set_item(&col.name, rows.into_pyarray(py))?;
        }
        let name = col.name.clone();
        let dense = every_row.get(k).copied().unwrap_or(false);
        metrics.set_item(name, column_to_py_shared(py, col, dense, &loads, &mut every)?)?;
    }
    let out = PyDict::new(py);
    out.set_item("n_rows", n_rows)?;
    out.set_item("columns", columns)?;
    out.set_item("metrics", metrics)?;
    out.set_item("nulls", nulls)?;
    out.set_item("skipped", PyList::new(py, &t.skipped)?)?;
    out.set_item("torn", torn_list(py, &t.reports)?)?;
    out.set_item("damaged", damage_list(py, &t.reports)?)?;
    Ok(out)
}

/// `history(keys=[key], samples=N)` of one history file answered from its blocks' statistics
/// (see `zoom.rs`): a table shaped as `read_history`'s, holding only the rows kept (with `_step`
/// and `key`, at most `samples` of those holding `key` with `lo <= _step <= hi`), and
/// `"zoom": {"blocks", "decoded", "from_stats", "segments"}`. `None` when the file cannot be
/// answered that way (a file written before format version 3, damage, steps that go back, a
/// column that is not numbers): the caller reads it whole. `segments=False`: a wide view is never
/// answered from segments' statistics (M4's exact answer, straddling blocks decompressed).
#[pyfunction]
#[pyo3(signature = (path, key, samples, lo=None, hi=None, segments=true))]
pub fn zoom_history(
    py: Python<'_>,
    path: PathBuf,
    key: String,
    samples: usize,
    lo: Option<f64>,
    hi: Option<f64>,
    segments: bool,
) -> PyResult<Option<Bound<'_, PyDict>>> {
    let snap = if segments {
        crate::zoom::SNAP_SEGMENTS
    } else {
        usize::MAX
    };
    let Some(z) = py.detach(|| crate::zoom::zoom_with(&path, &key, samples, lo, hi, snap))? else {
        return Ok(None);
    };
    let loads = py.import("json")?.getattr("loads")?;
    let n_rows = z.steps.len();
    let columns = PyDict::new(py);
    columns.set_item("_step", z.steps.into_pyarray(py))?;
    let nulls = PyDict::new(py);
    if !z.nulls.is_empty() {
        let rows: Vec<i64> = z.nulls.iter().map(|&r| i64::from(r)).collect();
        nulls.set_item(&key, rows.into_pyarray(py))?;
    }
    let col = Column {
        name: key.clone(),
        rows: z.rows,
        nulls: Vec::new(),
        data: z.data,
    };
    let metrics = PyDict::new(py);
    metrics.set_item(&key, column_to_py(py, col, &loads)?)?;
    let zoom = PyDict::new(py);
    zoom.set_item("blocks", z.blocks)?;
    zoom.set_item("decoded", z.decoded)?;
    zoom.set_item("from_stats", z.from_stats)?;
    zoom.set_item("segments", z.segments)?;
    let out = PyDict::new(py);
    out.set_item("n_rows", n_rows)?;
    out.set_item("columns", columns)?;
    out.set_item("metrics", metrics)?;
    out.set_item("nulls", nulls)?;
    out.set_item("skipped", PyList::empty(py))?;
    out.set_item("torn", PyList::empty(py))?;
    out.set_item("damaged", PyList::empty(py))?;
    out.set_item("zoom", zoom)?;
    Ok(Some(out))
}

/// The names `read_history(paths, [])` lists (columns, metrics, skipped, in that order) from the
/// blocks' statistics alone, or `None` when a file has blocks without them (read it whole).
#[pyfunction]
pub fn history_names(py: Python<'_>, paths: Vec<PathBuf>) -> PyResult<Option<Vec<String>>> {
    Ok(py.detach(|| crate::zoom::names(&paths))?)
}

/// The rows of a run's history files, streamed a page at a time in `_step` then `_rank` order,
/// one decoded block per file in memory. With `keys`, only rows that hold all of them (the
/// names not starting with `_`), with just those keys and `_step`, `_timestamp`, `_runtime`.
#[pyclass(module = "turbotrack._core")]
pub struct HistoryScan {
    scan: Scan,
    keys: Option<Vec<String>>,
}

#[pymethods]
impl HistoryScan {
    #[new]
    #[pyo3(signature = (paths, keys=None))]
    fn new(py: Python<'_>, paths: Vec<PathBuf>, keys: Option<Vec<String>>) -> PyResult<Self> {
        let scan = py.detach(|| Scan::open(&paths))?;
        Ok(Self { scan, keys })
    }

    /// Up to `size` more rows as dicts; an empty list at the end.
    fn next_page<'py>(&mut self, py: Python<'py>, size: usize) -> PyResult<Bound<'py, PyList>> {
        let loads = py.import("json")?.getattr("loads")?;
        let out = PyList::empty(py);
        let wanted = self
            .keys
            .as_ref()
            .map(|k| k.iter().filter(|k| !k.starts_with('_')).collect::<Vec<_>>());
        while out.len() < size.max(1) {
            if self.scan.needs_fill() {
                let scan = &mut self.scan;
                py.detach(|| scan.fill())?;
            }
            let shared = self.scan.shared();
            let Some((row, names)) = self.scan.pop() else {
                break;
            };
            if let Some(w) = &wanted {
                if !w
                    .iter()
                    .all(|k| row.items.iter().any(|(i, _)| names[*i as usize] == **k))
                {
                    continue;
                }
            }
            let d = PyDict::new(py);
            d.set_item("_step", row.step)?;
            d.set_item("_timestamp", row.timestamp)?;
            d.set_item("_runtime", row.runtime)?;
            if shared {
                d.set_item("_rank", row.rank)?;
            }
            for (i, v) in &row.items {
                let name = &names[*i as usize];
                if self.keys.as_ref().is_none_or(|k| k.contains(name)) {
                    d.set_item(name, value_to_py(py, v, &loads)?)?;
                }
            }
            out.append(d)?;
        }
        Ok(out)
    }

    /// Mid-file damage found so far, one line per damaged range (see `verify_file`).
    #[getter]
    fn damaged<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        damage_list(py, &self.scan.reports())
    }
}

/// Every row as a dict, in order (see `HistoryScan`, which streams them).
#[pyfunction]
#[pyo3(signature = (paths, keys=None))]
pub fn read_rows(py: Python<'_>, paths: Vec<PathBuf>, keys: Option<Vec<String>>) -> PyResult<Bound<'_, PyList>> {
    let mut scan = HistoryScan::new(py, paths, keys)?;
    let out = PyList::empty(py);
    loop {
        let page = scan.next_page(py, 16_384)?;
        if page.is_empty() {
            return Ok(out);
        }
        for row in page.iter() {
            out.append(row)?;
        }
    }
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

/// Check one history file block by block: `{"blocks", "rows", "valid_bytes", "file_bytes",
/// "torn", "damaged"}`; `damaged` lists `(start, end, why)` of each damaged range with whole
/// blocks after it, `torn` says why the end of the file was skipped, if it was.
/// Check uploaded stream bytes block by block, each decompressed within its declared length (at
/// most 64 MiB) and decoded: `(end of the last whole block, its rows, why it stopped early or
/// None)`. `ValueError` when `at_start` and the file header is damaged.
#[pyfunction]
pub fn check_stream(py: Python<'_>, data: &[u8], at_start: bool) -> PyResult<(usize, u64, Option<String>)> {
    py.detach(|| check_upload(data, at_start))
        .map_err(pyo3::exceptions::PyValueError::new_err)
}

#[pyfunction]
pub fn verify_file(py: Python<'_>, path: PathBuf) -> PyResult<Bound<'_, PyDict>> {
    let r = py.detach(|| verify(&path))?;
    let d = PyDict::new(py);
    let damaged: Vec<(u64, u64, String)> = r.damaged.iter().map(|x| (x.start, x.end, x.why.clone())).collect();
    d.set_item("damaged", damaged)?;
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
