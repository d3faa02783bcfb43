//! File writes the core makes: atomic replacement (temporary file, fsync, rename) and appends.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::error::{Error, Result};
use crate::format::{BlockWalker, WalkError};

/// Replace `path` with `data` so that readers see the old file or the new one, never a mix,
/// fsynced first. A folder that vanished (the run's folder deleted or renamed) is made again.
pub fn atomic_write(path: &Path, data: &[u8]) -> Result<()> {
    replace_file(path, data, true)
}

/// [`atomic_write`] without the fsync: for a file rewritten while a run goes on (summary.json
/// once a second), made durable when the run closes. An fsync waits for the journal to commit
/// whatever else the machine has dirty (a checkpoint being written: up to seconds), and the writer
/// thread waiting on it lets the caller's queue fill. The rename over the old file still leaves the
/// old file or the new one after a power cut on ext4 (its `auto_da_alloc` writes the new file's
/// data before the rename commits), as on other journalled file systems that detect the pattern.
pub fn replace_unsynced(path: &Path, data: &[u8]) -> Result<()> {
    replace_file(path, data, false)
}

fn replace_file(path: &Path, data: &[u8], durable: bool) -> Result<()> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = match File::create(&tmp) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(dir) = path.parent() {
                    fs::create_dir_all(dir)?;
                }
                File::create(&tmp)?
            }
            other => other?,
        };
        f.write_all(data)?;
        if durable {
            f.sync_all()?;
        }
        fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

/// An open history file and the length of its whole blocks (where the next block goes).
pub struct Appender {
    pub file: File,
    pub len: u64,
}

/// Create `path` (and its folder) for appending; `header` is written when the file is new.
/// An existing file is checked block by block first and cut back to the end of its last whole
/// block, so that blocks appended now follow valid ones (a torn tail would hide them).
pub fn open_append(path: &Path, header: &[u8]) -> Result<Appender> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    let size = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let mut len = 0;
    if size > 0 {
        let mut walk = BlockWalker::new(&file, false).map_err(|e| walk_error(path, e))?;
        if walk.header().is_some() {
            let mut none = Vec::new();
            while walk
                .next_block(&mut none, |_, _| Ok(()))
                .map_err(|e| walk_error(path, e))?
                .is_some()
            {}
            len = walk.report().valid_bytes;
        }
        if len < size {
            file.set_len(len).map_err(|e| Error::io(path, e))?;
        }
    }
    if len == 0 {
        file.write_all(header).map_err(|e| Error::io(path, e))?;
        len = header.len() as u64;
    }
    Ok(Appender { file, len })
}

fn walk_error(path: &Path, e: WalkError) -> Error {
    match e {
        WalkError::Io(e) => Error::io(path, e),
        WalkError::Format(msg) | WalkError::Memory(msg) => Error::Format {
            path: path.to_owned(),
            msg,
        },
    }
}

/// Whether `file` is still the file at `path` (not deleted, moved away or replaced).
pub fn still_at(file: &File, path: &Path) -> bool {
    match (file.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        (Err(_), _) => true, // cannot tell: keep writing where we are
        (Ok(_), Err(_)) => false,
    }
}

/// Fill `buf` from `file` at offset `at`: `Ok(false)` when the file ends first.
pub fn read_exact_at(file: &File, path: &Path, buf: &mut [u8], at: u64) -> Result<bool> {
    use std::os::unix::fs::FileExt;
    let mut done = 0;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], at + done as u64) {
            Ok(0) => return Ok(false),
            Ok(n) => done += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io(path, e)),
        }
    }
    Ok(true)
}
