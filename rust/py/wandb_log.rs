//! `WandbLog`: wandb's transaction log read in batches, history records decoded natively.

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};
use pyo3::IntoPyObjectExt;

use crate::error::Error;
use crate::wandb_log::{Entry, Key, Keys, WandbLog as Log};

/// A wandb transaction log (`run-<id>.wandb`), read a batch of records at a time. Each record is
/// `("history", names, values_json, step)` for a history row whose names are plain (the row is
/// `dict(zip(names, json.loads(values_json)))`; consecutive rows with the same names share one
/// list, not to be changed), `("nested", keys, values_json, step)` for one that needs the general
/// nesting rule (each key a `str` for an item's `key`, a `list` of its `nested_key` parts
/// otherwise), or `(None, record_bytes, None, None)` for any other record.
#[pyclass(module = "turbotrack._core")]
pub struct WandbLog {
    log: Log<std::io::Take<std::fs::File>>,
    names: Option<Py<PyList>>,
}

#[pymethods]
impl WandbLog {
    #[new]
    fn new(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let log = py.detach(|| Log::open(&path))?;
        Ok(Self { log, names: None })
    }

    /// Up to `size` more records; an empty list at the end. Decoding runs without the GIL.
    #[pyo3(signature = (size=4096))]
    fn read<'py>(&mut self, py: Python<'py>, size: usize) -> PyResult<Bound<'py, PyList>> {
        let log = &mut self.log;
        let batch = py.detach(|| log.batch(size))?;
        let out = PyList::empty(py);
        let history = PyString::intern(py, "history");
        let nested = PyString::intern(py, "nested");
        for entry in batch {
            let t = match entry {
                Entry::Other(body) => PyTuple::new(
                    py,
                    [
                        py.None().into_bound(py),
                        PyBytes::new(py, &body).into_any(),
                        py.None().into_bound(py),
                        py.None().into_bound(py),
                    ],
                )?,
                Entry::History {
                    keys,
                    values_json,
                    step,
                } => {
                    let (kind, names) = match keys {
                        Keys::Flat(names) => {
                            let list = PyList::new(py, names)?;
                            self.names = Some(list.clone().unbind());
                            (history.clone(), list.into_any())
                        }
                        Keys::SameFlat => match &self.names {
                            Some(l) => (history.clone(), l.bind(py).clone().into_any()),
                            None => {
                                return Err(Error::Value(
                                    "WandbLog: a row of the previous names before any names".into(),
                                )
                                .into())
                            }
                        },
                        Keys::Nested(keys) => {
                            let list = PyList::empty(py);
                            for k in keys {
                                match k {
                                    Key::Plain(s) => list.append(s)?,
                                    Key::Path(parts) => list.append(PyList::new(py, parts)?)?,
                                }
                            }
                            (nested.clone(), list.into_any())
                        }
                    };
                    PyTuple::new(
                        py,
                        [
                            kind.into_any(),
                            names,
                            values_json.into_bound_py_any(py)?,
                            step.into_bound_py_any(py)?,
                        ],
                    )?
                }
            };
            out.append(t)?;
        }
        Ok(out)
    }

    /// Bytes of the file scanned so far.
    #[getter]
    fn offset(&self) -> u64 {
        self.log.offset()
    }
}
