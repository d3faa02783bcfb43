//! When the writer seals a block: named presets (as rerun's `ChunkBatcherConfig`) and their
//! environment overrides.

use std::time::Duration;

use crate::error::{Error, Result};
use crate::format::block::MAX_BLOCK;

/// Batching limits: the open block is sealed and handed to the sink at whichever comes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batching {
    /// Seal at least this often (the durability bound: a SIGKILL loses at most this much).
    pub flush_interval: Duration,
    /// Seal once the block holds this many rows.
    pub block_rows: usize,
    /// Seal once the block's rows take about this many bytes (before compression).
    pub block_bytes: usize,
}

impl Batching {
    /// Preset (`default`, `always`, `never`).
    pub const ENV_BATCHING: &'static str = "TURBOTRACK_BATCHING";
    /// Seconds between seals (a float); `settings={"flush_interval": s}` wins over it.
    pub const ENV_FLUSH_INTERVAL: &'static str = "TURBOTRACK_FLUSH_INTERVAL";
    pub const ENV_BLOCK_ROWS: &'static str = "TURBOTRACK_BLOCK_ROWS";
    pub const ENV_BLOCK_BYTES: &'static str = "TURBOTRACK_BLOCK_BYTES";

    /// Blocks big enough to compress well, small enough to bound memory (a few MB), sealed at
    /// least every second.
    pub const DEFAULT: Self = Self {
        flush_interval: Duration::from_secs(1),
        block_rows: 16_384,
        block_bytes: 4 << 20,
    };

    /// Seal every row as it is committed: the lowest latency to the file (and to an uploader),
    /// one compressed block and one `write()` per row. summary.json is still written once a second.
    pub const ALWAYS: Self = Self {
        block_rows: 1,
        block_bytes: 1,
        ..Self::DEFAULT
    };

    /// Never seal on time: only when a block is full (the size limits bound memory) and at
    /// flush/finish. Fewest, best-compressed blocks; a SIGKILL loses the open block.
    pub const NEVER: Self = Self {
        flush_interval: Duration::MAX,
        ..Self::DEFAULT
    };

    /// The preset named by `$TURBOTRACK_BATCHING` (else `DEFAULT`), with
    /// `$TURBOTRACK_FLUSH_INTERVAL`, `$TURBOTRACK_BLOCK_ROWS` and `$TURBOTRACK_BLOCK_BYTES` applied.
    pub fn from_env() -> Result<Self> {
        Self::from_vars(|k| std::env::var(k).ok())
    }

    /// [`Batching::from_env`] over any source of variables (tests).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let bad = |k: &str, v: &str, want: &str| Error::Value(format!("${k}={v:?} is not valid: {want}"));
        let mut b = match var(Self::ENV_BATCHING).as_deref().map(str::trim) {
            None | Some("" | "default") => Self::DEFAULT,
            Some("always") => Self::ALWAYS,
            Some("never") => Self::NEVER,
            Some(v) => return Err(bad(Self::ENV_BATCHING, v, "use default, always or never")),
        };
        if let Some(v) = var(Self::ENV_FLUSH_INTERVAL) {
            b.flush_interval = parse_seconds(&v)
                .ok_or_else(|| bad(Self::ENV_FLUSH_INTERVAL, &v, "give a positive number of seconds"))?;
        }
        for (k, field) in [
            (Self::ENV_BLOCK_ROWS, &mut b.block_rows),
            (Self::ENV_BLOCK_BYTES, &mut b.block_bytes),
        ] {
            if let Some(v) = var(k) {
                *field = v
                    .trim()
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| bad(k, &v, "give a positive whole number"))?;
            }
        }
        if b.block_bytes > MAX_BLOCK / 4 {
            // A block must stay well under what readers accept (one row may add MAX_ROW_BYTES).
            let v = b.block_bytes.to_string();
            return Err(bad(
                Self::ENV_BLOCK_BYTES,
                &v,
                &format!("give at most {} bytes", MAX_BLOCK / 4),
            ));
        }
        Ok(b)
    }

    /// The same limits, sealing at least every `seconds` (what `settings` gives).
    pub fn with_flush_interval(self, seconds: f64) -> Result<Self> {
        if !(seconds > 0.0 && seconds.is_finite()) {
            return Err(Error::Value(
                "flush_interval must be a positive number of seconds".into(),
            ));
        }
        let flush_interval = Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX);
        Ok(Self { flush_interval, ..self })
    }

    /// The first backoff after a failed write: the flush interval, within 10 ms .. 30 s.
    pub fn retry_interval(&self) -> Duration {
        self.flush_interval
            .clamp(Duration::from_millis(10), Duration::from_secs(30))
    }
}

impl Default for Batching {
    fn default() -> Self {
        Self::DEFAULT
    }
}

fn parse_seconds(v: &str) -> Option<Duration> {
    let s: f64 = v.trim().parse().ok()?;
    (s > 0.0 && s.is_finite()).then(|| Duration::try_from_secs_f64(s).unwrap_or(Duration::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| (*v).to_owned())
    }

    #[test]
    fn presets_and_overrides() {
        assert_eq!(Batching::from_vars(env(&[])).unwrap(), Batching::DEFAULT);
        assert_eq!(
            Batching::from_vars(env(&[("TURBOTRACK_BATCHING", "always")])).unwrap(),
            Batching::ALWAYS
        );
        let b = Batching::from_vars(env(&[
            ("TURBOTRACK_BATCHING", "never"),
            ("TURBOTRACK_BLOCK_ROWS", "100"),
        ]))
        .unwrap();
        assert_eq!((b.flush_interval, b.block_rows), (Duration::MAX, 100));
        let b = Batching::from_vars(env(&[("TURBOTRACK_FLUSH_INTERVAL", "0.25")])).unwrap();
        assert_eq!(b.flush_interval, Duration::from_millis(250));
        assert_eq!(
            b.with_flush_interval(2.0).unwrap().flush_interval,
            Duration::from_secs(2)
        );
        for bad in [
            ("TURBOTRACK_BATCHING", "sometimes"),
            ("TURBOTRACK_FLUSH_INTERVAL", "-1"),
            ("TURBOTRACK_BLOCK_BYTES", "lots"),
            ("TURBOTRACK_BLOCK_BYTES", "1073741824"), // blocks readers would refuse
        ] {
            let e = Batching::from_vars(env(&[bad])).unwrap_err().to_string();
            assert!(e.contains(bad.0), "{e}");
        }
        assert!(Batching::DEFAULT.with_flush_interval(f64::NAN).is_err());
    }
}
