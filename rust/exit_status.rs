//! The process's true exit status for runs finished at interpreter exit.
//!
//! Python cannot see the status it exits with (`raise SystemExit(3)`, a caught `sys.exit(2)`
//! followed by a normal end): its `atexit` handlers run before it is decided. The C library's
//! `exit()` knows it. turbotrack registers [`on_exit_hook`] with glibc's `on_exit` (from
//! Python, through ctypes, where the C library has it: `_core.ON_EXIT_HOOK` is its address, so
//! no symbol needs exporting and nothing here is `unsafe`) after finishing the forgotten runs, and
//! leaves in `$TURBOTRACK_EXIT_FIX` what to write when the status differs from the one it
//! recorded: each run file's content for a clean end and for a failure.

use std::ffi::{c_int, c_void};
use std::path::PathBuf;

use crate::fsutil::atomic_write;

/// The environment variable that holds the corrections (see [`corrections`]).
pub const ENV: &str = "TURBOTRACK_EXIT_FIX";
/// Where a failed run's JSON takes the exit status.
pub const CODE: &str = "\"__TURBOTRACK_EXIT_CODE__\"";

/// Called by `exit()` with the process's status; rewrites run files whose recorded status differs.
/// A panic here would abort the exiting process: it is caught, and the files stay as recorded.
pub extern "C" fn on_exit_hook(status: c_int, _arg: *mut c_void) {
    let _ = std::panic::catch_unwind(|| {
        if let Ok(spec) = std::env::var(ENV) {
            for (path, data) in corrections(&spec, status) {
                let _ = atomic_write(&path, data.as_bytes());
            }
        }
    });
}

/// The address of [`on_exit_hook`], for ctypes (`CFUNCTYPE(None, c_int, c_void_p)(address)`).
pub fn hook_address() -> usize {
    let hook: extern "C" fn(c_int, *mut c_void) = on_exit_hook;
    hook as usize
}

/// The files to rewrite for exit status `status`. `spec`: the status recorded, then for each run
/// three lines: the run file's path, its JSON for status 0, its JSON for a failure with [`CODE`]
/// where the status goes.
pub fn corrections(spec: &str, status: i32) -> Vec<(PathBuf, String)> {
    let mut lines = spec.lines();
    let recorded: Option<i32> = lines.next().and_then(|l| l.trim().parse().ok());
    if recorded.is_none_or(|r| r == status) {
        return Vec::new();
    }
    let rest: Vec<&str> = lines.collect();
    rest.chunks_exact(3)
        .map(|run| {
            let data = if status == 0 {
                run[1].to_owned()
            } else {
                run[2].replace(CODE, &status.to_string())
            };
            (PathBuf::from(run[0]), data)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_only_when_the_status_differs() {
        let spec = format!(
            "0\n/r/run.json\n{{\"state\":\"finished\",\"exit_code\":0}}\n{{\"state\":\"failed\",\"exit_code\":{CODE}}}"
        );
        assert!(corrections(&spec, 0).is_empty());
        let fixed = corrections(&spec, 3);
        assert_eq!(fixed.len(), 1);
        assert_eq!(fixed[0].0, PathBuf::from("/r/run.json"));
        assert_eq!(fixed[0].1, "{\"state\":\"failed\",\"exit_code\":3}");
        let back = corrections(&spec.replacen('0', "2", 1), 0);
        assert_eq!(back[0].1, "{\"state\":\"finished\",\"exit_code\":0}");
        assert!(corrections("garbage", 1).is_empty());
    }
}
