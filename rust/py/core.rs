//! `Core`: one stream of one run (its history or its system metrics) — the caller's side of the
//! queue, and the writer thread behind it.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{bounded, Receiver, Sender, TrySendError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat};

use super::extract::{notice, type_name, DictReader, Names};
use crate::error::Error;
use crate::format::block::MAX_ROW_BYTES;
use crate::format::FileHeader;
use crate::health::Health;
use crate::names::NamePolicy;
use crate::record::{Items, Msg, Record};
use crate::sink::{FileSink, SealNotifier};
use crate::step::{Decision, Refused, StepState};
use crate::summary::MetricDef;
use crate::value::Value;
use crate::writer::{spawn, Batching, Channels};

/// Batches of spare item vectors travelling back from the writer (`RECYCLE_BATCH` each), so
/// `log()` does not allocate. The writer drains in bursts (it polls), so this covers a burst of
/// calls (512 of them).
const RECYCLE_CAPACITY: usize = 16;
/// Requests in flight (summary reads, flushes) before the next one waits.
const REQUEST_CAPACITY: usize = 16;

struct State {
    tx: Option<Sender<Msg>>,
    /// Summary, flush and finish requests: the writer sleeps on this channel, not on `tx`.
    requests: Option<Sender<Msg>>,
    recycle: Receiver<Vec<Items>>,
    /// Emptied batches going back to the writer (see `Channels::empties`).
    empties: Sender<Vec<Items>>,
    /// Spare item vectors from the last batch the writer sent back.
    spare: Vec<Items>,
    handle: Option<JoinHandle<()>>,
    names: Names,
    steps: StepState,
    /// Deferred values of the call being read (see `Msg::Resolve`).
    deferred: Vec<(u32, u64)>,
    /// The dotted name of the nested dict being read (a buffer reused across calls).
    path: String,
    /// How many values the last call logged.
    last_len: usize,
    /// Messages queued so far (see `sent`).
    sent: u64,
    /// Past this many messages queued, `log()` paces itself (see [`pace`]).
    pace_at: usize,
    /// Calls left that do not pace (after a pace that saw the writer take nothing).
    pace_skip: u32,
    /// Set by the writer while it seals a block.
    sealing: Arc<AtomicBool>,
    /// Calls until the queue's length is read again (see `Core::over_pace`).
    pace_check: u32,
}

/// The native side of one stream of a run. Made by `turbotrack.Run`; not for direct use.
#[pyclass(module = "turbotrack._core", frozen)]
pub struct Core {
    state: Mutex<State>,
    health: Arc<Health>,
    sealed: Arc<SealNotifier>,
    converter: Py<PyAny>,
    start_time: f64,
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn finished() -> PyErr {
    Error::Closed("this run is finished; call turbotrack.init() to start a new one".into()).into()
}

thread_local! {
    /// How many runs' state locks this thread holds, so a re-entrant call (a converter that logs)
    /// fails instead of waiting for itself.
    static HOLDING: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// The state lock, held.
struct Held<'a>(MutexGuard<'a, State>);

impl Drop for Held<'_> {
    fn drop(&mut self) {
        HOLDING.with(|h| h.set(h.get() - 1));
    }
}

impl std::ops::Deref for Held<'_> {
    type Target = State;
    fn deref(&self) -> &State {
        &self.0
    }
}

impl std::ops::DerefMut for Held<'_> {
    fn deref_mut(&mut self) -> &mut State {
        &mut self.0
    }
}

impl Core {
    /// Take the state lock. Uncontended (the common case) it is one atomic operation; when
    /// another thread holds it (waiting on a full queue), wait without the GIL.
    fn lock(&self, py: Python<'_>) -> PyResult<Held<'_>> {
        loop {
            let guard = match self.state.try_lock() {
                Ok(g) => g,
                Err(TryLockError::Poisoned(p)) => p.into_inner(),
                Err(TryLockError::WouldBlock) => {
                    if HOLDING.with(std::cell::Cell::get) > 0 {
                        return Err(Error::Reentrant(
                            "turbotrack was called from inside log() (a value's conversion called back into the run); log the converted value instead".into(),
                        )
                        .into());
                    }
                    py.detach(|| drop(self.state.lock()));
                    continue;
                }
            };
            HOLDING.with(|h| h.set(h.get() + 1));
            return Ok(Held(guard));
        }
    }

    /// Whether the queue holds `at` messages or more. Reading its length touches a cache line
    /// the writer writes, so while the queue is under half of `at` it is read every
    /// `PACE_CHECK_EVERY` calls only (it cannot pass `at` in between).
    fn over_pace(check: &mut u32, tx: &Sender<Msg>, at: usize) -> bool {
        if *check > 0 {
            *check -= 1;
            return false;
        }
        let len = tx.len();
        if len < at / 2 && at / 2 > PACE_CHECK_EVERY as usize {
            *check = PACE_CHECK_EVERY;
        }
        len >= at
    }

    /// Queue `msg`; if the queue is full, wait for the writer without the GIL.
    fn send(py: Python<'_>, st: &mut State, msg: Msg) -> PyResult<()> {
        st.sent = st.sent.wrapping_add(1);
        let tx = st.tx.as_ref().ok_or_else(finished)?;
        if !st.names.new_names.is_empty() {
            let names = Msg::Names(std::mem::take(&mut st.names.new_names));
            Self::push(py, tx, names)?;
        }
        Self::push(py, tx, msg)
    }

    fn push(py: Python<'_>, tx: &Sender<Msg>, msg: Msg) -> PyResult<()> {
        match tx.try_send(msg) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(msg)) => py.detach(|| send_when_free(tx, msg)).map_err(|_| finished()),
            Err(TrySendError::Disconnected(_)) => Err(finished()),
        }
    }

    /// Send a request and wait for its reply without the GIL.
    fn ask<T: Send>(&self, py: Python<'_>, make: impl FnOnce(Sender<T>) -> Msg) -> PyResult<T> {
        let (tx, rx) = bounded(1);
        {
            // Every message naming a metric went through `send`, which told the writer its name.
            let st = self.lock(py)?;
            let requests = st.requests.as_ref().ok_or_else(finished)?;
            Self::push(py, requests, make(tx))?;
        }
        py.detach(|| rx.recv())
            .map_err(|_| Error::Closed("the run's writer thread stopped unexpectedly".into()).into())
    }

    /// Tell the user what the writer noticed (a failure, a recovery, a file started again), once
    /// each: a notice on stderr, never an exception into the training loop.
    fn report_failure(&self, py: Python<'_>, quiet: bool) {
        while let Some(text) = self.health.take_notice() {
            notice(py, &text, quiet);
        }
    }
}

#[pymethods]
impl Core {
    /// Open (or append to) the history file at `path` and start its writer thread. Batching
    /// follows `$TURBOTRACK_BATCHING` and its overrides (see docs/design.md); `flush_interval`,
    /// when given, wins over them.
    #[new]
    #[pyo3(signature = (path, *, summary_path=None, start_time=None, flush_interval=None, metric_names="warn", queue_capacity=16384, meta="stream=history", initial_step=0, converter, quiet=false))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        path: PathBuf,
        summary_path: Option<PathBuf>,
        start_time: Option<f64>,
        flush_interval: Option<f64>,
        metric_names: &str,
        queue_capacity: usize,
        meta: &str,
        initial_step: i64,
        converter: Py<PyAny>,
        quiet: bool,
    ) -> PyResult<Self> {
        let policy = NamePolicy::parse(metric_names)?;
        let mut names = Names::new(policy);
        names.quiet = quiet;
        let mut batching = Batching::from_env()?;
        if let Some(seconds) = flush_interval {
            batching = batching.with_flush_interval(seconds)?;
        }
        let start_time = start_time.unwrap_or_else(now);
        let (tx, data) = bounded(queue_capacity.max(1));
        let (req_tx, requests) = bounded(REQUEST_CAPACITY);
        let (recycle, recycle_rx) = bounded(RECYCLE_CAPACITY);
        let (empties_tx, empties) = bounded(RECYCLE_CAPACITY);
        let health = Arc::new(Health::default());
        let sealed = Arc::new(SealNotifier::default());
        let header = FileHeader::new(start_time, meta);
        let sink = FileSink::open(
            path,
            summary_path,
            &header,
            batching.retry_interval(),
            health.clone(),
            sealed.clone(),
        )?;
        let sealing = Arc::new(AtomicBool::new(false));
        let channels = Channels {
            data,
            requests,
            recycle,
            empties,
            sealing: sealing.clone(),
        };
        let handle = spawn(Box::new(sink), batching, start_time, channels, health.clone())?;
        Ok(Core {
            state: Mutex::new(State {
                tx: Some(tx),
                requests: Some(req_tx),
                recycle: recycle_rx,
                empties: empties_tx,
                spare: Vec::new(),
                handle: Some(handle),
                names,
                steps: StepState::starting_at(initial_step),
                deferred: Vec::new(),
                path: String::new(),
                last_len: 0,
                sent: 0,
                pace_at: queue_capacity.max(1).div_ceil(2),
                pace_skip: 0,
                sealing,
                pace_check: 0,
            }),
            health,
            sealed,
            converter,
            start_time,
        })
    }

    /// Log a dict of metrics: see `turbotrack.log`.
    #[pyo3(signature = (data, step=None, commit=None))]
    fn log(
        &self,
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        step: Option<&Bound<'_, PyAny>>,
        commit: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let Ok(dict) = data.cast::<PyDict>() else {
            return Err(Error::Type(format!("log() takes a dict of metrics, got {}", type_name(data))).into());
        };
        let step = step.map(step_arg).transpose()?;
        let commit = commit.map(commit_arg).transpose()?;
        let mut guard = self.lock(py)?;
        let st = &mut *guard;
        if st.tx.is_none() {
            return Err(finished());
        }
        self.report_failure(py, st.names.quiet);
        // A spare vector from the writer; else one sized like the last call's, allocated once.
        let spare = st.spare.pop().or_else(|| {
            let batch = st.recycle.try_recv().ok()?;
            let empty = std::mem::replace(&mut st.spare, batch);
            if empty.capacity() > 0 {
                let _ = st.empties.try_send(empty); // full: dropped here (rare)
            }
            st.spare.pop()
        });
        let mut items = spare.unwrap_or_else(|| Vec::with_capacity(st.last_len));
        items.clear();
        // The step the row lands on (a later step= moves it there), which media files are named after.
        let landing = step.map_or(st.steps.pending(), |s| s.max(st.steps.pending()));
        st.deferred.clear();
        let converter = self.converter.bind(py);
        let mut reader = DictReader::new(
            &mut st.names,
            converter,
            landing,
            &mut items,
            &mut st.deferred,
            &mut st.path,
        );
        let read = reader.read(dict);
        let bytes = reader.bytes;
        let decision = read.and_then(|()| {
            st.steps
                .decide(step, commit, bytes)
                .map_err(|why| refused(why, step.unwrap_or(i64::MIN).max(st.steps.pending()), &items, &st.names))
        });
        let decision = match decision {
            Ok(d) => d,
            Err(e) => {
                // Values the converter deferred for this call resolve into nothing.
                st.deferred.clear();
                return Err(e);
            }
        };
        let timestamp = now();
        match decision {
            Decision::Merge { step, commit } => {
                if st.pace_skip > 0 {
                    st.pace_skip -= 1;
                } else if let Some(tx) = st
                    .tx
                    .as_ref()
                    .filter(|tx| Self::over_pace(&mut st.pace_check, tx, st.pace_at))
                {
                    let at = st.pace_at;
                    if !py.detach(|| pace(tx, at)) && !st.sealing.load(Ordering::Relaxed) {
                        // The writer took nothing in PACE_FOR and is not sealing: it is not
                        // running (its core is busy, perhaps with this very caller spinning), so
                        // waiting on each call only burns the time it needs. Go on for a while;
                        // the free half absorbs it. (While it seals, pacing goes on: that
                        // stretches the free half over the seal.)
                        st.pace_skip = PACE_SKIP;
                    }
                }
                let deferred = std::mem::take(&mut st.deferred);
                st.last_len = items.len();
                Self::send(
                    py,
                    st,
                    Msg::Log(Record {
                        step,
                        commit,
                        timestamp,
                        items,
                        deferred,
                    }),
                )
            }
            Decision::Drop { pending } => {
                st.deferred.clear();
                let keys: Vec<String> = items
                    .iter()
                    .map(|(id, _)| format!("'{}'", st.names.interner.name(*id)))
                    .collect();
                let keys = keys.join(", ");
                let step = step.unwrap_or_default();
                notice(py, &format!(
                    "Tried to log to step {step} that is less than the current step {pending}. Steps must be monotonically increasing, so this data will be ignored (keys {keys}): log without step= or with step >= {pending}"
                ), st.names.quiet);
                Ok(())
            }
        }
    }

    /// Log `names` from now on without the notice for names that break the naming rule (names
    /// a library makes, such as `watch()`'s `gradients/net.2.weight`); "strict" still refuses them.
    fn hush(&self, py: Python<'_>, names: Vec<String>) -> PyResult<()> {
        let mut st = self.lock(py)?;
        for name in names {
            let (id, new) = st.names.interner.intern(&name);
            if new {
                st.names.new_names.push(name.into());
            }
            st.names.interner.take_warning(id);
        }
        Ok(())
    }

    /// Define how a metric is summarised and plotted: see `turbotrack.define_metric`.
    #[pyo3(signature = (name, step_metric=None, step_sync=None, hidden=None, summary=None, objective=None))]
    #[allow(clippy::too_many_arguments)]
    fn define_metric(
        &self,
        py: Python<'_>,
        name: &str,
        step_metric: Option<&str>,
        step_sync: Option<bool>,
        hidden: Option<bool>,
        summary: Option<&str>,
        objective: Option<&str>,
    ) -> PyResult<()> {
        let mut def = MetricDef::new(name, summary, objective)?;
        def.hidden = hidden.unwrap_or(false);
        let mut st = self.lock(py)?;
        if let Some(sm) = step_metric {
            def.step_metric = Some(st.names.id_of(py, sm)?);
            def.step_sync = step_sync.unwrap_or(true);
        }
        Self::send(py, &mut st, Msg::Define(def))
    }

    /// The summary as JSON text, reflecting every `log()` made before this call.
    fn summary_json(&self, py: Python<'_>) -> PyResult<String> {
        self.ask(py, Msg::Summary)
    }

    /// Set a summary value by hand (`json` is its JSON text), or hide it (`json=None`).
    #[pyo3(signature = (key, json))]
    fn set_summary(&self, py: Python<'_>, key: String, json: Option<String>) -> PyResult<()> {
        let mut st = self.lock(py)?;
        let id = st.names.interner.get(&key);
        Self::send(py, &mut st, Msg::SetSummary { key, id, json })
    }

    /// The value of a metric that `log()` deferred (the converter returned `("deferred", token)`).
    fn resolve(&self, py: Python<'_>, token: u64, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let value = super::extract::scalar(value)?;
        let mut st = self.lock(py)?;
        Self::send(py, &mut st, Msg::Resolve { token, value })
    }

    /// Write everything logged so far to the files, then return.
    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        if self.lock(py)?.tx.is_none() {
            return Ok(());
        }
        self.ask(py, Msg::Flush)
    }

    /// Commit the pending step, write everything, stop the writer. Returns the background
    /// failure, if any. While something could not be written (a full disk), the writer keeps it
    /// and a later call tries again; once everything is written, calls do nothing.
    fn finish(&self, py: Python<'_>) -> PyResult<Option<String>> {
        let requests = {
            let mut st = self.lock(py)?;
            st.tx = None;
            match st.requests.clone() {
                Some(requests) => requests,
                None => return Ok(self.health.message()),
            }
        };
        let (reply_tx, reply_rx) = bounded(1);
        Self::push(py, &requests, Msg::Finish(reply_tx))?;
        drop(requests);
        let reply = py.detach(|| reply_rx.recv());
        if matches!(reply, Ok(Some(_))) && self.health.has_failed() {
            return Ok(self.health.message()); // the writer stays, holding what is unwritten
        }
        let handle = {
            let mut st = self.lock(py)?;
            st.requests = None;
            st.handle.take()
        };
        py.detach(|| handle.map(JoinHandle::join));
        Ok(reply.ok().flatten().or_else(|| self.health.message()))
    }

    /// Wait (without the GIL) until blocks were stored after the first `seen` ones, at most
    /// `timeout` seconds; return how many blocks the history file got so far. Returns at once
    /// once the stream is finished. An uploader passes the count it last saw.
    #[pyo3(signature = (seen, timeout))]
    fn wait_sealed(&self, py: Python<'_>, seen: u64, timeout: f64) -> u64 {
        let timeout = Duration::try_from_secs_f64(timeout.max(0.0)).unwrap_or(Duration::MAX);
        py.detach(|| self.sealed.wait(seen, timeout))
    }

    /// The pending step: the step the next `log()` merges into.
    #[getter]
    fn step(&self, py: Python<'_>) -> PyResult<i64> {
        Ok(self.lock(py)?.steps.pending())
    }

    /// Counts the messages queued so far: unchanged means the summary is unchanged too.
    #[getter]
    fn sent(&self, py: Python<'_>) -> PyResult<u64> {
        Ok(self.lock(py)?.sent)
    }

    #[getter]
    fn finished(&self, py: Python<'_>) -> PyResult<bool> {
        Ok(self.lock(py)?.tx.is_none())
    }

    #[getter]
    fn start_time(&self) -> f64 {
        self.start_time
    }
}

/// How long `log()` retries a full queue before it sleeps on it (spinning: see [`pace`]). A
/// running writer frees a slot within microseconds, while a sleeping caller is woken only after
/// the writer's futex call and the scheduler's wake-up (likely the 128-256 µs calls benches/tail.py
/// showed at 200 scalars a call before this spin). A writer that frees nothing for this long is sealing or not running: then
/// sleeping is right, and spinning on could hold the core it needs.
const SPIN_BEFORE_SLEEP: Duration = Duration::from_micros(20);

/// How long one `log()` call waits at most for the writer while the queue is over half full.
const PACE_FOR: Duration = Duration::from_micros(20);

/// Wait (at most [`PACE_FOR`]) until fewer than `at` messages are queued on `tx`. A writer slower
/// than the caller (200 scalars a call flat out) fills the queue whatever is done; waiting for it
/// a little on every call once the queue is half full keeps the other half free to absorb the
/// writer's pauses (sealing a block takes milliseconds), where waiting only on a full queue made
/// the calls that arrive during a seal wait for all of it.
///
/// Returns whether the writer took a message meanwhile.
fn pace<T>(tx: &Sender<T>, at: usize) -> bool {
    // Spin, never `yield_now`: on a shared machine a yield hands the core to another process
    // for its whole time slice (benches/tail.py: milliseconds).
    let start = Instant::now();
    let queued = tx.len();
    loop {
        let now = tx.len();
        if now < at {
            return true;
        }
        if start.elapsed() >= PACE_FOR {
            return now < queued;
        }
        for _ in 0..16 {
            std::hint::spin_loop();
        }
    }
}

/// How many calls go by between two reads of the queue's length while it is far from the pacing
/// mark (see `Core::over_pace`).
const PACE_CHECK_EVERY: u32 = 64;

/// After a pace that saw the writer take nothing, this many calls go on without pacing.
const PACE_SKIP: u32 = 64;

/// Queue `msg` on the full queue `tx` as soon as a slot frees (without the GIL).
fn send_when_free<T>(tx: &Sender<T>, mut msg: T) -> Result<(), crossbeam_channel::SendError<T>> {
    let start = Instant::now();
    loop {
        match tx.try_send(msg) {
            Ok(()) => return Ok(()),
            Err(TrySendError::Disconnected(m)) => return Err(crossbeam_channel::SendError(m)),
            Err(TrySendError::Full(m)) => msg = m,
        }
        if start.elapsed() >= SPIN_BEFORE_SLEEP {
            return tx.send(msg);
        }
        for _ in 0..16 {
            std::hint::spin_loop();
        }
    }
}

/// `log()`'s `step=`: an int or a NumPy integer, from 0 to 2**63-1.
fn step_arg(v: &Bound<'_, PyAny>) -> PyResult<i64> {
    if v.is_instance_of::<PyBool>() {
        return Err(Error::Type(format!("log() step must be an int, got the bool {v}")).into());
    }
    // `__index__`: Python ints and NumPy integers, never floats.
    v.extract::<i64>().map_err(|e| {
        let shown = v.repr().map(|r| r.to_string()).unwrap_or_default();
        if e.is_instance_of::<pyo3::exceptions::PyOverflowError>(v.py()) {
            Error::Overflow(format!(
                "log() step={shown} is out of range: steps are integers from 0 to 2**63-1"
            ))
        } else {
            Error::Type(format!(
                "log() step must be an int (or a NumPy integer), got {} {shown}",
                type_name(v)
            ))
        }
        .into()
    })
}

/// `log()`'s `commit=`: `True`, `False` (or a NumPy bool); `None` is handled by the caller.
fn commit_arg(v: &Bound<'_, PyAny>) -> PyResult<bool> {
    if let Ok(b) = v.cast::<PyBool>() {
        return Ok(b.is_true());
    }
    let numpy_bool = v
        .get_type()
        .fully_qualified_name()
        .is_ok_and(|n| n.to_cow().is_ok_and(|n| n == "numpy.bool" || n == "numpy.bool_"));
    if numpy_bool {
        return v.is_truthy();
    }
    let shown = v.repr().map(|r| r.to_string()).unwrap_or_default();
    Err(Error::Type(format!(
        "log() commit must be True, False or None, got {} {shown}",
        type_name(v)
    ))
    .into())
}

/// The error for a call `StepState::decide` refused.
fn refused(why: Refused, row: i64, items: &[(u32, Value)], names: &Names) -> PyErr {
    match why {
        Refused::StepsExhausted => Error::Overflow(format!(
            "log() cannot commit step {row}: it is the last step there is (2**63-1), so the step counter cannot move on. Nothing of this log() call was recorded"
        )),
        Refused::RowTooLarge { row_bytes } => {
            let text = |v: &Value| match v {
                Value::Str(s) | Value::Json(s) => s.len(),
                _ => 0,
            };
            let (id, n) = items
                .iter()
                .map(|(id, v)| (*id, text(v)))
                .max_by_key(|(_, n)| *n)
                .unwrap_or_default();
            let total: usize = items.iter().map(|(_, v)| text(v)).sum();
            Error::Value(format!(
                "cannot log {:?} ({n} bytes of text): the row at step {row} would carry {} bytes of text, over the {MAX_ROW_BYTES} one history row may carry; save large text as a file (run.save) instead. Nothing of this log() call was recorded",
                names.interner.name(id),
                row_bytes + total
            ))
        }
    }
    .into()
}

/// The native floor for benchmarks: iterate `d` (and the dicts in it) and sum its floats,
/// nothing else.
#[pyfunction]
pub fn native_floor(d: &Bound<'_, PyDict>) -> f64 {
    let mut total = 0.0;
    for (_, v) in d.iter() {
        if let Ok(f) = v.cast_exact::<PyFloat>() {
            total += f.value();
        } else if let Ok(inner) = v.cast_exact::<PyDict>() {
            total += native_floor(inner);
        }
    }
    total
}

/// Why `name` breaks the metric naming rule, or `None` when it follows it.
#[pyfunction]
pub fn check_name(name: &str) -> Option<String> {
    crate::names::check_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_is_waited_on_until_the_writer_takes_a_message() {
        let (tx, rx) = bounded(1);
        tx.send(0).unwrap();
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(5)); // past the spin: the caller sleeps
            (rx.recv().unwrap(), rx.recv().unwrap())
        });
        send_when_free(&tx, 1).unwrap();
        assert_eq!(writer.join().unwrap(), (0, 1));
    }

    #[test]
    fn a_full_queue_without_a_writer_is_an_error_not_a_wait() {
        let (tx, rx) = bounded(1);
        tx.send(0).unwrap();
        drop(rx);
        assert!(send_when_free(&tx, 1).is_err());
    }

    #[test]
    fn pace_tells_whether_the_writer_took_anything() {
        let (tx, rx) = bounded(4);
        for i in 0..4 {
            tx.send(i).unwrap();
        }
        assert!(
            !pace(&tx, 2),
            "nobody reads: the wait ends after PACE_FOR, reporting no progress"
        );
        for _ in 0..3 {
            rx.recv().unwrap();
        }
        assert!(pace(&tx, 2), "under the mark: no wait");
    }
}
