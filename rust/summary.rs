//! Streaming summaries: per metric min/max/mean/first/last/best, kept as rows are committed,
//! shaped by `define_metric` definitions (exact names and `prefix*` globs) and hand-set overrides.

use crate::error::{Error, Result};
use crate::value::{write_f64, write_str, Value};

/// The summary words of `define_metric(summary=...)` as bit flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ops(u8);

impl Ops {
    pub const MIN: Ops = Ops(1);
    pub const MAX: Ops = Ops(2);
    pub const MEAN: Ops = Ops(4);
    pub const FIRST: Ops = Ops(8);
    pub const LAST: Ops = Ops(16);
    pub const BEST: Ops = Ops(32);
    pub const NONE: Ops = Ops(64);
    const WORDS: [(&'static str, Ops); 7] = [
        ("min", Ops::MIN),
        ("max", Ops::MAX),
        ("mean", Ops::MEAN),
        ("first", Ops::FIRST),
        ("last", Ops::LAST),
        ("best", Ops::BEST),
        ("none", Ops::NONE),
    ];

    pub fn has(self, o: Ops) -> bool {
        self.0 & o.0 != 0
    }

    /// Parse `"min,max"`-style text (spaces allowed; an empty string means none given).
    pub fn parse(text: &str) -> Result<Ops> {
        let mut ops = Ops(0);
        for word in text.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            let Some((_, o)) = Ops::WORDS.iter().find(|(w, _)| w.eq_ignore_ascii_case(word)) else {
                return Err(Error::Value(format!(
                    "unknown summary {word:?} in define_metric(summary={text:?}); use one or more of min, max, mean, first, last, best, none, separated by commas"
                )));
            };
            ops.0 |= o.0;
        }
        Ok(ops)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Objective {
    Minimize,
    Maximize,
}

impl Objective {
    pub fn parse(text: &str) -> Result<Objective> {
        match text.to_ascii_lowercase().as_str() {
            "minimize" | "min" => Ok(Objective::Minimize),
            "maximize" | "max" => Ok(Objective::Maximize),
            _ => Err(Error::Value(format!(
                "objective (or goal) must be \"minimize\" or \"maximize\", got {text:?}"
            ))),
        }
    }
}

/// One `define_metric` call, checked on the caller's thread.
#[derive(Debug, Clone)]
pub struct MetricDef {
    /// The name, or a glob ending in `*`.
    pub name: String,
    pub step_metric: Option<u32>,
    pub step_sync: bool,
    pub hidden: bool,
    pub ops: Option<Ops>,
    pub objective: Option<Objective>,
}

impl MetricDef {
    /// Check the arguments: summary words, and `best` needing an objective.
    pub fn new(name: &str, summary: Option<&str>, objective: Option<&str>) -> Result<Self> {
        crate::names::parse_glob(name)?;
        let ops = summary.map(Ops::parse).transpose()?.filter(|o| o.0 != 0);
        let objective = objective.map(Objective::parse).transpose()?;
        if ops.is_some_and(|o| o.has(Ops::BEST)) && objective.is_none() {
            return Err(Error::Value(format!(
                "define_metric({name:?}, summary=\"best\") needs objective=\"minimize\" or \"maximize\" (or goal=)"
            )));
        }
        Ok(Self {
            name: name.to_owned(),
            step_metric: None,
            step_sync: false,
            hidden: false,
            ops,
            objective,
        })
    }

    fn matches(&self, name: &str) -> Option<bool> {
        crate::names::glob_match(&self.name, name)
    }
}

/// Running statistics of one metric.
#[derive(Debug, Clone)]
struct Stats {
    /// Numbers seen that were not NaN.
    n: u64,
    /// Numbers seen at all (NaN included).
    numbers: u64,
    sum: f64,
    compensation: f64,
    min: f64,
    min_step: i64,
    max: f64,
    max_step: i64,
    /// Exact extremes while every number is an int (f64 cannot tell 2**62+1 from 2**62+3).
    int_min: i64,
    int_min_step: i64,
    int_max: i64,
    int_max_step: i64,
    all_int: bool,
    /// The first value logged (a null too).
    first: Value,
    /// The last value logged that was not a null (`Null` while there was none).
    last: Value,
    /// Whether the last value logged was a null (`last` then is the one before it).
    last_null: bool,
}

impl Stats {
    fn new(v: &Value) -> Self {
        Stats {
            n: 0,
            numbers: 0,
            sum: 0.0,
            compensation: 0.0,
            min: f64::NAN,
            min_step: 0,
            max: f64::NAN,
            max_step: 0,
            int_min: 0,
            int_min_step: 0,
            int_max: 0,
            int_max_step: 0,
            all_int: true,
            first: v.clone(),
            last: v.clone(),
            last_null: false,
        }
    }

    fn observe(&mut self, v: &Value, step: i64) {
        self.last_null = matches!(v, Value::Null);
        if self.last_null {
            return;
        }
        self.last.clone_from(v);
        let Some(x) = v.as_number() else { return };
        self.numbers += 1;
        match *v {
            Value::Int(i) if self.all_int => {
                if self.n == 0 || i < self.int_min {
                    self.int_min = i;
                    self.int_min_step = step;
                }
                if self.n == 0 || i > self.int_max {
                    self.int_max = i;
                    self.int_max_step = step;
                }
            }
            Value::Int(_) => {}
            _ => self.all_int = false,
        }
        if x.is_nan() {
            return;
        }
        if self.n == 0 || x < self.min {
            self.min = x;
            self.min_step = step;
        }
        if self.n == 0 || x > self.max {
            self.max = x;
            self.max_step = step;
        }
        self.n += 1;
        // Neumaier summation: the mean of millions of values stays exact to the last bits.
        let t = self.sum + x;
        if self.sum.abs() >= x.abs() {
            self.compensation += (self.sum - t) + x;
        } else {
            self.compensation += (x - t) + self.sum;
        }
        self.sum = t;
    }

    fn mean(&self) -> f64 {
        if self.n == 0 {
            f64::NAN
        } else {
            (self.sum + self.compensation) / self.n as f64
        }
    }

    /// The smallest number and its step: exact while every number is an int.
    fn min(&self, out: &mut String) -> i64 {
        self.write_extreme(self.int_min, self.min, out);
        if self.all_int {
            self.int_min_step
        } else {
            self.min_step
        }
    }

    /// The largest number and its step: exact while every number is an int.
    fn max(&self, out: &mut String) -> i64 {
        self.write_extreme(self.int_max, self.max, out);
        if self.all_int {
            self.int_max_step
        } else {
            self.max_step
        }
    }

    fn write_extreme(&self, int: i64, x: f64, out: &mut String) {
        if self.all_int && self.n > 0 {
            out.push_str(&int.to_string());
        } else {
            write_f64(x, out);
        }
    }
}

/// The summary of one stream of rows.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    stats: Vec<Option<Stats>>,
    order: Vec<u32>,
    defs: Vec<MetricDef>,
    resolved: Vec<Option<Option<u32>>>,
    overrides: Vec<(String, Option<String>)>,
    overridden: Vec<bool>,
    last_step: Option<i64>,
    last_timestamp: f64,
    start_time: f64,
}

impl Summary {
    pub fn new(start_time: f64) -> Self {
        Self {
            start_time,
            ..Self::default()
        }
    }

    /// Add a definition; a later definition of the same name replaces the earlier one.
    pub fn define(&mut self, def: MetricDef) {
        self.defs.retain(|d| d.name != def.name);
        self.defs.push(def);
        self.resolved.clear();
    }

    /// Whether any definition fills a step metric into rows (`step_sync`).
    pub fn syncs_steps(&self) -> bool {
        self.defs.iter().any(|d| d.step_sync && d.step_metric.is_some())
    }

    /// The definition that applies to metric `id` named `name`: an exact one, else the most
    /// specific (longest) matching glob, the later one on ties.
    pub fn def_for(&mut self, id: u32, name: &str) -> Option<&MetricDef> {
        let i = id as usize;
        if i >= self.resolved.len() {
            self.resolved.resize(i + 1, None);
        }
        let found = *self.resolved[i].get_or_insert_with(|| {
            let mut glob: Option<(usize, u32)> = None;
            for (k, d) in self.defs.iter().enumerate() {
                match d.matches(name) {
                    Some(false) => return Some(k as u32),
                    Some(true) if glob.is_none_or(|(len, _)| d.name.len() >= len) => {
                        glob = Some((d.name.len(), k as u32));
                    }
                    _ => {}
                }
            }
            glob.map(|(_, k)| k)
        });
        found.map(|k| &self.defs[k as usize])
    }

    /// The last value logged for metric `id` that was not a null.
    pub fn last(&self, id: u32) -> Option<&Value> {
        let s = self.stats.get(id as usize)?.as_ref()?;
        (!matches!(s.last, Value::Null)).then_some(&s.last)
    }

    /// Fold one committed value in. A hand-set value of the metric gives way to it, and what was
    /// aggregated before the value was set is dropped (CONTRACT: "the previous value is lost"): the
    /// aggregation starts again from this value.
    pub fn observe(&mut self, id: u32, name: &str, v: &Value, step: i64) {
        let i = id as usize;
        if i >= self.stats.len() {
            self.stats.resize(i + 1, None);
        }
        if self.overridden.get(i).copied().unwrap_or(false) {
            if let Some(s) = self.stats[i].as_mut() {
                *s = Stats::new(v);
            }
        }
        match &mut self.stats[i] {
            Some(s) => s.observe(v, step),
            slot @ None => {
                let mut s = Stats::new(v);
                s.observe(v, step);
                *slot = Some(s);
                self.order.push(id);
            }
        }
        if self.overridden.get(i).copied().unwrap_or(false) {
            self.overridden[i] = false;
            self.overrides.retain(|(k, _)| k != name);
        }
    }

    /// Note a committed row's step and time.
    pub fn row_committed(&mut self, step: i64, timestamp: f64) {
        self.last_step = Some(step);
        self.last_timestamp = timestamp;
    }

    /// Set (`Some` JSON text) or hide (`None`) the summary value of `key` by hand.
    pub fn set_override(&mut self, key: &str, id: Option<u32>, json: Option<String>) {
        self.overrides.retain(|(k, _)| k != key);
        self.overrides.push((key.to_owned(), json));
        if let Some(id) = id {
            let i = id as usize;
            if i >= self.overridden.len() {
                self.overridden.resize(i + 1, false);
            }
            self.overridden[i] = true;
        }
    }

    /// A metric id got its name: a value set by hand under that name gives way to its first log.
    pub fn name_added(&mut self, id: u32, name: &str) {
        if self.overrides.iter().any(|(k, _)| k == name) {
            let i = id as usize;
            if i >= self.overridden.len() {
                self.overridden.resize(i + 1, false);
            }
            self.overridden[i] = true;
        }
    }

    /// The summary as a JSON object (NaN and infinities as Python's `json` writes them).
    pub fn render<'n>(&mut self, name: impl Fn(u32) -> &'n str) -> String {
        let mut out = String::from("{");
        let mut first = true;
        let mut key = |out: &mut String, k: &str| {
            if !std::mem::replace(&mut first, false) {
                out.push_str(", ");
            }
            write_str(k, out);
            out.push_str(": ");
        };
        for idx in 0..self.order.len() {
            let id = self.order[idx];
            let n = name(id);
            if self.overridden.get(id as usize).copied().unwrap_or(false) {
                continue;
            }
            let ops = self.def_for(id, n).and_then(|d| d.ops.map(|o| (o, d.objective)));
            let s = self.stats[id as usize].as_ref().expect("ordered metrics have stats");
            match ops {
                Some((o, _)) if o.has(Ops::NONE) => {}
                Some((o, objective)) => {
                    key(&mut out, n);
                    write_ops(s, o, objective, &mut out);
                }
                // A metric logged only as null is not in the summary (as wandb's).
                None if matches!(s.last, Value::Null) => {}
                None => {
                    key(&mut out, n);
                    s.last.write_json(&mut out);
                }
            }
        }
        for (k, v) in &self.overrides {
            if let Some(v) = v {
                key(&mut out, k);
                out.push_str(v);
            }
        }
        if let Some(step) = self.last_step {
            key(&mut out, "_step");
            out.push_str(&step.to_string());
            key(&mut out, "_runtime");
            write_f64(self.last_timestamp - self.start_time, &mut out);
            key(&mut out, "_timestamp");
            write_f64(self.last_timestamp, &mut out);
        }
        out.push('}');
        out
    }
}

fn write_ops(s: &Stats, o: Ops, objective: Option<Objective>, out: &mut String) {
    let numeric = s.numbers > 0;
    let mut parts: Vec<(&str, String)> = Vec::new();
    if numeric && o.has(Ops::MIN) {
        let mut t = String::new();
        s.min(&mut t);
        parts.push(("min", t));
    }
    if numeric && o.has(Ops::MAX) {
        let mut t = String::new();
        s.max(&mut t);
        parts.push(("max", t));
    }
    if numeric && o.has(Ops::MEAN) {
        let mut t = String::new();
        write_f64(s.mean(), &mut t);
        parts.push(("mean", t));
    }
    if o.has(Ops::FIRST) {
        let mut t = String::new();
        s.first.write_json(&mut t);
        parts.push(("first", t));
    }
    if o.has(Ops::LAST) {
        let mut t = String::new();
        if s.last_null {
            t.push_str("null");
        } else {
            s.last.write_json(&mut t);
        }
        parts.push(("last", t));
    }
    if numeric && o.has(Ops::BEST) {
        let mut best = String::new();
        let step = match objective {
            Some(Objective::Maximize) => s.max(&mut best),
            _ => s.min(&mut best),
        };
        parts.push(("best", best));
        if s.n > 0 {
            parts.push(("best_step", step.to_string()));
        }
    }
    out.push('{');
    for (i, (k, v)) in parts.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_str(k, out);
        out.push_str(": ");
        out.push_str(v);
    }
    out.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: [&str; 3] = ["loss", "acc", "text"];

    fn name(id: u32) -> &'static str {
        NAMES[id as usize]
    }

    #[test]
    fn default_is_last_and_ops_make_dicts() {
        let mut s = Summary::new(100.0);
        for (step, x) in [3.0, 1.0, f64::NAN, 1.0, 2.0].into_iter().enumerate() {
            s.observe(0, "loss", &Value::Float(x), step as i64);
            s.observe(1, "acc", &Value::Int(step as i64), step as i64);
            s.row_committed(step as i64, 101.0 + step as f64);
        }
        assert_eq!(
            s.render(name),
            r#"{"loss": 2.0, "acc": 4, "_step": 4, "_runtime": 5.0, "_timestamp": 105.0}"#
        );
        let mut d = MetricDef::new("loss", Some("min,max,mean,first,last,best"), Some("minimize")).unwrap();
        d.step_sync = false;
        s.define(d);
        s.define(MetricDef::new("a*", Some("max"), None).unwrap());
        assert_eq!(
            s.render(name),
            r#"{"loss": {"min": 1.0, "max": 3.0, "mean": 1.75, "first": 3.0, "last": 2.0, "best": 1.0, "best_step": 1}, "acc": {"max": 4}, "_step": 4, "_runtime": 5.0, "_timestamp": 105.0}"#
        );
    }

    #[test]
    fn only_nan_gives_nan_and_none_hides() {
        let mut s = Summary::new(0.0);
        s.observe(0, "loss", &Value::Float(f64::NAN), 0);
        s.observe(2, "text", &Value::Str("hi".into()), 0);
        s.define(MetricDef::new("loss", Some("min,best,last"), Some("maximize")).unwrap());
        s.define(MetricDef::new("text", Some("none"), None).unwrap());
        assert_eq!(s.render(name), r#"{"loss": {"min": NaN, "last": NaN, "best": NaN}}"#);
    }

    #[test]
    fn overrides_give_way_to_later_logs() {
        let mut s = Summary::new(0.0);
        s.observe(0, "loss", &Value::Float(1.0), 0);
        s.set_override("loss", Some(0), Some("0.5".into()));
        s.set_override("best", None, Some("[1, 2]".into()));
        assert_eq!(s.render(name), r#"{"loss": 0.5, "best": [1, 2]}"#);
        s.observe(0, "loss", &Value::Float(3.0), 1);
        assert_eq!(s.render(name), r#"{"loss": 3.0, "best": [1, 2]}"#);
    }

    #[test]
    fn a_hand_set_value_drops_what_was_aggregated_before_it() {
        let mut s = Summary::new(0.0);
        s.define(MetricDef::new("loss", Some("min,max"), None).unwrap());
        for (step, x) in [1.0, 5.0].into_iter().enumerate() {
            s.observe(0, "loss", &Value::Float(x), step as i64);
        }
        s.set_override("loss", Some(0), Some("10".into()));
        assert_eq!(s.render(name), r#"{"loss": 10}"#);
        s.observe(0, "loss", &Value::Float(3.0), 2);
        assert_eq!(s.render(name), r#"{"loss": {"min": 3.0, "max": 3.0}}"#);
        s.observe(0, "loss", &Value::Float(4.0), 3);
        assert_eq!(s.render(name), r#"{"loss": {"min": 3.0, "max": 4.0}}"#);
    }

    /// As wandb's: the default summary is the last value that was not None (a metric logged only
    /// as None is left out); min/max/mean/best skip None; first and last are as logged.
    #[test]
    fn nulls_are_skipped_but_first_and_last_keep_them() {
        let mut s = Summary::new(0.0);
        for (step, v) in [Value::Null, Value::Float(2.0), Value::Float(1.0), Value::Null]
            .into_iter()
            .enumerate()
        {
            s.observe(0, "loss", &v, step as i64);
            s.observe(2, "text", &Value::Null, step as i64);
        }
        assert_eq!(s.last(0), Some(&Value::Float(1.0)));
        assert_eq!(s.last(2), None);
        assert_eq!(s.render(name), r#"{"loss": 1.0}"#);
        s.define(MetricDef::new("loss", Some("min,max,mean,first,last,best"), Some("maximize")).unwrap());
        s.define(MetricDef::new("text", Some("min,last"), None).unwrap());
        assert_eq!(
            s.render(name),
            r#"{"loss": {"min": 1.0, "max": 2.0, "mean": 1.5, "first": null, "last": null, "best": 2.0, "best_step": 1}, "text": {"last": null}}"#
        );
        s.observe(0, "loss", &Value::Int(7), 4);
        assert!(s.render(name).contains(r#""last": 7"#));
    }

    #[test]
    fn int_extremes_are_exact() {
        let mut s = Summary::new(0.0);
        let (a, b) = ((1_i64 << 62) + 1, (1_i64 << 62) + 3);
        s.observe(0, "loss", &Value::Int(b), 0);
        s.observe(0, "loss", &Value::Int(a), 1);
        s.observe(0, "loss", &Value::Int(b), 2);
        s.observe(1, "acc", &Value::Int(i64::MAX), 0);
        s.observe(1, "acc", &Value::Int(i64::MAX - 1), 1);
        s.define(MetricDef::new("loss", Some("min,max,best"), Some("maximize")).unwrap());
        s.define(MetricDef::new("acc", Some("min,max,best"), Some("minimize")).unwrap());
        assert_eq!(
            s.render(name),
            format!(
                r#"{{"loss": {{"min": {a}, "max": {b}, "best": {b}, "best_step": 0}}, "acc": {{"min": {}, "max": {}, "best": {}, "best_step": 1}}}}"#,
                i64::MAX - 1,
                i64::MAX,
                i64::MAX - 1
            )
        );
        // A float among the ints: the extremes are floats from then on.
        s.observe(0, "loss", &Value::Float(0.5), 3);
        assert!(s
            .render(name)
            .starts_with(r#"{"loss": {"min": 0.5, "max": 4.611686018427388e18"#));
    }

    #[test]
    fn names_are_checked_by_character() {
        for ok in ["accuracy_é", "损失", "损失*", "é*", "*", "a/b*"] {
            assert!(MetricDef::new(ok, None, None).is_ok(), "{ok}");
        }
        for bad in ["", "*a", "损*失", "é**"] {
            assert!(MetricDef::new(bad, None, None).is_err(), "{bad}");
        }
    }

    #[test]
    fn bad_definitions_are_refused() {
        assert!(MetricDef::new("x", Some("min,median"), None).is_err());
        assert!(MetricDef::new("x", Some("best"), None).is_err());
        assert!(MetricDef::new("x", Some("best"), Some("up")).is_err());
        assert!(MetricDef::new("x", Some("best"), Some("maximize")).is_ok());
    }
}
