//! `Tee`: the console tee (`crate::tee`) for `turbotrack.capture.console`.

use std::fs::File;
use std::os::fd::{FromRawFd, RawFd};
use std::path::PathBuf;
use std::time::Duration;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use super::TurbotrackError;
use crate::tee;

/// Native threads that drain the capture pipes into the original descriptors and `output.log`.
#[pyclass(module = "turbotrack._core", frozen)]
pub struct Tee {
    inner: tee::Tee,
}

/// Take ownership of descriptor `fd` (the caller hands it over and never uses or closes it again).
fn adopt(fd: RawFd) -> PyResult<File> {
    if fd < 0 {
        return Err(PyValueError::new_err(format!("Tee: {fd} is not a file descriptor")));
    }
    // SAFETY: the caller (console.py) passes descriptors it made for this purpose (its own dups)
    // and gives up; nothing else reads, writes or closes them after this call.
    Ok(unsafe { File::from_raw_fd(fd) })
}

#[pymethods]
impl Tee {
    /// Start draining: `streams` are `(name, read_fd, original_fd, marker)`; the descriptors are
    /// handed over (closed by the tee when done).
    #[new]
    fn new(log_path: PathBuf, streams: Vec<(String, RawFd, RawFd, Vec<u8>)>) -> PyResult<Self> {
        let mut owned = Vec::with_capacity(streams.len());
        for (name, read, original, marker) in streams {
            owned.push(tee::Stream {
                name,
                read: adopt(read)?,
                original: adopt(original)?,
                marker,
            });
        }
        let inner = tee::Tee::start(&log_path, owned)
            .map_err(|e| TurbotrackError::new_err(format!("{}: {e}", log_path.display())))?;
        Ok(Self { inner })
    }

    /// From now on, each stream's logging ends at its marker.
    fn begin_stop(&self) {
        self.inner.begin_stop();
    }

    /// Wait (without the GIL) at most `timeout` seconds until every stream's logging ended.
    fn wait_logged(&self, py: Python<'_>, timeout: f64) -> bool {
        let timeout = Duration::from_secs_f64(timeout.clamp(0.0, 3600.0));
        py.detach(|| self.inner.wait_logged(timeout))
    }

    /// Whether every stream reached its end of file.
    #[getter]
    fn finished(&self) -> bool {
        self.inner.finished()
    }

    /// What went wrong so far, once each.
    fn problems(&self) -> Vec<String> {
        self.inner.problems()
    }
}
