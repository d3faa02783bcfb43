//! The core's error type. `py/mod.rs` maps it onto Python exceptions in one place.

use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A value or key of a type the core cannot record (Python `TypeError`).
    #[error("{0}")]
    Type(String),
    /// Bad input: an invalid name in strict mode, an unknown summary word (Python `ValueError`).
    #[error("{0}")]
    Value(String),
    /// A number that does not fit what the history stores: an integer outside int64, a step past
    /// the last one (Python `OverflowError`).
    #[error("{0}")]
    Overflow(String),
    /// A dict changed while `log()` read it, as Python's own iteration reports it (Python `RuntimeError`).
    #[error("{0}")]
    Changed(String),
    /// turbotrack was called back from inside `log()` (a converter that logs) (Python `RuntimeError`).
    #[error("{0}")]
    Reentrant(String),
    /// A file could not be read or written (`turbotrack.Error`).
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    /// A file is not a turbotrack history file or is damaged before its first block (`turbotrack.Error`).
    #[error("{path}: {msg}")]
    Format { path: PathBuf, msg: String },
    /// Not enough memory for what a file asks (Python `MemoryError`), never an abort.
    #[error("{0}")]
    Memory(String),
    /// The run's writer thread is gone (finished, or stopped after a failure) (`turbotrack.Error`).
    #[error("{0}")]
    Closed(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
