//! A logged value, as it crosses from the caller's thread to the writer.

/// One typed value. `Json` holds lists and rich objects (histograms, tables, images) as JSON
/// text; `Null` is a logged `None`.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Float(f64),
    Int(i64),
    Bool(bool),
    Str(String),
    Json(String),
    Null,
}

impl Value {
    /// The value as a number for min/max/mean/best, if it is one (bools and text are not).
    #[inline]
    pub fn as_number(&self) -> Option<f64> {
        match self {
            Value::Float(f) => Some(*f),
            Value::Int(i) => Some(*i as f64),
            _ => None,
        }
    }

    /// Append the value as JSON text (NaN and infinities as Python's `json` writes them).
    pub fn write_json(&self, out: &mut String) {
        match self {
            Value::Float(f) => write_f64(*f, out),
            Value::Int(i) => out.push_str(&i.to_string()),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Str(s) => write_str(s, out),
            Value::Json(j) => out.push_str(j),
            Value::Null => out.push_str("null"),
        }
    }
}

/// A float as JSON that Python reads back as a float: `2.0`, `1e300`, `NaN`, `-Infinity`.
pub fn write_f64(f: f64, out: &mut String) {
    if f.is_nan() {
        out.push_str("NaN");
    } else if f.is_infinite() {
        out.push_str(if f > 0.0 { "Infinity" } else { "-Infinity" });
    } else {
        out.push_str(ryu::Buffer::new().format_finite(f));
    }
}

/// A JSON string literal.
pub fn write_str(s: &str, out: &mut String) {
    use std::fmt::Write;
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(v: &Value) -> String {
        let mut s = String::new();
        v.write_json(&mut s);
        s
    }

    #[test]
    fn floats_stay_floats() {
        assert_eq!(json(&Value::Float(2.0)), "2.0");
        assert_eq!(json(&Value::Float(1e300)), "1e300");
        assert_eq!(json(&Value::Float(f64::NAN)), "NaN");
        assert_eq!(json(&Value::Float(f64::NEG_INFINITY)), "-Infinity");
        assert_eq!(json(&Value::Float(0.1)), "0.1");
        assert_eq!(json(&Value::Null), "null");
    }

    #[test]
    fn strings_are_escaped() {
        assert_eq!(json(&Value::Str("a\"b\\\n\u{1}é".into())), "\"a\\\"b\\\\\\n\\u0001é\"");
    }
}
