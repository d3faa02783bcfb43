//! One column of a block: values of one metric, typed while they agree, `Mixed` once they don't.
//! Nulls are not values of a column: the block marks the rows that hold one (see `encode.rs`).

use super::codec::{put_deltas, put_floats, put_text, put_varint, Reader, Truncated};
use crate::value::Value;

#[derive(Debug, Clone, PartialEq)]
pub enum ColData {
    Float(Vec<f64>),
    Int(Vec<i64>),
    Bool(Vec<bool>),
    Str(Vec<String>),
    Json(Vec<String>),
    Mixed(Vec<Value>),
}

pub const T_FLOAT: u8 = 0;
pub const T_INT: u8 = 1;
pub const T_BOOL: u8 = 2;
pub const T_STR: u8 = 3;
pub const T_JSON: u8 = 4;
pub const T_MIXED: u8 = 5;
/// A column with no values (every row holding the metric holds a null); in a `Mixed` column, a
/// null with no bytes after its tag.
pub const T_NULL: u8 = 6;

impl ColData {
    /// An empty column for values like `v` (a null gives an empty float column: an empty column
    /// takes the type of the first value pushed into it).
    pub fn new_for(v: &Value) -> Self {
        match v {
            Value::Float(_) | Value::Null => ColData::Float(Vec::new()),
            Value::Int(_) => ColData::Int(Vec::new()),
            Value::Bool(_) => ColData::Bool(Vec::new()),
            Value::Str(_) => ColData::Str(Vec::new()),
            Value::Json(_) => ColData::Json(Vec::new()),
        }
    }

    /// Empty it, keeping its buffer.
    pub fn clear(&mut self) {
        match self {
            ColData::Float(v) => v.clear(),
            ColData::Int(v) => v.clear(),
            ColData::Bool(v) => v.clear(),
            ColData::Str(v) | ColData::Json(v) => v.clear(),
            ColData::Mixed(v) => v.clear(),
        }
    }

    /// Empty it and make it the type of `v`, keeping the buffer when it already is.
    pub fn reset_for(&mut self, v: &Value) {
        let same = matches!(
            (&*self, v),
            (_, Value::Null)
                | (ColData::Float(_), Value::Float(_))
                | (ColData::Int(_), Value::Int(_))
                | (ColData::Bool(_), Value::Bool(_))
                | (ColData::Str(_), Value::Str(_))
                | (ColData::Json(_), Value::Json(_))
        );
        if same {
            self.clear();
        } else {
            *self = ColData::new_for(v);
        }
    }

    pub fn len(&self) -> usize {
        match self {
            ColData::Float(v) => v.len(),
            ColData::Int(v) => v.len(),
            ColData::Bool(v) => v.len(),
            ColData::Str(v) | ColData::Json(v) => v.len(),
            ColData::Mixed(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Append a value; a value of another type turns the column into `Mixed` (an empty column
    /// takes its type instead).
    pub fn push(&mut self, v: Value) {
        match (self, v) {
            (ColData::Float(c), Value::Float(x)) => c.push(x),
            (ColData::Int(c), Value::Int(x)) => c.push(x),
            (ColData::Bool(c), Value::Bool(x)) => c.push(x),
            (ColData::Str(c), Value::Str(x)) | (ColData::Json(c), Value::Json(x)) => c.push(x),
            (ColData::Mixed(c), x) => c.push(x),
            (this, x) if this.is_empty() => {
                *this = ColData::new_for(&x);
                this.push(x);
            }
            (this, x) => {
                let mut all = std::mem::replace(this, ColData::Mixed(Vec::new())).into_values();
                all.push(x);
                *this = ColData::Mixed(all);
            }
        }
    }

    /// Append every value of `other` (same length semantics as pushing them one by one).
    pub fn extend(&mut self, other: ColData) {
        match (self, other) {
            (ColData::Float(a), ColData::Float(b)) => a.extend(b),
            (ColData::Int(a), ColData::Int(b)) => a.extend(b),
            (ColData::Bool(a), ColData::Bool(b)) => a.extend(b),
            (ColData::Str(a), ColData::Str(b)) | (ColData::Json(a), ColData::Json(b)) => {
                a.extend(b);
            }
            (this, other) => {
                for v in other.into_values() {
                    this.push(v);
                }
            }
        }
    }

    pub fn get(&self, i: usize) -> Value {
        match self {
            ColData::Float(v) => Value::Float(v[i]),
            ColData::Int(v) => Value::Int(v[i]),
            ColData::Bool(v) => Value::Bool(v[i]),
            ColData::Str(v) => Value::Str(v[i].clone()),
            ColData::Json(v) => Value::Json(v[i].clone()),
            ColData::Mixed(v) => v[i].clone(),
        }
    }

    pub fn into_values(self) -> Vec<Value> {
        match self {
            ColData::Float(v) => v.into_iter().map(Value::Float).collect(),
            ColData::Int(v) => v.into_iter().map(Value::Int).collect(),
            ColData::Bool(v) => v.into_iter().map(Value::Bool).collect(),
            ColData::Str(v) => v.into_iter().map(Value::Str).collect(),
            ColData::Json(v) => v.into_iter().map(Value::Json).collect(),
            ColData::Mixed(v) => v,
        }
    }

    /// Rough encoded size, to decide when a block is full.
    pub fn value_size(v: &Value) -> usize {
        match v {
            Value::Str(s) | Value::Json(s) => s.len() + 2,
            Value::Null => 1,
            _ => 8,
        }
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        if self.is_empty() {
            out.push(T_NULL);
            return;
        }
        match self {
            ColData::Float(v) => {
                out.push(T_FLOAT);
                put_floats(out, v);
            }
            ColData::Int(v) => {
                out.push(T_INT);
                put_deltas(out, v);
            }
            ColData::Bool(v) => {
                out.push(T_BOOL);
                out.extend(v.iter().map(|b| u8::from(*b)));
            }
            ColData::Str(v) | ColData::Json(v) => {
                out.push(if matches!(self, ColData::Str(_)) { T_STR } else { T_JSON });
                for s in v {
                    put_text(out, s);
                }
            }
            ColData::Mixed(v) => {
                out.push(T_MIXED);
                for x in v {
                    match x {
                        Value::Float(f) => {
                            out.push(T_FLOAT);
                            out.extend_from_slice(&f.to_le_bytes());
                        }
                        Value::Int(i) => {
                            out.push(T_INT);
                            put_varint(out, super::codec::zigzag(*i));
                        }
                        Value::Bool(b) => {
                            out.push(T_BOOL);
                            out.push(u8::from(*b));
                        }
                        Value::Str(s) => {
                            out.push(T_STR);
                            put_text(out, s);
                        }
                        Value::Json(s) => {
                            out.push(T_JSON);
                            put_text(out, s);
                        }
                        Value::Null => out.push(T_NULL),
                    }
                }
            }
        }
    }

    /// Step over a column's `n` values without building them.
    pub fn skip(r: &mut Reader<'_>, n: usize) -> Result<(), Truncated> {
        match r.u8()? {
            T_FLOAT => {
                r.bytes(n.checked_mul(8).ok_or(Truncated)?)?;
            }
            T_INT => {
                for _ in 0..n {
                    r.varint()?;
                }
            }
            T_BOOL => {
                r.bytes(n)?;
            }
            T_STR | T_JSON => {
                for _ in 0..n {
                    let len = r.varint()?;
                    r.bytes(usize::try_from(len).map_err(|_| Truncated)?)?;
                }
            }
            T_MIXED => {
                for _ in 0..n {
                    match r.u8()? {
                        T_FLOAT => {
                            r.bytes(8)?;
                        }
                        T_INT => {
                            r.varint()?;
                        }
                        T_BOOL => {
                            r.u8()?;
                        }
                        T_STR | T_JSON => {
                            let len = r.varint()?;
                            r.bytes(usize::try_from(len).map_err(|_| Truncated)?)?;
                        }
                        T_NULL => {}
                        _ => return Err(Truncated),
                    }
                }
            }
            T_NULL if n == 0 => {}
            _ => return Err(Truncated),
        }
        Ok(())
    }

    pub fn decode(r: &mut Reader<'_>, n: usize) -> Result<ColData, Truncated> {
        Ok(match r.u8()? {
            T_FLOAT => ColData::Float(r.floats(n)?),
            T_INT => ColData::Int(r.deltas(n)?),
            T_BOOL => ColData::Bool(r.bytes(n)?.iter().map(|b| *b != 0).collect()),
            T_STR => ColData::Str((0..n).map(|_| r.text()).collect::<Result<_, _>>()?),
            T_JSON => ColData::Json((0..n).map(|_| r.text()).collect::<Result<_, _>>()?),
            T_MIXED => {
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    v.push(match r.u8()? {
                        T_FLOAT => Value::Float(f64::from_le_bytes(r.bytes(8)?.try_into().unwrap())),
                        T_INT => Value::Int(super::codec::unzigzag(r.varint()?)),
                        T_BOOL => Value::Bool(r.u8()? != 0),
                        T_STR => Value::Str(r.text()?),
                        T_JSON => Value::Json(r.text()?),
                        T_NULL => Value::Null,
                        _ => return Err(Truncated),
                    });
                }
                ColData::Mixed(v)
            }
            T_NULL if n == 0 => ColData::Float(Vec::new()),
            _ => return Err(Truncated),
        })
    }
}

impl ColData {
    /// The values at `idx`, in that order.
    #[must_use]
    pub fn gather(&self, idx: &[usize]) -> ColData {
        match self {
            ColData::Float(v) => ColData::Float(idx.iter().map(|&i| v[i]).collect()),
            ColData::Int(v) => ColData::Int(idx.iter().map(|&i| v[i]).collect()),
            ColData::Bool(v) => ColData::Bool(idx.iter().map(|&i| v[i]).collect()),
            ColData::Str(v) => ColData::Str(idx.iter().map(|&i| v[i].clone()).collect()),
            ColData::Json(v) => ColData::Json(idx.iter().map(|&i| v[i].clone()).collect()),
            ColData::Mixed(v) => ColData::Mixed(idx.iter().map(|&i| v[i].clone()).collect()),
        }
    }
}
