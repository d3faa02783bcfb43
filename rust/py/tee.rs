//! `Tee`: the console tee (`crate::tee`) for `turbotrack.capture.console`.

use std::os::fd::{AsFd, IntoRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use pyo3::prelude::*;

use crate::error::Error;
use crate::tee;

/// Native threads that drain the capture pipes into the original descriptors and `output.log`.
#[pyclass(module = "turbotrack._core", frozen)]
pub struct Tee {
    inner: tee::Tee,
    /// The write ends, until the caller takes them (`take_write_fds`).
    write_ends: Mutex<Vec<OwnedFd>>,
}

/// A copy of the descriptor `name` ("stdout", "stderr") as it is now: where the stream's bytes
/// still go once the stream is pointed at the pipe.
fn original(name: &str) -> Result<OwnedFd, Error> {
    let fd = match name {
        "stdout" => std::io::stdout().as_fd().try_clone_to_owned(),
        "stderr" => std::io::stderr().as_fd().try_clone_to_owned(),
        _ => {
            return Err(Error::Value(format!(
                "Tee: no stream {name:?}; use \"stdout\" or \"stderr\""
            )))
        }
    };
    fd.map_err(|e| Error::io(format!("<{name}>"), e))
}

#[pymethods]
impl Tee {
    /// Start draining `streams`, `(name, marker)` with name "stdout" or "stderr": for each, a
    /// pipe (a pseudo-terminal when the stream is a terminal) is made, and its reader copies
    /// every byte to the stream's current descriptor and to `log_path`. Point the stream at the
    /// write end (`take_write_fds`) afterwards.
    #[new]
    fn new(log_path: PathBuf, streams: Vec<(String, Vec<u8>)>) -> PyResult<Self> {
        let mut owned = Vec::with_capacity(streams.len());
        let mut write_ends = Vec::with_capacity(streams.len());
        for (name, marker) in streams {
            let original = original(&name)?;
            let (read, write) = tee::open_pair(&original).map_err(|e| Error::io(format!("<{name}>"), e))?;
            write_ends.push(write);
            owned.push(tee::Stream {
                name,
                read,
                original: original.into(),
                marker,
            });
        }
        let inner = tee::Tee::start(&log_path, owned).map_err(|e| Error::io(&log_path, e))?;
        Ok(Self {
            inner,
            write_ends: Mutex::new(write_ends),
        })
    }

    /// The write end of each stream's pipe, in the order given, handed over: the caller points
    /// the stream at it (`os.dup2`) and closes it when done. Empty after the first call.
    fn take_write_fds(&self) -> Vec<RawFd> {
        let mut ends = self.write_ends.lock().unwrap_or_else(PoisonError::into_inner);
        ends.drain(..).map(IntoRawFd::into_raw_fd).collect()
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
