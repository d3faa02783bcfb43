//! The Python module `turbotrack._core`: error mapping, the GIL rule, and the module's contents.
//!
//! The error rule: binding code returns the crate's [`Error`] (`?` converts it), and this file's
//! `From<Error> for PyErr` is the one place that picks the Python exception. Only errors Python
//! itself raised (a failing converter, `__index__`) pass through as they came.
//!
//! The GIL rule: hold it only to read Python objects; wait (a full queue, a flush, a summary
//! request, finish) only inside [`Python::detach`], so other Python threads run meanwhile.

mod core;
mod downsample;
mod extract;
mod floor;
mod reader;
mod scan;
mod tee;
mod wandb_log;

use pyo3::exceptions::{PyException, PyMemoryError, PyOverflowError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;

use crate::error::Error;

pyo3::create_exception!(
    turbotrack,
    TurbotrackError,
    PyException,
    "Base class of turbotrack's own errors: files that cannot be read or written, a finished run."
);

impl From<Error> for PyErr {
    fn from(e: Error) -> PyErr {
        match e {
            Error::Type(m) => PyTypeError::new_err(m),
            Error::Value(m) => PyValueError::new_err(m),
            Error::Memory(m) => PyMemoryError::new_err(m),
            Error::Overflow(m) => PyOverflowError::new_err(m),
            Error::Changed(m) | Error::Reentrant(m) => PyRuntimeError::new_err(m),
            e @ (Error::Io { .. } | Error::Format { .. } | Error::Closed(_)) => TurbotrackError::new_err(e.to_string()),
        }
    }
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("Error", m.py().get_type::<TurbotrackError>())?;
    m.add_class::<core::Core>()?;
    m.add_class::<tee::Tee>()?;
    m.add_class::<floor::PushFloor>()?;
    m.add_class::<wandb_log::WandbLog>()?;
    m.add_function(wrap_pyfunction!(core::native_floor, m)?)?;
    m.add_function(wrap_pyfunction!(core::check_name, m)?)?;
    m.add_function(wrap_pyfunction!(reader::read_history, m)?)?;
    m.add_function(wrap_pyfunction!(reader::read_rows, m)?)?;
    m.add_function(wrap_pyfunction!(reader::zoom_history, m)?)?;
    m.add_function(wrap_pyfunction!(reader::history_names, m)?)?;
    m.add_class::<reader::HistoryScan>()?;
    m.add_function(wrap_pyfunction!(reader::verify_file, m)?)?;
    m.add_function(wrap_pyfunction!(reader::check_stream, m)?)?;
    m.add_function(wrap_pyfunction!(scan::scan_blocks, m)?)?;
    m.add_function(wrap_pyfunction!(reader::summarize_history, m)?)?;
    m.add_function(wrap_pyfunction!(reader::tensor_stats, m)?)?;
    m.add_function(wrap_pyfunction!(downsample::m4_indices, m)?)?;
    m.add("FORMAT_VERSION", crate::format::FORMAT_VERSION)?;
    m.add("MAX_ROW_BYTES", crate::format::block::MAX_ROW_BYTES)?;
    m.add("MAX_BLOCK", crate::format::block::MAX_BLOCK)?;
    m.add("MAX_DEPTH", extract::MAX_DEPTH)?;
    m.add("ON_EXIT_HOOK", crate::exit_status::hook_address())?;
    Ok(())
}
