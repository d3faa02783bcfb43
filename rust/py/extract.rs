//! A logged dict → typed values with interned metric ids. Exact builtin types first, in order of
//! frequency; everything else goes to the Python converter (NumPy, tensors, media) on a cold path.

use std::ffi::CString;

use pyo3::exceptions::{PyTypeError, PyUserWarning, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyString};
use rustc_hash::FxHashMap;

use crate::names::{Interner, NamePolicy, NAME_RULE};
use crate::value::Value;

/// Above this many cached key objects the pointer cache starts over (keys built per call).
const PTR_CACHE_LIMIT: usize = 65_536;

/// Metric names known to this run, and the policy for names that break the rule.
pub struct Names {
    pub interner: Interner,
    /// Key string object address → id. The objects are kept alive in `keep`, so an address
    /// cannot be reused by another string while it is in the map.
    by_ptr: FxHashMap<usize, u32>,
    keep: Vec<Py<PyString>>,
    /// Names interned since the writer was last told.
    pub new_names: Vec<Box<str>>,
    pub policy: NamePolicy,
}

impl Names {
    pub fn new(policy: NamePolicy) -> Self {
        Self {
            interner: Interner::default(),
            by_ptr: FxHashMap::default(),
            keep: Vec::new(),
            new_names: Vec::new(),
            policy,
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

    fn id_of_key(&mut self, py: Python<'_>, key: &Bound<'_, PyString>) -> PyResult<u32> {
        let ptr = key.as_ptr() as usize;
        if let Some(&id) = self.by_ptr.get(&ptr) {
            self.check(py, id)?;
            return Ok(id);
        }
        let id = self.id_of(py, &key.to_cow()?)?;
        if self.keep.len() >= PTR_CACHE_LIMIT {
            self.keep.clear();
            self.by_ptr.clear();
        }
        self.keep.push(key.clone().unbind());
        self.by_ptr.insert(ptr, id);
        Ok(id)
    }

    #[inline]
    fn check(&mut self, py: Python<'_>, id: u32) -> PyResult<()> {
        if self.interner.is_reserved(id) {
            return Err(PyValueError::new_err(format!(
                "{:?} is a key every row carries and cannot be logged; use another name (the step is log()'s step= argument). Nothing of this log() call was recorded",
                self.interner.name(id)
            )));
        }
        if self.policy == NamePolicy::Off {
            return Ok(());
        }
        let Some(why) = self.interner.invalid_reason(id) else {
            return Ok(());
        };
        let (why, name) = (why.to_owned(), self.interner.name(id).to_owned());
        match self.policy {
            NamePolicy::Strict => Err(PyValueError::new_err(format!(
                "invalid metric name {name:?}: {why}; {NAME_RULE}. Nothing of this log() call was recorded (settings={{\"metric_names\": \"warn\"}} logs such names with a warning)"
            ))),
            _ if self.interner.take_warning(id) => {
                let msg = format!(
                    "metric name {name:?} breaks the naming rule: {why}; {NAME_RULE}. It is logged anyway (settings={{\"metric_names\": \"strict\"}} refuses such names, \"off\" silences this)"
                );
                warn(py, &msg)
            }
            _ => Ok(()),
        }
    }
}

/// Issue a `UserWarning` from native code.
pub fn warn(py: Python<'_>, msg: &str) -> PyResult<()> {
    let text = CString::new(msg.replace('\0', "\\0")).unwrap_or_default();
    PyErr::warn(py, &py.get_type::<PyUserWarning>(), &text, 1)
}

/// Read `dict` (nested dicts flattened with `.`) into `out`.
pub fn extract_dict(
    names: &mut Names,
    dict: &Bound<'_, PyDict>,
    prefix: Option<&str>,
    converter: &Bound<'_, PyAny>,
    step: i64,
    out: &mut Vec<(u32, Value)>,
    deferred: &mut Vec<(u32, u64)>,
) -> PyResult<()> {
    let py = dict.py();
    for (k, v) in dict.iter() {
        let Ok(key) = k.cast_exact::<PyString>() else {
            let shown = k.repr().map(|r| r.to_string()).unwrap_or_default();
            return Err(PyTypeError::new_err(format!(
                "metric names must be strings; got the key {shown} of type {}. Nothing of this log() call was recorded",
                type_name(&k)
            )));
        };
        // Builtin values first: the common case pays for no other type check.
        let value = builtin(&v)?;
        if value.is_none() {
            if let Ok(inner) = v.cast::<PyDict>() {
                let full = full_name(prefix, &key.to_cow()?);
                extract_dict(names, inner, Some(&full), converter, step, out, deferred)?;
                continue;
            }
        }
        let id = match prefix {
            None => names.id_of_key(py, key)?,
            Some(p) => names.id_of(py, &full_name(Some(p), &key.to_cow()?))?,
        };
        match value {
            Some(value) => out.push((id, value)),
            None => match convert(&v, id, names, converter, step)? {
                Read::Now(value) => out.push((id, value)),
                Read::Later(token) => deferred.push((id, token)),
            },
        }
    }
    Ok(())
}

fn full_name(prefix: Option<&str>, key: &str) -> String {
    match prefix {
        Some(p) => format!("{p}.{key}"),
        None => key.to_owned(),
    }
}

enum Read {
    Now(Value),
    /// The converter started computing it elsewhere; it arrives with this token.
    Later(u64),
}

/// A value that must be a number, bool or string (a resolved deferred value).
pub fn scalar(v: &Bound<'_, PyAny>) -> PyResult<Value> {
    builtin(v)?.ok_or_else(|| PyTypeError::new_err(format!("expected a number, bool or str, got {}", type_name(v))))
}

/// The cold path: a value that is not a builtin goes through the Python converter.
fn convert(v: &Bound<'_, PyAny>, id: u32, names: &Names, converter: &Bound<'_, PyAny>, step: i64) -> PyResult<Read> {
    let name = names.interner.name(id);
    let converted = converter.call1((name, v, step))?;
    if let Some(x) = builtin(&converted)? {
        return Ok(Read::Now(x));
    }
    if let Ok(b) = converted.cast::<PyBytes>() {
        return Ok(Read::Now(Value::Json(
            String::from_utf8_lossy(b.as_bytes()).into_owned(),
        )));
    }
    if let Ok((tag, token)) = converted.extract::<(String, u64)>() {
        if tag == "deferred" {
            return Ok(Read::Later(token));
        }
    }
    Err(PyTypeError::new_err(format!(
        "cannot log {name:?}: the converter returned a {}; expected a number, bool, str or JSON bytes",
        type_name(&converted)
    )))
}

#[inline]
fn builtin(v: &Bound<'_, PyAny>) -> PyResult<Option<Value>> {
    Ok(Some(if v.is_exact_instance_of::<PyFloat>() {
        Value::Float(v.extract::<f64>()?)
    } else if v.is_exact_instance_of::<PyInt>() {
        match v.extract::<i64>() {
            Ok(i) => Value::Int(i),
            Err(_) => Value::Float(v.extract::<f64>()?),
        }
    } else if v.is_exact_instance_of::<PyBool>() {
        Value::Bool(v.is_truthy()?)
    } else if v.is_exact_instance_of::<PyString>() {
        Value::Str(v.cast_exact::<PyString>()?.to_cow()?.into_owned())
    } else if v.is_instance_of::<PyFloat>() {
        Value::Float(v.extract::<f64>()?)
    } else if v.is_instance_of::<PyBool>() {
        Value::Bool(v.is_truthy()?)
    } else if v.is_instance_of::<PyInt>() {
        match v.extract::<i64>() {
            Ok(i) => Value::Int(i),
            Err(_) => Value::Float(v.extract::<f64>()?),
        }
    } else {
        return Ok(None);
    }))
}

pub fn type_name(v: &Bound<'_, PyAny>) -> String {
    v.get_type().name().map_or_else(|_| "?".into(), |n| n.to_string())
}
