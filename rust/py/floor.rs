//! `PushFloor`: the floor of `log()`'s queue for benchmarks (benches/tail.py) — the dict read into
//! the same item vector `log()` builds, pushed on a bounded queue that a thread drains and hands
//! back for reuse; no names, no steps, no writer.

use std::thread::JoinHandle;

use crossbeam_channel::{bounded, Receiver, Sender, TrySendError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFloat};

use crate::value::Value;

type Items = Vec<(u32, Value)>;

/// The queue push alone, as a benchmark floor. Not part of the API.
#[pyclass(module = "turbotrack._core")]
pub struct PushFloor {
    tx: Option<Sender<Items>>,
    recycle: Receiver<Items>,
    drain: Option<JoinHandle<()>>,
}

#[pymethods]
impl PushFloor {
    #[new]
    #[pyo3(signature = (capacity=16384))]
    fn new(capacity: usize) -> PyResult<Self> {
        let (tx, rx) = bounded::<Items>(capacity.max(1));
        let (back, recycle) = bounded(256);
        let drain = std::thread::Builder::new()
            .name("turbotrack-floor".into())
            .spawn(move || {
                for items in rx {
                    let _ = back.try_send(items);
                }
            })
            .map_err(|e| crate::error::Error::Closed(format!("could not start a thread: {e}")))?;
        Ok(Self {
            tx: Some(tx),
            recycle,
            drain: Some(drain),
        })
    }

    /// Read `d`'s floats (nested dicts' too) into an item vector (a recycled one when there is one) and queue it.
    fn push(&self, py: Python<'_>, d: &Bound<'_, PyDict>) -> PyResult<()> {
        let Some(tx) = &self.tx else {
            return Err(crate::error::Error::Closed("closed".into()).into());
        };
        let mut items = self.recycle.try_recv().unwrap_or_default();
        items.clear();
        floats(d, &mut items);
        match tx.try_send(items) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(items)) => {
                let _ = py.detach(|| tx.send(items));
                Ok(())
            }
            Err(TrySendError::Disconnected(_)) => Err(crate::error::Error::Closed("closed".into()).into()),
        }
    }

    /// Stop the draining thread.
    fn close(&mut self, py: Python<'_>) {
        self.tx = None;
        if let Some(h) = self.drain.take() {
            let _ = py.detach(|| h.join());
        }
    }
}

/// The floats of `d` and of the dicts in it, numbered in the order met.
fn floats(d: &Bound<'_, PyDict>, items: &mut Items) {
    for (_, v) in d.iter() {
        if let Ok(f) = v.cast_exact::<PyFloat>() {
            items.push((items.len() as u32, Value::Float(f.value())));
        } else if let Ok(inner) = v.cast_exact::<PyDict>() {
            floats(inner, items);
        }
    }
}
