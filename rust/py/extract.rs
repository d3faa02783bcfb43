//! A logged dict → typed values with interned metric ids. Exact builtin types first, in order of
//! frequency, then `None`, then lists and tuples of builtins (written as JSON text here);
//! everything else goes to the Python converter (NumPy, tensors, media) on a cold path.

use std::borrow::Cow;

use pyo3::exceptions::PyOverflowError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use rustc_hash::FxHashMap;

use crate::error::Error;
use crate::format::block::MAX_ROW_BYTES;
use crate::names::{Interner, NamePolicy};
use crate::value::{write_f64, write_str, Value};

/// Above this many cached key objects the pointer cache starts over (keys built per call).
const PTR_CACHE_LIMIT: usize = 65_536;

/// Metric names known to this run, and the policy for names that break the rule.
pub struct Names {
    pub interner: Interner,
    /// (dict prefix, key string object address) → metric id: a key resolves without building or
    /// hashing its name. The prefix is 0 for the logged dict itself, else the id `prefixes` gave
    /// the nested dict's path. Key objects are kept alive in `keep`, so an address cannot be
    /// reused by another string while it is in a map.
    by_key: FxHashMap<(u32, usize), u32>,
    /// (dict prefix, key address) → the prefix of the dict found under that key.
    prefixes: FxHashMap<(u32, usize), u32>,
    keep: Vec<Py<PyString>>,
    /// Names interned since the writer was last told.
    pub new_names: Vec<Box<str>>,
    pub policy: NamePolicy,
    /// Print no notices (`settings={"silent": True}`).
    pub quiet: bool,
    /// A notice was printed (Python code ran: `sys.stderr.write`) since the call began.
    pub python_ran: bool,
}

impl Names {
    pub fn new(policy: NamePolicy) -> Self {
        Self {
            interner: Interner::default(),
            by_key: FxHashMap::default(),
            prefixes: FxHashMap::default(),
            keep: Vec::new(),
            new_names: Vec::new(),
            policy,
            quiet: false,
            python_ran: false,
        }
    }

    /// The id of `name`, checked against the policy.
    pub fn id_of(&mut self, py: Python<'_>, name: &str) -> PyResult<u32> {
        let (id, new) = self.interner.intern(name);
        if new {
            self.new_names.push(name.into());
        }
        self.check(py, id)?;
        Ok(id)
    }

    /// The metric id of `key` in the dict `dict`, whose keys' ids are cached under `prefix`. Only
    /// a key not cached yet has its dotted name built (into the scratch buffer `path`).
    #[inline]
    fn id_of_key(
        &mut self,
        py: Python<'_>,
        prefix: u32,
        key: &Bound<'_, PyString>,
        dict: &Parent<'_, '_>,
        path: &mut String,
    ) -> PyResult<u32> {
        // `prefix` 0 is the logged dict itself, whose keys are whole names.
        let at = (prefix, key.as_ptr() as usize);
        if let Some(&id) = self.by_key.get(&at) {
            self.check(py, id)?;
            return Ok(id);
        }
        let id = if prefix == 0 {
            self.id_of(py, &key_text(key, "")?)?
        } else {
            write_path(dict, path)?;
            let text = key_text(key, path)?;
            path.push('.');
            path.push_str(&text);
            self.id_of(py, path)?
        };
        self.remember(key);
        self.by_key.insert(at, id);
        Ok(id)
    }

    /// The prefix of the dict under `key` in the dict `prefix`.
    #[inline]
    fn prefix_of(&mut self, prefix: u32, key: &Bound<'_, PyString>) -> u32 {
        let at = (prefix, key.as_ptr() as usize);
        if let Some(&p) = self.prefixes.get(&at) {
            return p;
        }
        self.remember(key);
        let p = self.prefixes.len() as u32 + 1;
        self.prefixes.insert(at, p);
        p
    }

    /// Keep `key` alive while its address is in a map; past the limit the maps start over.
    fn remember(&mut self, key: &Bound<'_, PyString>) {
        if self.keep.len() >= PTR_CACHE_LIMIT {
            self.keep.clear();
            self.by_key.clear();
            self.prefixes.clear();
        }
        self.keep.push(key.clone().unbind());
    }

    /// Apply the naming policy to `id` (see `Interner::judge`): refuse, or tell the user once.
    #[inline]
    fn check(&mut self, py: Python<'_>, id: u32) -> PyResult<()> {
        if let Some(warning) = self.interner.judge(id, self.policy)? {
            self.python_ran = true;
            notice(py, &warning, self.quiet);
        }
        Ok(())
    }
}

/// Tell the user about `msg` as wandb does: one line `turbotrack: WARNING <msg>` on Python's
/// `sys.stderr` (so `capsys` and redirections see it), not a Python warning, so that programs
/// and test suites run with `-W error` go on. Nothing with `quiet`, `$TURBOTRACK_SILENT` or
/// `$WANDB_SILENT` (`1`/`true`); a `sys.stderr` that is missing or fails is ignored.
pub fn notice(py: Python<'_>, msg: &str, quiet: bool) {
    if quiet || silenced() {
        return;
    }
    let Ok(stderr) = py.import("sys").and_then(|sys| sys.getattr("stderr")) else {
        return;
    };
    if stderr.is_none() {
        return;
    }
    let line = format!("turbotrack: WARNING {msg}\n");
    if stderr.call_method1("write", (line,)).is_ok() {
        let _ = stderr.call_method0("flush");
    }
}

/// Whether the environment silences notices, as `turbotrack.termwarn` reads it.
fn silenced() -> bool {
    let var = std::env::var("TURBOTRACK_SILENT").or_else(|_| std::env::var("WANDB_SILENT"));
    var.is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

/// Dicts nested deeper than this are refused (a dict that contains itself is caught sooner).
pub const MAX_DEPTH: usize = 64;

const NOTHING_RECORDED: &str = "Nothing of this log() call was recorded";

/// One `log()` call's dict being read into typed values: nested dicts flatten with `.`.
pub struct DictReader<'a, 'py> {
    pub names: &'a mut Names,
    pub converter: &'a Bound<'py, PyAny>,
    /// The pending step, for the converter (media file names).
    pub step: i64,
    pub out: &'a mut Vec<(u32, Value)>,
    pub deferred: &'a mut Vec<(u32, u64)>,
    /// Scratch for a dotted name (built only for a key not cached yet); reused across calls.
    pub path: &'a mut String,
    /// Text (strings, JSON) read so far, in bytes: a row's text is bounded (see `StepState`).
    pub bytes: usize,
    /// Python code ran during this call (the converter), so the dicts may have changed.
    python_ran: bool,
}

/// A dict being read, the key it was found under and the dict it is nested in: a chain on the
/// call stack (nothing allocated), walked to find a dict that contains itself and, only when a
/// name is needed, to build the dict's dotted name (see [`write_path`]).
struct Parent<'p, 'py> {
    ptr: usize,
    /// `None` for the logged dict itself.
    key: Option<&'p Bound<'py, PyString>>,
    up: Option<&'p Parent<'p, 'py>>,
}

/// Write the dotted name of the dict `p` into `out` (empty for the logged dict itself).
fn write_path(p: &Parent<'_, '_>, out: &mut String) -> PyResult<()> {
    match p.up {
        Some(up) => write_path(up, out)?,
        None => out.clear(),
    }
    if let Some(key) = p.key {
        let text = key_text(key, out)?;
        if p.up.is_some_and(|up| up.key.is_some()) {
            out.push('.'); // under a key, even an empty one (`{"": {"y": ...}}` is ".y")
        }
        out.push_str(&text);
    }
    Ok(())
}

impl<'a, 'py> DictReader<'a, 'py> {
    pub fn new(
        names: &'a mut Names,
        converter: &'a Bound<'py, PyAny>,
        step: i64,
        out: &'a mut Vec<(u32, Value)>,
        deferred: &'a mut Vec<(u32, u64)>,
        path: &'a mut String,
    ) -> Self {
        path.clear();
        Self {
            names,
            converter,
            step,
            out,
            deferred,
            path,
            bytes: 0,
            python_ran: false,
        }
    }

    /// Read `dict`, the top-level dict of the call.
    pub fn read(&mut self, dict: &Bound<'py, PyDict>) -> PyResult<()> {
        self.names.python_ran = false;
        let root = Parent {
            ptr: dict.as_ptr() as usize,
            key: None,
            up: None,
        };
        self.read_dict(dict, 0, 0, &root)
    }

    /// Read `dict` (`this` in the chain), nested `depth` levels deep, whose keys' ids are cached
    /// under `prefix`.
    fn read_dict(
        &mut self,
        dict: &Bound<'py, PyDict>,
        depth: usize,
        prefix: u32,
        this: &Parent<'_, 'py>,
    ) -> PyResult<()> {
        let py = dict.py();
        let len = dict.len();
        let mut items = dict.iter();
        let mut seen = 0;
        loop {
            // pyo3's iterator panics when the dict changes under it (another thread, or a
            // converter); these are its two checks, made first so they raise as Python's do.
            // Only Python code can change it (the GIL is held, and released only by Python
            // code), so the size is read again only once some ran (a converter, a notice).
            if (self.python_ran || self.names.python_ran) && dict.len() != len {
                return Err(changed("dictionary changed size during iteration"));
            }
            if seen > len {
                return Err(changed("dictionary keys changed during iteration"));
            }
            let Some((k, v)) = items.next() else { break };
            seen += 1;
            let Ok(key) = k.cast::<PyString>() else {
                return Err(bad_key(&k, this));
            };
            // Exact builtin values first: the common case pays for no other type check; then an
            // exact dict, before the subclass checks (each a walk of the type's MRO).
            let value = match exact(&v) {
                Ok(None) => match v.cast_exact::<PyDict>() {
                    Ok(inner) => {
                        self.nested(key, inner, depth, prefix, this)?;
                        continue;
                    }
                    Err(_) => subclassed(&v),
                },
                done => done,
            };
            let value = match value {
                Ok(value) => value,
                Err(bad) => {
                    let name = name_of(key, this)?;
                    return Err(bad.into_err(&name));
                }
            };
            let value = match value {
                Some(value) => Some(value),
                None => {
                    if let Ok(inner) = v.cast::<PyDict>() {
                        self.nested(key, inner, depth, prefix, this)?;
                        continue;
                    }
                    // A list's items may be int subclasses whose `__str__` (Python code) writes
                    // an int past int64.
                    self.python_ran = true;
                    listed(&v).map_err(|bad| match name_of(key, this) {
                        Ok(name) => bad.into_err(&name),
                        Err(e) => e,
                    })?
                }
            };
            let id = self.names.id_of_key(py, prefix, key, this, self.path)?;
            match value {
                Some(value) => self.push(id, value),
                None => {
                    self.python_ran = true;
                    match convert(&v, id, self.names, self.converter, self.step)? {
                        Read::Now(value) => self.push(id, value),
                        Read::Later(token) => self.deferred.push((id, token)),
                    }
                }
            }
        }
        Ok(())
    }

    /// Read the dict `inner` found under `key` in the dict `parent` at `depth`.
    fn nested(
        &mut self,
        key: &Bound<'py, PyString>,
        inner: &Bound<'py, PyDict>,
        depth: usize,
        prefix: u32,
        parent: &Parent<'_, 'py>,
    ) -> PyResult<()> {
        let this = Parent {
            ptr: inner.as_ptr() as usize,
            key: Some(key),
            up: Some(parent),
        };
        let mut outer = Some(parent);
        while let Some(p) = outer.filter(|p| p.ptr != this.ptr) {
            outer = p.up;
        }
        if let Some(outer) = outer {
            write_path(outer, self.path)?;
            let outer = if outer.up.is_none() {
                "the logged dict itself".to_owned()
            } else {
                format!("the dict under {:?}", self.path)
            };
            write_path(&this, self.path)?;
            return Err(Error::Value(format!(
                "cannot log {:?}: its value is {outer}, a dict that contains itself. {NOTHING_RECORDED}",
                self.path
            ))
            .into());
        }
        if depth + 1 >= MAX_DEPTH {
            write_path(&this, self.path)?;
            return Err(Error::Value(format!(
                "cannot log {:?}: dicts are nested more than {MAX_DEPTH} levels deep. {NOTHING_RECORDED}",
                self.path
            ))
            .into());
        }
        let inner_prefix = self.names.prefix_of(prefix, key);
        self.read_dict(inner, depth + 1, inner_prefix, &this)
    }

    #[inline]
    fn push(&mut self, id: u32, value: Value) {
        if let Value::Str(s) | Value::Json(s) = &value {
            self.bytes += s.len();
        }
        self.out.push((id, value));
    }
}

/// The full name of `key` in the dict `dict`, for an error message.
fn name_of(key: &Bound<'_, PyString>, dict: &Parent<'_, '_>) -> PyResult<String> {
    let mut path = String::new();
    write_path(dict, &mut path)?;
    let key = key_text(key, &path)?;
    if dict.key.is_some() {
        path.push('.');
    }
    path.push_str(&key);
    Ok(path)
}

fn bad_key(k: &Bound<'_, PyAny>, dict: &Parent<'_, '_>) -> PyErr {
    let shown = k.repr().map(|r| r.to_string()).unwrap_or_default();
    let mut path = String::new();
    if let Err(e) = write_path(dict, &mut path) {
        return e;
    }
    let under = if path.is_empty() {
        String::new()
    } else {
        format!(" (under {path:?})")
    };
    Error::Type(format!(
        "metric names must be strings; got the key {shown} of type {}{under}. {NOTHING_RECORDED}",
        type_name(k)
    ))
    .into()
}

fn changed(what: &str) -> PyErr {
    Error::Changed(format!(
        "{what}: the logged dict was changed while log() read it (by another thread, or by a value's conversion). {NOTHING_RECORDED}"
    ))
    .into()
}

/// The text of a key; a key Python cannot encode as UTF-8 (a lone surrogate) is refused by name.
fn key_text<'k>(key: &'k Bound<'_, PyString>, path: &str) -> PyResult<Cow<'k, str>> {
    key.to_cow().map_err(|_| {
        let shown = key.repr().map(|r| r.to_string()).unwrap_or_default();
        let under = if path.is_empty() {
            String::new()
        } else {
            format!(" (under {path:?})")
        };
        Error::Value(format!(
            "the metric name {shown}{under} is not valid Unicode text (it holds a lone surrogate, which no file can store). {NOTHING_RECORDED}"
        ))
        .into()
    })
}

enum Read {
    Now(Value),
    /// The converter started computing it elsewhere; it arrives with this token.
    Later(u64),
}

/// A value the core refuses, before its key is known.
pub enum Refusal {
    /// An integer outside int64.
    IntRange,
    /// A string Python cannot encode as UTF-8 (a lone surrogate).
    Surrogate,
    /// Text longer than a row may carry: its length in bytes (or code points, when more).
    TooLong(usize),
    /// A list (or a dict in it) that contains itself.
    SelfContaining,
    /// Lists and dicts in a list nested deeper than [`MAX_DEPTH`].
    TooDeep,
    /// Any other failure of Python's own.
    Py(PyErr),
}

impl Refusal {
    fn into_err(self, name: &str) -> PyErr {
        match self {
            Refusal::IntRange => Error::Overflow(format!(
                "cannot log {name:?}: integer out of int64 range (history stores integers from -2**63 to 2**63-1; log float(x) or str(x) instead). {NOTHING_RECORDED}"
            ))
            .into(),
            Refusal::Surrogate => Error::Value(format!(
                "cannot log {name:?}: the string is not valid Unicode text (it holds a lone surrogate, which no file can store). {NOTHING_RECORDED}"
            ))
            .into(),
            Refusal::TooLong(n) => Error::Value(format!(
                "cannot log {name:?}: its text is {n} bytes, over the {MAX_ROW_BYTES} bytes one history row may carry; save large text as a file (run.save) instead. {NOTHING_RECORDED}"
            ))
            .into(),
            Refusal::SelfContaining => Error::Value(format!(
                "cannot log {name:?}: the list contains itself (directly, or through a list or dict in it), so it has no JSON form. {NOTHING_RECORDED}"
            ))
            .into(),
            Refusal::TooDeep => Error::Value(format!(
                "cannot log {name:?}: lists and dicts in it are nested more than {MAX_DEPTH} levels deep. {NOTHING_RECORDED}"
            ))
            .into(),
            Refusal::Py(e) => e,
        }
    }
}

/// A value that must be a number, bool or string (a resolved deferred value).
pub fn scalar(v: &Bound<'_, PyAny>) -> PyResult<Value> {
    match builtin(v) {
        Ok(Some(x)) => Ok(x),
        Ok(None) => Err(Error::Type(format!("expected a number, bool or str, got {}", type_name(v))).into()),
        Err(bad) => Err(bad.into_err("a deferred value")),
    }
}

/// The cold path: a value that is not a builtin goes through the Python converter.
fn convert(v: &Bound<'_, PyAny>, id: u32, names: &Names, converter: &Bound<'_, PyAny>, step: i64) -> PyResult<Read> {
    let name = names.interner.name(id);
    let converted = converter.call1((name, v, step))?;
    match builtin(&converted) {
        Ok(Some(x)) => return Ok(Read::Now(x)),
        Ok(None) => {}
        Err(bad) => return Err(bad.into_err(name)),
    }
    if let Ok(b) = converted.cast::<PyBytes>() {
        let b = b.as_bytes();
        if b.len() > MAX_ROW_BYTES {
            return Err(Refusal::TooLong(b.len()).into_err(name));
        }
        return Ok(Read::Now(Value::Json(String::from_utf8_lossy(b).into_owned())));
    }
    if let Ok((tag, token)) = converted.extract::<(String, u64)>() {
        if tag == "deferred" {
            return Ok(Read::Later(token));
        }
    }
    Err(Error::Type(format!(
        "cannot log {name:?}: the converter returned a {}; expected a number, bool, str, None or JSON bytes",
        type_name(&converted)
    ))
    .into())
}

/// A number, bool, string or `None` (subclasses of the builtin types included).
#[inline]
fn builtin(v: &Bound<'_, PyAny>) -> Result<Option<Value>, Refusal> {
    match exact(v)? {
        Some(x) => Ok(Some(x)),
        None => subclassed(v),
    }
}

/// A value of exactly a builtin scalar type (`float`, `int`, `bool`, `str`) or `None`: pointer
/// comparisons of its type only.
#[inline]
fn exact(v: &Bound<'_, PyAny>) -> Result<Option<Value>, Refusal> {
    Ok(Some(if v.is_exact_instance_of::<PyFloat>() {
        Value::Float(v.extract::<f64>().map_err(Refusal::Py)?)
    } else if v.is_exact_instance_of::<PyInt>() {
        Value::Int(int(v)?)
    } else if v.is_exact_instance_of::<PyBool>() {
        Value::Bool(v.is_truthy().map_err(Refusal::Py)?)
    } else if let Ok(s) = v.cast_exact::<PyString>() {
        Value::Str(text(s)?)
    } else if v.is_none() {
        Value::Null
    } else {
        return Ok(None);
    }))
}

/// A value of a subclass of `float`, `bool` or `int` (NumPy's `float64` is a `float`).
fn subclassed(v: &Bound<'_, PyAny>) -> Result<Option<Value>, Refusal> {
    Ok(Some(if v.is_instance_of::<PyFloat>() {
        Value::Float(v.extract::<f64>().map_err(Refusal::Py)?)
    } else if v.is_instance_of::<PyBool>() {
        Value::Bool(v.is_truthy().map_err(Refusal::Py)?)
    } else if v.is_instance_of::<PyInt>() {
        Value::Int(int(v)?)
    } else {
        return Ok(None);
    }))
}

/// A list or tuple whose items are all builtins (numbers, bools, strings, `None`, and lists,
/// tuples and str-keyed dicts of those) as a JSON array, written here; `None` when `v` is not a
/// list or tuple, or holds anything else (it goes to the converter whole).
fn listed(v: &Bound<'_, PyAny>) -> Result<Option<Value>, Refusal> {
    if !(v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>()) {
        return Ok(None);
    }
    let mut json = JsonWriter {
        out: String::new(),
        open: [0; MAX_DEPTH],
        depth: 0,
    };
    Ok(json.value(v)?.then_some(Value::Json(json.out)))
}

/// Builtin values as JSON text (NaN and infinities as Python's `json` writes them).
struct JsonWriter {
    out: String,
    /// The lists and dicts being written, outermost first (a chain: one that contains itself is
    /// found there).
    open: [usize; MAX_DEPTH],
    depth: usize,
}

impl JsonWriter {
    /// Write `v`; `false` when it (or something in it) is not a builtin value.
    fn value(&mut self, v: &Bound<'_, PyAny>) -> Result<bool, Refusal> {
        if v.is_exact_instance_of::<PyFloat>() {
            write_f64(v.extract::<f64>().map_err(Refusal::Py)?, &mut self.out);
        } else if v.is_exact_instance_of::<PyInt>() {
            self.int(v)?;
        } else if v.is_exact_instance_of::<PyBool>() {
            self.out.push_str(if v.is_truthy().map_err(Refusal::Py)? {
                "true"
            } else {
                "false"
            });
        } else if let Ok(s) = v.cast::<PyString>() {
            self.text(s)?;
        } else if v.is_none() {
            self.out.push_str("null");
        } else if let Ok(list) = v.cast::<PyList>() {
            return self.items(v, list.len(), list.iter());
        } else if let Ok(tuple) = v.cast::<PyTuple>() {
            return self.items(v, tuple.len(), tuple.iter());
        } else if let Ok(dict) = v.cast::<PyDict>() {
            return self.dict(v, dict);
        } else if v.is_instance_of::<PyFloat>() {
            write_f64(v.extract::<f64>().map_err(Refusal::Py)?, &mut self.out);
        } else if v.is_instance_of::<PyBool>() {
            self.out.push_str(if v.is_truthy().map_err(Refusal::Py)? {
                "true"
            } else {
                "false"
            });
        } else if v.is_instance_of::<PyInt>() {
            self.int(v)?;
        } else {
            return Ok(false);
        }
        Ok(true)
    }

    /// An int as JSON: exact at any size (JSON has no int range; a list is not a history column,
    /// so the int64 bound of scalars does not apply inside it).
    fn int(&mut self, v: &Bound<'_, PyAny>) -> Result<(), Refusal> {
        use std::fmt::Write;
        match int(v) {
            Ok(i) => {
                let _ = write!(self.out, "{i}");
            }
            Err(Refusal::IntRange) => {
                let text = v.str().map_err(Refusal::Py)?;
                self.out.push_str(&text.to_cow().map_err(Refusal::Py)?);
            }
            Err(e) => return Err(e),
        }
        Ok(())
    }

    fn text(&mut self, s: &Bound<'_, PyString>) -> Result<(), Refusal> {
        let chars = s.len().map_err(Refusal::Py)?;
        if self.out.len().saturating_add(chars) > MAX_ROW_BYTES {
            return Err(Refusal::TooLong(self.out.len().saturating_add(chars)));
        }
        write_str(&s.to_cow().map_err(|_| Refusal::Surrogate)?, &mut self.out);
        Ok(())
    }

    /// Enter the list or dict `v`: refused when it is already open (it contains itself) or
    /// nested too deep.
    fn enter(&mut self, v: &Bound<'_, PyAny>) -> Result<(), Refusal> {
        let ptr = v.as_ptr() as usize;
        if self.open[..self.depth].contains(&ptr) {
            return Err(Refusal::SelfContaining);
        }
        if self.depth == MAX_DEPTH {
            return Err(Refusal::TooDeep);
        }
        self.open[self.depth] = ptr;
        self.depth += 1;
        Ok(())
    }

    /// Bound the text after each item, so a huge list is refused before it is all written.
    fn bounded(&self) -> Result<(), Refusal> {
        if self.out.len() > MAX_ROW_BYTES {
            return Err(Refusal::TooLong(self.out.len()));
        }
        Ok(())
    }

    fn items<'py>(
        &mut self,
        v: &Bound<'py, PyAny>,
        len: usize,
        items: impl Iterator<Item = Bound<'py, PyAny>>,
    ) -> Result<bool, Refusal> {
        self.enter(v)?;
        if self.depth == 1 {
            self.out.reserve(2 + 20 * len.min(1 << 16));
        }
        self.out.push('[');
        for (i, item) in items.enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            if !self.value(&item)? {
                return Ok(false);
            }
            self.bounded()?;
        }
        self.out.push(']');
        self.depth -= 1;
        Ok(true)
    }

    fn dict(&mut self, v: &Bound<'_, PyAny>, dict: &Bound<'_, PyDict>) -> Result<bool, Refusal> {
        self.enter(v)?;
        self.out.push('{');
        for (i, (k, item)) in dict.iter().enumerate() {
            // Only string keys: anything else goes to the converter with the whole value.
            let Ok(k) = k.cast::<PyString>() else {
                return Ok(false);
            };
            if i > 0 {
                self.out.push_str(", ");
            }
            self.text(k)?;
            self.out.push_str(": ");
            if !self.value(&item)? {
                return Ok(false);
            }
            self.bounded()?;
        }
        self.out.push('}');
        self.depth -= 1;
        Ok(true)
    }
}

/// A Python int as an int64. One outside that range is refused, never rounded into a float.
#[inline]
fn int(v: &Bound<'_, PyAny>) -> Result<i64, Refusal> {
    v.extract::<i64>().map_err(|e| {
        if e.is_instance_of::<PyOverflowError>(v.py()) {
            Refusal::IntRange
        } else {
            Refusal::Py(e)
        }
    })
}

/// A string's text, refused when longer than a row may carry or not encodable as UTF-8.
#[inline]
fn text(s: &Bound<'_, PyString>) -> Result<String, Refusal> {
    // Code points first, so a huge string is refused before it is copied.
    let chars = s.len().map_err(Refusal::Py)?;
    if chars > MAX_ROW_BYTES {
        return Err(Refusal::TooLong(chars));
    }
    let t = s.to_cow().map_err(|_| Refusal::Surrogate)?;
    if t.len() > MAX_ROW_BYTES {
        return Err(Refusal::TooLong(t.len()));
    }
    Ok(t.into_owned())
}

pub fn type_name(v: &Bound<'_, PyAny>) -> String {
    v.get_type().name().map_or_else(|_| "?".into(), |n| n.to_string())
}
