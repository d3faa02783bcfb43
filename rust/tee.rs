//! The console tee: native threads that drain the pipes stdout and stderr were pointed at, pass
//! every byte on to the original descriptors, and keep `output.log` — without ever needing the
//! GIL, so native code that writes a lot while holding it (a `ctypes.PyDLL` call) cannot fill
//! the pipe and hang the process.
//!
//! `output.log` holds timestamped lines, `<UTC time> <stream> <text>`, with `\r` and `\b` moving a
//! cursor in the line as a terminal does (the format of `capture/outputlog.py`). At stop, a marker
//! written behind the last byte tells each reader where this process's output ends; after it the
//! reader only forwards (child processes may still hold the pipe) until end of file.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A line longer than this (characters, no newline yet) is stored in pieces of this size.
pub const MAX_LINE: usize = 1 << 20;
const READ_SIZE: usize = 1 << 16;

/// The pipe a stream is pointed at, made for `original`: a pseudo-terminal when `original` is a
/// terminal (so `isatty()` stays true and colours stay on; output post-processing off, so the
/// bytes reach the terminal unchanged, with its window size), else a pipe. Returns the end to
/// read and the end to write (that the caller points the stream at).
pub fn open_pair(original: impl AsFd) -> std::io::Result<(File, OwnedFd)> {
    if rustix::termios::isatty(&original) {
        if let Ok(pair) = open_pty(&original) {
            return Ok(pair);
        }
    }
    let (read, write) = rustix::pipe::pipe()?;
    for end in [&read, &write] {
        rustix::io::fcntl_setfd(end, rustix::io::FdFlags::CLOEXEC)?;
    }
    Ok((File::from(read), write))
}

fn open_pty(original: impl AsFd) -> rustix::io::Result<(File, OwnedFd)> {
    use rustix::fs::{Mode, OFlags};
    use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};
    use rustix::termios::{tcgetattr, tcgetwinsize, tcsetattr, tcsetwinsize, OptionalActions, OutputModes};
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)?;
    grantpt(&master)?;
    unlockpt(&master)?;
    let name = ptsname(&master, Vec::new())?;
    let slave = rustix::fs::open(
        name.as_c_str(),
        OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let mut attrs = tcgetattr(&slave)?;
    attrs.output_modes.remove(OutputModes::OPOST); // no \n -> \r\n
    tcsetattr(&slave, OptionalActions::Now, &attrs)?;
    if let Ok(size) = tcgetwinsize(&original) {
        let _ = tcsetwinsize(&slave, size);
    }
    Ok((File::from(master), slave))
}

/// One redirected stream: the pipe's read end, the original descriptor, and the end marker.
pub struct Stream {
    pub name: String,
    pub read: File,
    pub original: File,
    pub marker: Vec<u8>,
}

/// The line being written on one stream, and the bytes of a UTF-8 character not complete yet.
#[derive(Default)]
struct Line {
    chars: Vec<char>,
    cursor: usize,
    partial: Vec<u8>,
}

/// `output.log`: completed lines of every stream, appended.
pub struct LineLog {
    file: File,
    lines: Vec<(String, Line)>,
}

impl LineLog {
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Self {
            file,
            lines: Vec::new(),
        })
    }

    fn line(&mut self, stream: &str) -> usize {
        if let Some(i) = self.lines.iter().position(|(n, _)| n == stream) {
            return i;
        }
        self.lines.push((stream.to_owned(), Line::default()));
        self.lines.len() - 1
    }

    /// Add raw bytes written to `stream` (UTF-8 decoded across calls; bad bytes become U+FFFD).
    pub fn write(&mut self, stream: &str, data: &[u8]) -> std::io::Result<()> {
        let i = self.line(stream);
        let mut bytes = std::mem::take(&mut self.lines[i].1.partial);
        bytes.extend_from_slice(data);
        let mut text = String::with_capacity(bytes.len());
        let mut rest = &bytes[..];
        loop {
            match std::str::from_utf8(rest) {
                Ok(s) => {
                    text.push_str(s);
                    rest = &[];
                    break;
                }
                Err(e) => {
                    let (good, bad) = rest.split_at(e.valid_up_to());
                    text.push_str(std::str::from_utf8(good).unwrap_or_default());
                    match e.error_len() {
                        Some(n) => {
                            text.push(char::REPLACEMENT_CHARACTER);
                            rest = &bad[n..];
                        }
                        None => {
                            rest = bad; // an incomplete character at the end: wait for the rest
                            break;
                        }
                    }
                }
            }
        }
        self.lines[i].1.partial = rest.to_vec();
        let mut out = String::new();
        for c in text.chars() {
            let line = &mut self.lines[i].1;
            match c {
                '\n' => emit(&mut out, stream, line),
                '\r' => line.cursor = 0,
                '\u{8}' => line.cursor = line.cursor.saturating_sub(1),
                c => {
                    if line.cursor == line.chars.len() {
                        line.chars.push(c);
                    } else {
                        line.chars[line.cursor] = c;
                    }
                    line.cursor += 1;
                    if line.chars.len() >= MAX_LINE {
                        emit(&mut out, stream, line);
                    }
                }
            }
        }
        self.file.write_all(out.as_bytes())
    }

    /// Store what `stream` has left (an unfinished last line).
    pub fn end(&mut self, stream: &str) -> std::io::Result<()> {
        let i = self.line(stream);
        let line = &mut self.lines[i].1;
        if !line.partial.is_empty() {
            line.partial.clear();
            line.chars.push(char::REPLACEMENT_CHARACTER);
        }
        let mut out = String::new();
        if !line.chars.is_empty() {
            emit(&mut out, stream, line);
        }
        self.file.write_all(out.as_bytes())
    }
}

fn emit(out: &mut String, stream: &str, line: &mut Line) {
    out.push_str(&format_time(SystemTime::now()));
    out.push(' ');
    out.push_str(stream);
    out.push(' ');
    out.extend(line.chars.drain(..));
    out.push('\n');
    line.cursor = 0;
}

/// `t` as `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC).
pub fn format_time(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Days since 1970-01-01 to a civil date (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        d.subsec_millis()
    )
}

struct Shared {
    log: Mutex<LineLog>,
    stopping: AtomicBool,
    /// Streams whose logging has not ended yet.
    logging: Mutex<usize>,
    ended: Condvar,
    problems: Mutex<Vec<String>>,
}

impl Shared {
    fn problem(&self, p: String) {
        let mut ps = self.problems.lock().unwrap_or_else(PoisonError::into_inner);
        if !ps.contains(&p) {
            ps.push(p);
        }
    }
}

/// The running tee: one thread per stream.
pub struct Tee {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl Tee {
    /// Start draining `streams` into their originals and `log_path`.
    pub fn start(log_path: &Path, streams: Vec<Stream>) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            log: Mutex::new(LineLog::open(log_path)?),
            stopping: AtomicBool::new(false),
            logging: Mutex::new(streams.len()),
            ended: Condvar::new(),
            problems: Mutex::new(Vec::new()),
        });
        let mut threads = Vec::new();
        for stream in streams {
            let shared = Arc::clone(&shared);
            let name = format!("turbotrack-tee-{}", stream.name);
            threads.push(
                std::thread::Builder::new()
                    .name(name)
                    .spawn(move || drain(&shared, stream))?,
            );
        }
        Ok(Self { shared, threads })
    }

    /// This process's output now ends with each stream's marker: log up to it, then only forward.
    pub fn begin_stop(&self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
    }

    /// Wait at most `timeout` until every stream's logging ended; whether it did.
    pub fn wait_logged(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut left = self.shared.logging.lock().unwrap_or_else(PoisonError::into_inner);
        while *left > 0 {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            left = self
                .shared
                .ended
                .wait_timeout(left, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        true
    }

    /// Whether every thread ended (every holder of the pipes closed them).
    pub fn finished(&self) -> bool {
        self.threads.iter().all(JoinHandle::is_finished)
    }

    /// What went wrong so far (writing the original descriptor or the log), once each.
    pub fn problems(&self) -> Vec<String> {
        self.shared
            .problems
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// One stream's thread: read until end of file (every writer closed the pipe).
fn drain(shared: &Shared, mut s: Stream) {
    let mut buf = vec![0u8; READ_SIZE];
    let mut logging = true;
    let mut tee = true;
    let mut held: Vec<u8> = Vec::new(); // bytes that may be the start of the marker
    loop {
        let n = match s.read.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => 0, // EIO: every holder of the pseudo-terminal closed it
        };
        if n == 0 {
            break;
        }
        let mut data = &buf[..n];
        let mut joined;
        if logging && shared.stopping.load(Ordering::SeqCst) {
            joined = std::mem::take(&mut held);
            joined.extend_from_slice(data);
            if let Some(cut) = find(&joined, &s.marker) {
                let after = cut + s.marker.len();
                forward(shared, &mut s, &mut tee, &joined[..cut], true);
                end_logging(shared, &s.name, &mut logging);
                forward(shared, &mut s, &mut tee, &joined[after..], false);
                continue;
            }
            let keep = marker_prefix_len(&joined, &s.marker);
            held = joined.split_off(joined.len() - keep);
            data = &joined;
        }
        forward(shared, &mut s, &mut tee, data, logging);
    }
    if !held.is_empty() {
        forward(shared, &mut s, &mut tee, &held, logging);
    }
    if logging {
        end_logging(shared, &s.name, &mut logging);
    }
}

fn forward(shared: &Shared, s: &mut Stream, tee: &mut bool, data: &[u8], log: bool) {
    if data.is_empty() {
        return;
    }
    if *tee {
        if let Err(e) = s.original.write_all(data) {
            *tee = false;
            shared.problem(format!(
                "writing to the original {} failed ({e}); it is still logged",
                s.name
            ));
        }
    }
    if log {
        let mut l = shared.log.lock().unwrap_or_else(PoisonError::into_inner);
        if let Err(e) = l.write(&s.name, data) {
            shared.problem(format!("writing output.log failed: {e}"));
        }
    }
}

fn end_logging(shared: &Shared, name: &str, logging: &mut bool) {
    *logging = false;
    let mut l = shared.log.lock().unwrap_or_else(PoisonError::into_inner);
    if let Err(e) = l.end(name) {
        shared.problem(format!("writing output.log failed: {e}"));
    }
    drop(l);
    let mut left = shared.logging.lock().unwrap_or_else(PoisonError::into_inner);
    *left = left.saturating_sub(1);
    shared.ended.notify_all();
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Length of the longest tail of `data` that is a proper prefix of `marker`.
fn marker_prefix_len(data: &[u8], marker: &[u8]) -> usize {
    (1..marker.len().min(data.len() + 1))
        .rev()
        .find(|&n| data.ends_with(&marker[..n]))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_log(path: &Path) -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| l.split_once(' ').unwrap().1.to_owned())
            .collect()
    }

    #[test]
    fn lines_carriage_returns_backspaces_and_split_utf8() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("output.log");
        let mut log = LineLog::open(&path).unwrap();
        log.write("stdout", b"10%\r50%\r100%\n").unwrap();
        log.write("stdout", b"ab\x08C\n").unwrap();
        log.write("stderr", "é".as_bytes().split_at(1).0).unwrap();
        log.write("stdout", b"x\xffy\n").unwrap();
        log.write("stderr", "é".as_bytes().split_at(1).1).unwrap();
        log.end("stderr").unwrap();
        assert_eq!(
            read_log(&path),
            ["stdout 100%", "stdout aC", "stdout x\u{fffd}y", "stderr é"]
        );
    }

    #[test]
    fn time_format() {
        let t = UNIX_EPOCH + Duration::from_millis(1_735_787_045_678);
        assert_eq!(format_time(t), "2025-01-02T03:04:05.678Z");
    }

    #[test]
    fn marker_search() {
        assert_eq!(find(b"abcMARKdef", b"MARK"), Some(3));
        assert_eq!(marker_prefix_len(b"xyzMA", b"MARK"), 2);
        assert_eq!(marker_prefix_len(b"xyz", b"MARK"), 0);
    }
}
