//! Metric names: the naming rule and what the policy does about it, the glob rule of
//! `define_metric`, and the interner that maps names to compact ids.
//!
//! A name is checked part by part: `.` and `/` separate parts, and each part must match
//! `^[_a-zA-Z][_a-zA-Z0-9]*$`.

use rustc_hash::FxHashMap;

use crate::error::{Error, Result};

/// What the policy does with a name that breaks the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamePolicy {
    Warn,
    Strict,
    Off,
}

impl NamePolicy {
    /// `settings={"metric_names": ...}`: "warn", "strict" or "off".
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "warn" => Ok(Self::Warn),
            "strict" => Ok(Self::Strict),
            "off" => Ok(Self::Off),
            _ => Err(Error::Value(format!(
                "metric_names must be \"warn\", \"strict\" or \"off\", got {s:?}"
            ))),
        }
    }
}

/// `define_metric`'s name: a metric name, or a glob with one `*` at its end (`"train/*"`, `"*"`).
/// Returns the glob's prefix (`None` for a plain name).
pub fn parse_glob(pattern: &str) -> Result<Option<&str>> {
    // By characters, never by bytes: names are any Unicode ("损失", "accuracy_é").
    let prefix = pattern.strip_suffix('*');
    if pattern.is_empty() || prefix.unwrap_or(pattern).contains('*') {
        return Err(Error::Value(format!(
            "define_metric name {pattern:?} is not valid: give a metric name, or a glob with '*' at its end only (\"train/*\", \"*\")"
        )));
    }
    Ok(prefix)
}

/// Whether `name` matches `pattern` (checked by [`parse_glob`]): `Some(true)` through a glob,
/// `Some(false)` by being the same name, `None` not at all.
pub fn glob_match(pattern: &str, name: &str) -> Option<bool> {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix).then_some(true),
        None => (name == pattern).then_some(false),
    }
}

/// Keys every row carries; a logged metric cannot use them.
pub const RESERVED: [&str; 5] = ["_step", "_timestamp", "_runtime", "_rank", "_pid"];

/// The rule, for error messages.
pub const NAME_RULE: &str =
    "each part of a metric name (parts are separated by '/' or '.') must match ^[_a-zA-Z][_a-zA-Z0-9]*$";

/// `None` when `name` follows the rule, else why not.
pub fn check_name(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("the name is empty".into());
    }
    for part in name.split(['/', '.']) {
        let mut chars = part.chars();
        match chars.next() {
            None => return Some("it has an empty part".into()),
            Some(c) if c == '_' || c.is_ascii_alphabetic() => {}
            Some(c) => return Some(format!("part {part:?} starts with {c:?}")),
        }
        if let Some(c) = chars.find(|c| !(*c == '_' || c.is_ascii_alphanumeric())) {
            return Some(format!("part {part:?} contains {c:?}"));
        }
    }
    None
}

/// Interned names with their rule check, looked up by content.
#[derive(Default)]
pub struct Interner {
    ids: FxHashMap<Box<str>, u32>,
    names: Vec<Box<str>>,
    /// Why each name breaks the rule (`None`: it does not).
    invalid: Vec<Option<Box<str>>>,
    reserved: Vec<bool>,
    warned: Vec<bool>,
}

impl Interner {
    pub fn get(&self, name: &str) -> Option<u32> {
        self.ids.get(name).copied()
    }

    /// The id of `name`, and whether it is new.
    pub fn intern(&mut self, name: &str) -> (u32, bool) {
        if let Some(&id) = self.ids.get(name) {
            return (id, false);
        }
        let id = self.names.len() as u32;
        self.ids.insert(name.into(), id);
        self.names.push(name.into());
        self.invalid.push(check_name(name).map(Into::into));
        self.reserved.push(RESERVED.contains(&name));
        self.warned.push(false);
        (id, true)
    }

    pub fn name(&self, id: u32) -> &str {
        &self.names[id as usize]
    }

    /// Whether the name is one of the keys every row carries (`RESERVED`).
    pub fn is_reserved(&self, id: u32) -> bool {
        self.reserved[id as usize]
    }

    pub fn invalid_reason(&self, id: u32) -> Option<&str> {
        self.invalid[id as usize].as_deref()
    }

    /// True the first time it is asked for `id` (one warning per offending name).
    pub fn take_warning(&mut self, id: u32) -> bool {
        !std::mem::replace(&mut self.warned[id as usize], true)
    }

    /// What `policy` does about the name of `id` being logged: `Err` refuses the call (a reserved
    /// name; a name that breaks the rule under "strict"), `Ok(Some(warning))` the first time a
    /// name breaks the rule under "warn", else `Ok(None)`.
    #[inline]
    pub fn judge(&mut self, id: u32, policy: NamePolicy) -> Result<Option<String>> {
        if self.is_reserved(id) {
            return Err(Error::Value(format!(
                "{:?} is a key every row carries and cannot be logged; use another name (the step is log()'s step= argument). Nothing of this log() call was recorded",
                self.name(id)
            )));
        }
        if policy == NamePolicy::Off {
            return Ok(None);
        }
        let Some(why) = self.invalid_reason(id) else {
            return Ok(None);
        };
        let name = self.name(id);
        match policy {
            NamePolicy::Strict => Err(Error::Value(format!(
                "invalid metric name {name:?}: {why}; {NAME_RULE}. Nothing of this log() call was recorded (settings={{\"metric_names\": \"warn\"}} logs such names with a warning)"
            ))),
            // Warned once: later calls build no message.
            _ if self.warned[id as usize] => Ok(None),
            _ => {
                let msg = format!(
                    "metric name {name:?} breaks the naming rule: {why}; {NAME_RULE}. It is logged anyway (settings={{\"metric_names\": \"strict\"}} refuses such names, \"off\" silences this)"
                );
                self.warned[id as usize] = true;
                Ok(Some(msg))
            }
        }
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule() {
        for ok in ["loss", "train/loss", "a.b", "_x", "A1/b_2.c3", "_"] {
            assert_eq!(check_name(ok), None, "{ok}");
        }
        for bad in ["", "train/1st", "a//b", "loss-rate", "a.", "/a", "1", "é", "a b"] {
            assert!(check_name(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn interner_is_stable() {
        let mut i = Interner::default();
        assert_eq!(i.intern("a"), (0, true));
        assert_eq!(i.intern("b/1"), (1, true));
        assert_eq!(i.intern("a"), (0, false));
        assert_eq!(i.name(1), "b/1");
        assert!(i.invalid_reason(1).is_some());
        assert!(i.take_warning(1));
        let (step, _) = i.intern("_step");
        assert!(!i.is_reserved(0) && i.is_reserved(step));
        assert!(!i.take_warning(1));
    }
}
