//! What crosses the queue from the caller's thread to the writer.

use crossbeam_channel::Sender;

use crate::summary::MetricDef;
use crate::value::Value;

/// Interned metric ids and their values, in the order logged.
pub type Items = Vec<(u32, Value)>;

/// How many spare [`Items`] the writer hands back to `log()` at once (one channel operation per
/// batch rather than per row, on each side).
pub const RECYCLE_BATCH: usize = 32;

/// One `log()` call, decided on the caller's thread.
#[derive(Debug)]
pub struct Record {
    /// The step the values merge into.
    pub step: i64,
    /// Commit the row after merging.
    pub commit: bool,
    /// Unix seconds of the call.
    pub timestamp: f64,
    /// Interned metric id and value, in the order logged.
    pub items: Items,
    /// Metrics whose values come later through [`Msg::Resolve`] (GPU scalars): id and token.
    pub deferred: Vec<(u32, u64)>,
}

/// A message to the writer thread. Messages are handled in the order sent.
#[derive(Debug)]
pub enum Msg {
    /// Names of the next metric ids, in id order.
    Names(Vec<Box<str>>),
    Log(Record),
    /// The value of a deferred metric has arrived.
    Resolve {
        token: u64,
        value: Value,
    },
    Define(MetricDef),
    /// Set (`Some` JSON text) or hide (`None`) a summary value by hand.
    SetSummary {
        key: String,
        id: Option<u32>,
        json: Option<String>,
    },
    /// Reply with the summary as JSON, the pending row included.
    Summary(Sender<String>),
    /// Seal the open block, write summary.json, then reply.
    Flush(Sender<()>),
    /// Commit the pending row, seal, write summary.json, close; reply, then the thread ends.
    Finish(Sender<Option<String>>),
}
