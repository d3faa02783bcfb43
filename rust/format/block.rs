//! File header and block framing: compression, lengths, CRC-32, and torn-tail detection.
//!
//! ```text
//! header: "TTRK" | u16 version | u16 meta_len | f64 start_time | meta (UTF-8) | u32 crc32
//! block:  "TTBK" | u32 compressed_len | u32 raw_len | u32 n_rows | u32 crc32 | zstd payload
//! ```
//! All integers little-endian. A block's CRC covers its three length fields and its payload.

use super::stats::{frame_cuts, BlockStats};
use super::{BLOCK_MAGIC, FILE_MAGIC, FORMAT_VERSION, MIN_FORMAT_VERSION, ZSTD_LEVEL};

const HEADER_FIXED: usize = 4 + 2 + 2 + 8;
pub const BLOCK_HEADER: usize = 4 + 4 + 4 + 4 + 4;
/// A block (compressed or not) larger than this is damage, not data: the writer seals blocks
/// of about 4 MiB, and only a row holding large strings makes one larger. It is what a reader
/// may have to allocate for one block, so a file planted on disk (or uploaded) with lengths that
/// lie cannot make a reader decompress more than this per block.
pub const MAX_BLOCK: usize = 64 << 20;
/// The most text (strings, rich values' JSON) one row may carry, so that a block holding it stays
/// well under `MAX_BLOCK`: `log()` refuses more on the caller's thread.
pub const MAX_ROW_BYTES: usize = MAX_BLOCK / 4;

#[derive(Debug, Clone, PartialEq)]
pub struct FileHeader {
    pub version: u16,
    /// Unix seconds when the run started; `_runtime` is `_timestamp` minus this.
    pub start_time: f64,
    /// Free text describing the stream, e.g. `{"stream":"history","rank":0}`.
    pub meta: String,
}

impl FileHeader {
    pub fn new(start_time: f64, meta: impl Into<String>) -> Self {
        Self {
            version: FORMAT_VERSION,
            start_time,
            meta: meta.into(),
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_FIXED + self.meta.len() + 4);
        out.extend_from_slice(FILE_MAGIC);
        out.extend_from_slice(&self.version.to_le_bytes());
        out.extend_from_slice(&(self.meta.len() as u16).to_le_bytes());
        out.extend_from_slice(&self.start_time.to_le_bytes());
        out.extend_from_slice(self.meta.as_bytes());
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// Parse the header. `Ok(None)`: the file stops inside its header (a torn new file).
    pub fn parse(buf: &[u8]) -> Result<Option<(Self, usize)>, String> {
        let magic_len = buf.len().min(4);
        if buf[..magic_len] != FILE_MAGIC[..magic_len] {
            return Err("not a turbotrack history file (bad magic bytes)".into());
        }
        if buf.len() < HEADER_FIXED {
            return Ok(None);
        }
        let version = u16::from_le_bytes([buf[4], buf[5]]);
        if !(MIN_FORMAT_VERSION..=FORMAT_VERSION).contains(&version) {
            return Err(format!(
                "history format version {version} is not supported by this turbotrack (it reads versions {MIN_FORMAT_VERSION} to {FORMAT_VERSION}); upgrade turbotrack"
            ));
        }
        let meta_len = u16::from_le_bytes([buf[6], buf[7]]) as usize;
        let end = HEADER_FIXED + meta_len;
        if buf.len() < end + 4 {
            return Ok(None);
        }
        let crc = u32::from_le_bytes(buf[end..end + 4].try_into().unwrap());
        if crc != crc32fast::hash(&buf[..end]) {
            return Err("the file header is damaged (checksum mismatch)".into());
        }
        let start_time = f64::from_le_bytes(buf[8..16].try_into().unwrap());
        let meta = String::from_utf8_lossy(&buf[HEADER_FIXED..end]).into_owned();
        Ok(Some((
            Self {
                version,
                start_time,
                meta,
            },
            end + 4,
        )))
    }
}

/// Compresses block payloads and frames them, reusing one zstd context (and its buffers) for
/// every block of a stream rather than setting one up per block.
pub struct Framer {
    zstd: zstd::bulk::Compressor<'static>,
    compressed: Vec<u8>,
    body: Vec<u8>,
    frames: Vec<(u32, u32)>,
}

impl Framer {
    pub fn new() -> std::io::Result<Self> {
        Ok(Self {
            zstd: zstd::bulk::Compressor::new(ZSTD_LEVEL)?,
            compressed: Vec::new(),
            body: Vec::new(),
            frames: Vec::new(),
        })
    }

    /// Compress `raw` and frame it as one block of `n_rows` rows into `out`, ready to append: one
    /// zstd frame, no statistics (a version-2 block).
    pub fn frame(&mut self, raw: &[u8], n_rows: u32, out: &mut Vec<u8>) -> std::io::Result<()> {
        self.compressed.clear();
        self.compressed.reserve(zstd::zstd_safe::compress_bound(raw.len()));
        self.zstd.compress_to_buffer(raw, &mut self.compressed)?;
        self.finish(raw.len(), n_rows, out);
        Ok(())
    }

    /// As [`Framer::frame`], a version-3 block: `stats` (of this payload, as
    /// [`super::BlockEncoder::sealed_stats`] gives them) in a skippable frame first, then the
    /// payload cut into frames at the timestamps and at large columns' starts.
    pub fn frame_with_stats(
        &mut self,
        raw: &[u8],
        n_rows: u32,
        stats: &BlockStats,
        out: &mut Vec<u8>,
    ) -> std::io::Result<()> {
        let offsets: Vec<u32> = stats.columns.iter().map(|c| c.raw_offset).collect();
        let cuts = frame_cuts(raw.len(), stats.ts_offset as usize, &offsets);
        // Each frame is compressed into a scratch buffer and appended after the statistics,
        // which are written first (their frame lengths known once compressed).
        let mut body = std::mem::take(&mut self.body);
        body.clear();
        self.frames.clear();
        let mut at = 0;
        for end in cuts.into_iter().chain([raw.len()]) {
            let part = &raw[at..end];
            self.compressed.clear();
            self.compressed.reserve(zstd::zstd_safe::compress_bound(part.len()));
            self.zstd.compress_to_buffer(part, &mut self.compressed)?;
            body.extend_from_slice(&self.compressed);
            self.frames.push(((end - at) as u32, self.compressed.len() as u32));
            at = end;
        }
        self.compressed.clear();
        stats.write_frame(&self.frames, &mut self.compressed);
        self.compressed.extend_from_slice(&body);
        if body.capacity() <= 4 * MAX_KEPT_BUFFER {
            self.body = body;
        }
        self.finish(raw.len(), n_rows, out);
        Ok(())
    }

    fn finish(&mut self, raw_len: usize, n_rows: u32, out: &mut Vec<u8>) {
        let compressed = &self.compressed;
        out.clear();
        out.reserve(BLOCK_HEADER + compressed.len());
        out.extend_from_slice(BLOCK_MAGIC);
        out.extend_from_slice(&(compressed.len() as u32).to_le_bytes());
        out.extend_from_slice(&(raw_len as u32).to_le_bytes());
        out.extend_from_slice(&n_rows.to_le_bytes());
        let mut h = crc32fast::Hasher::new();
        h.update(&out[4..16]);
        h.update(compressed);
        out.extend_from_slice(&h.finalize().to_le_bytes());
        out.extend_from_slice(compressed);
        if self.compressed.capacity() > 4 * MAX_KEPT_BUFFER {
            self.compressed = Vec::new(); // one huge block does not pin its buffer
        }
    }
}

/// Buffers larger than a few blocks are let go after use.
const MAX_KEPT_BUFFER: usize = 4 << 20;

/// Compress `raw` and frame it as one block, ready to append (a context of its own: for tests
/// and one-off blocks; the writer keeps a [`Framer`]).
pub fn frame_block(raw: &[u8], n_rows: u32, out: &mut Vec<u8>) -> std::io::Result<()> {
    Framer::new()?.frame(raw, n_rows, out)
}

/// A damaged byte range between whole blocks: skipped, with the reason reading found.
#[derive(Debug, Clone, PartialEq)]
pub struct Damage {
    pub start: u64,
    pub end: u64,
    pub why: String,
}

/// What reading a file found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadReport {
    pub blocks: u64,
    pub rows: u64,
    /// Bytes up to the end of the last whole block.
    pub valid_bytes: u64,
    pub file_bytes: u64,
    /// Why the end of the file was skipped, if it was: no whole block follows that point (a torn
    /// tail, the usual trace of a process killed while writing).
    pub torn: Option<String>,
    /// Damaged ranges with whole blocks after them, in file order.
    pub damaged: Vec<Damage>,
}

/// Where blocks are read from: a file in memory, or an open file read piece by piece.
pub trait Source {
    fn size(&self) -> u64;
    /// Fill `buf` from `offset`; fewer bytes only at the end of the source.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize>;
}

impl<T: Source + ?Sized> Source for &T {
    fn size(&self) -> u64 {
        (**self).size()
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        (**self).read_at(offset, buf)
    }
}

impl Source for [u8] {
    fn size(&self) -> u64 {
        self.len() as u64
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        let start = (offset as usize).min(self.len());
        let n = buf.len().min(self.len() - start);
        buf[..n].copy_from_slice(&self[start..start + n]);
        Ok(n)
    }
}

impl Source for std::fs::File {
    fn size(&self) -> u64 {
        self.metadata().map_or(0, |m| m.len())
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        use std::os::unix::fs::FileExt;
        let mut done = 0;
        while done < buf.len() {
            match FileExt::read_at(self, &mut buf[done..], offset + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }
}

/// A failure that stops reading a file: not a history file, an I/O error, or no memory.
#[derive(Debug)]
pub enum WalkError {
    Format(String),
    Io(std::io::Error),
    Memory(String),
}

/// Make `buf` hold `n` bytes, to be overwritten (only bytes it did not hold yet are zeroed: a
/// buffer used again is not cleared for every block), or say that there is not enough memory.
fn fit(buf: &mut Vec<u8>, n: usize) -> Result<(), WalkError> {
    if buf.len() >= n {
        buf.truncate(n);
        return Ok(());
    }
    buf.try_reserve_exact(n - buf.len())
        .map_err(|_| WalkError::Memory(format!("not enough memory for a block of {n} bytes")))?;
    buf.resize(n, 0);
    Ok(())
}

/// Walks the blocks of one file in order, resynchronising after damage: a block that is cut
/// short, fails its checksum, does not decompress to its declared size or fails `check` is
/// skipped, and reading goes on at the next place where a whole, valid block starts.
pub struct BlockWalker<S> {
    src: S,
    header: Option<FileHeader>,
    pos: u64,
    end: u64,
    /// Decompress payloads (readers); `false` only checks framing and checksums (the writer).
    decompress: bool,
    /// Where the damage being skipped started, and why.
    skipping: Option<(u64, String)>,
    comp: Vec<u8>,
    report: ReadReport,
}

impl<S: Source> BlockWalker<S> {
    /// Read the file header. `Err` when the file is not a history file at all.
    pub fn new(src: S, decompress: bool) -> Result<Self, WalkError> {
        let end = src.size();
        let mut head = vec![0u8; (HEADER_FIXED + u16::MAX as usize + 4).min(end as usize)];
        let n = src.read_at(0, &mut head).map_err(WalkError::Io)?;
        head.truncate(n);
        let mut report = ReadReport {
            file_bytes: end,
            ..ReadReport::default()
        };
        let (header, pos) = match FileHeader::parse(&head).map_err(WalkError::Format)? {
            Some((h, pos)) => (Some(h), pos as u64),
            None => {
                report.torn = Some(format!("the file stops inside its header ({end} bytes)"));
                (None, end)
            }
        };
        report.valid_bytes = if header.is_some() { pos } else { 0 };
        Ok(Self {
            src,
            header,
            pos,
            end,
            decompress,
            skipping: None,
            comp: Vec::new(),
            report,
        })
    }

    /// The file header; `None` when the file stops inside it.
    pub fn header(&self) -> Option<&FileHeader> {
        self.header.as_ref()
    }

    /// What was found so far (all of it once `next_block` returned `None`).
    pub fn report(&self) -> &ReadReport {
        &self.report
    }

    pub fn into_report(self) -> ReadReport {
        self.report
    }

    /// The compressed payload of the block [`BlockWalker::next_block`] last returned (a walker
    /// that does not decompress), swapped for `buf`: handed on without a copy, `buf`'s memory
    /// used for the next block.
    pub fn swap_payload(&mut self, buf: &mut Vec<u8>) {
        std::mem::swap(&mut self.comp, buf);
    }

    /// The next whole block: its payload in `raw` (decompressed when the walker decompresses)
    /// and its row count. `check` may refuse a decompressed payload (it is then skipped as
    /// damage). `None` at the end of the file.
    pub fn next_block(
        &mut self,
        raw: &mut Vec<u8>,
        mut check: impl FnMut(&[u8], u32) -> Result<(), String>,
    ) -> Result<Option<u32>, WalkError> {
        while self.pos < self.end {
            let at = self.pos;
            let found = match self.block_at(at, raw)? {
                Ok((n_rows, size)) if self.decompress => match check(raw, n_rows) {
                    Ok(()) => Ok((n_rows, size)),
                    Err(why) => Err(why),
                },
                other => other,
            };
            match found {
                Ok((n_rows, size)) => {
                    if let Some((start, why)) = self.skipping.take() {
                        self.report.damaged.push(Damage { start, end: at, why });
                    }
                    self.pos = at + size;
                    self.report.blocks += 1;
                    self.report.rows += u64::from(n_rows);
                    self.report.valid_bytes = self.pos;
                    return Ok(Some(n_rows));
                }
                Err(why) => {
                    self.skipping.get_or_insert((at, why));
                    self.pos = self.find_magic(at + 1)?;
                }
            }
        }
        if let Some((start, why)) = self.skipping.take() {
            self.report.torn = Some(format!(
                "at byte {start}: {why}; the rest of the file ({} bytes) is skipped",
                self.end - start
            ));
        }
        Ok(None)
    }

    /// The block at `pos`: `Ok(Ok((n_rows, size)))`, or `Ok(Err(why))` when none is whole there.
    fn block_at(&mut self, pos: u64, raw: &mut Vec<u8>) -> Result<Result<(u32, u64), String>, WalkError> {
        let mut head = [0u8; BLOCK_HEADER];
        let got = self.src.read_at(pos, &mut head).map_err(WalkError::Io)?;
        if got < BLOCK_HEADER {
            return Ok(Err("a block header is cut short".into()));
        }
        if &head[..4] != BLOCK_MAGIC {
            return Ok(Err("no block starts here".into()));
        }
        let word = |i: usize| u32::from_le_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
        let (comp_len, raw_len, n_rows, crc) = (word(4) as usize, word(8) as usize, word(12), word(16));
        if comp_len > MAX_BLOCK || raw_len > MAX_BLOCK {
            return Ok(Err("a block length is implausible".into()));
        }
        let size = (BLOCK_HEADER + comp_len) as u64;
        if pos + size > self.end {
            return Ok(Err(format!("a block of {comp_len} bytes is cut short")));
        }
        fit(&mut self.comp, comp_len)?;
        let got = self
            .src
            .read_at(pos + BLOCK_HEADER as u64, &mut self.comp)
            .map_err(WalkError::Io)?;
        if got < comp_len {
            return Ok(Err(format!("a block of {comp_len} bytes is cut short")));
        }
        let mut h = crc32fast::Hasher::new();
        h.update(&head[4..16]);
        h.update(&self.comp);
        if h.finalize() != crc {
            return Ok(Err("a block's checksum does not match".into()));
        }
        if self.decompress {
            // Bounded by the declared size: a payload that inflates past it is refused.
            fit(raw, raw_len)?;
            match zstd::bulk::decompress_to_buffer(&self.comp, raw.as_mut_slice()) {
                Ok(n) if n == raw_len => {}
                Ok(n) => {
                    return Ok(Err(format!(
                        "a block decompresses to {n} bytes, not the {raw_len} its header says"
                    )))
                }
                Err(e) => {
                    return Ok(Err(format!(
                        "a block does not decompress within its declared {raw_len} bytes ({e})"
                    )))
                }
            }
        }
        Ok(Ok((n_rows, size)))
    }

    /// The first offset at or after `from` where the block magic appears (the end if none).
    fn find_magic(&self, from: u64) -> Result<u64, WalkError> {
        const CHUNK: usize = 1 << 16;
        let mut buf = vec![0u8; CHUNK];
        let mut at = from;
        while at < self.end {
            let n = self.src.read_at(at, &mut buf).map_err(WalkError::Io)?;
            if n < BLOCK_MAGIC.len() {
                break;
            }
            if let Some(i) = buf[..n].windows(BLOCK_MAGIC.len()).position(|w| w == BLOCK_MAGIC) {
                return Ok(at + i as u64);
            }
            // Overlap by three bytes so a magic split between chunks is found.
            at += (n - (BLOCK_MAGIC.len() - 1)) as u64;
        }
        Ok(self.end)
    }
}

/// Check stream bytes as an uploader sends them (the file header first when `at_start`, then
/// blocks) without resynchronising: `(end of the last whole block, its rows, why it stopped early
/// or None when the bytes end exactly there)`. A block is whole only when its framing and checksum
/// are right, its lengths are within [`MAX_BLOCK`], it decompresses (bounded by its declared
/// length) to exactly that length, and `check` accepts the payload. `Err` when the header is damaged.
pub fn check_stream(
    data: &[u8],
    at_start: bool,
    check: impl FnMut(&[u8], u32) -> Result<(), String>,
) -> Result<(usize, u64, Option<String>), String> {
    walk_stream(data, at_start, true, check)
}

/// The framing walk of [`check_stream`] alone (header, block magic, lengths within [`MAX_BLOCK`],
/// checksums; nothing decompressed): what sync sends and the server's length of a stream file.
pub fn scan_stream(data: &[u8], at_start: bool) -> Result<(usize, u64, Option<String>), String> {
    walk_stream(data, at_start, false, |_, _| Ok(()))
}

fn walk_stream(
    data: &[u8],
    at_start: bool,
    decompress: bool,
    mut check: impl FnMut(&[u8], u32) -> Result<(), String>,
) -> Result<(usize, u64, Option<String>), String> {
    let mut pos = 0;
    if at_start {
        match FileHeader::parse(data)? {
            Some((_, end)) => pos = end,
            None => return Ok((0, 0, Some("the file header is cut short".into()))),
        }
    }
    let mut w = BlockWalker {
        src: data,
        header: None,
        pos: pos as u64,
        end: data.len() as u64,
        decompress,
        skipping: None,
        comp: Vec::new(),
        report: ReadReport::default(),
    };
    let mut raw = Vec::new();
    let mut rows = 0u64;
    while pos < data.len() {
        let found = match w.block_at(pos as u64, &mut raw) {
            Ok(found) => found,
            Err(WalkError::Format(m) | WalkError::Memory(m)) => Err(m),
            Err(WalkError::Io(e)) => Err(e.to_string()),
        };
        match found.and_then(|(n, size)| check(&raw, n).map(|()| (n, size))) {
            Ok((n, size)) => {
                rows += u64::from(n);
                pos += size as usize;
            }
            Err(why) => return Ok((pos, rows, Some(format!("at byte {pos}: {why}")))),
        }
    }
    Ok((pos, rows, None))
}

/// Walk the blocks of a whole file in memory, handing the header and each decompressed payload
/// (with its row count) to `on_block`, which may refuse it (then skipped as damage).
/// `Err` only when the file is not a history file at all.
pub fn read_blocks(
    data: &[u8],
    mut on_block: impl FnMut(&FileHeader, &[u8], u32) -> Result<(), String>,
) -> Result<(Option<FileHeader>, ReadReport), String> {
    let fail = |e: WalkError| match e {
        WalkError::Format(m) | WalkError::Memory(m) => m,
        WalkError::Io(e) => e.to_string(),
    };
    let mut w = BlockWalker::new(data, true).map_err(fail)?;
    let Some(header) = w.header().cloned() else {
        return Ok((None, w.into_report()));
    };
    let mut raw = Vec::new();
    while w
        .next_block(&mut raw, |raw, n| on_block(&header, raw, n))
        .map_err(fail)?
        .is_some()
    {}
    Ok((Some(header), w.into_report()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_with(blocks: &[&[u8]]) -> Vec<u8> {
        let mut f = FileHeader::new(12.5, "{\"stream\":\"history\"}").to_bytes();
        let mut frame = vec![];
        for b in blocks {
            frame_block(b, 1, &mut frame).unwrap();
            f.extend_from_slice(&frame);
        }
        f
    }

    #[test]
    fn every_truncation_reads_whole_blocks_only() {
        let f = file_with(&[b"first block", b"second block"]);
        let (_, full) = read_blocks(&f, |_, _, _| Ok(())).unwrap();
        assert_eq!((full.blocks, full.torn), (2, None));
        for cut in 0..f.len() {
            let mut seen = vec![];
            let (_, r) = read_blocks(&f[..cut], |_, b, _| {
                seen.push(b.to_vec());
                Ok(())
            })
            .unwrap();
            assert!(r.torn.is_some() || cut == 0 || r.valid_bytes == cut as u64, "cut {cut}");
            assert_eq!(seen.len() as u64, r.blocks);
            for (i, s) in seen.iter().enumerate() {
                assert_eq!(s.as_slice(), [&b"first block"[..], b"second block"][i]);
            }
        }
    }

    #[test]
    fn check_stream_refuses_blocks_that_lie_about_their_size() {
        let f = file_with(&[b"first block", b"second block"]);
        let ok = |_: &[u8], _: u32| Ok(());
        assert_eq!(check_stream(&f, true, ok).unwrap(), (f.len(), 2, None));
        let head = FileHeader::parse(&f).unwrap().unwrap().1;
        assert_eq!(check_stream(&f[head..], false, ok).unwrap(), (f.len() - head, 2, None));
        // A frame of 1 MiB of zeros, framed as if it held 1 KiB, as 2 MiB, and as 1 GiB.
        let zeros = zstd::bulk::compress(&vec![0u8; 1 << 20], 3).unwrap();
        for (raw_len, why) in [
            (1 << 10, "within its declared"),
            (2 << 20, "not the"),
            (1 << 30, "implausible"),
        ] {
            let mut block = BLOCK_MAGIC.to_vec();
            for w in [zeros.len() as u32, raw_len, 1] {
                block.extend_from_slice(&w.to_le_bytes());
            }
            let mut h = crc32fast::Hasher::new();
            h.update(&block[4..16]);
            h.update(&zeros);
            block.extend_from_slice(&h.finalize().to_le_bytes());
            block.extend_from_slice(&zeros);
            let mut bad = f.clone();
            bad.extend_from_slice(&block);
            let (good, rows, stopped) = check_stream(&bad, true, ok).unwrap();
            assert_eq!((good, rows), (f.len(), 2));
            assert!(stopped.unwrap().contains(why), "{raw_len}");
        }
        // and the payload check is applied
        let (good, _, stopped) = check_stream(&f, true, |_, _| Err("no".into())).unwrap();
        assert_eq!(
            (good, stopped.as_deref()),
            (head, Some(&*format!("at byte {head}: no")))
        );
    }

    #[test]
    fn scan_stream_walks_framing_only() {
        let f = file_with(&[b"first block", b"second block"]);
        let head = FileHeader::parse(&f).unwrap().unwrap().1;
        assert_eq!(scan_stream(&f, true).unwrap(), (f.len(), 2, None));
        assert_eq!(scan_stream(&f[head..], false).unwrap(), (f.len() - head, 2, None));
        // a torn tail: the whole blocks before it, and why it stopped
        let (good, rows, why) = scan_stream(&f[..f.len() - 3], true).unwrap();
        assert!(good > head && good < f.len() && rows == 1, "{good} {rows}");
        assert!(why.unwrap().contains("cut short"));
        // a flipped payload byte: its checksum stops the walk there
        let mut bad = f.clone();
        let last = bad.len() - 1;
        bad[last] ^= 0xff;
        let (good2, rows2, why2) = scan_stream(&bad, true).unwrap();
        assert_eq!((good2, rows2), (good, 1));
        assert!(why2.unwrap().contains("checksum"));
        // a damaged header is an error; a short one is not
        assert!(scan_stream(b"XXXXXXXXXXXXXXXXXXXXXXXX", true).is_err());
        assert_eq!(scan_stream(&f[..5], true).unwrap().0, 0);
    }

    #[test]
    fn a_flipped_byte_stops_at_that_block() {
        let mut f = file_with(&[b"aaaa", b"bbbb"]);
        let n = f.len();
        f[n - 2] ^= 0xff;
        let (_, r) = read_blocks(&f, |_, _, _| Ok(())).unwrap();
        assert_eq!(r.blocks, 1);
        assert!(r.torn.unwrap().contains("checksum"));
    }

    #[test]
    fn damage_in_the_middle_is_skipped_and_reported() {
        let mut f = file_with(&[b"aaaa", b"bbbb", b"cccc"]);
        let first = FileHeader::new(12.5, "{\"stream\":\"history\"}").to_bytes().len();
        f[first + BLOCK_HEADER + 2] ^= 0x01; // inside block 0's payload
        let mut seen = vec![];
        let (_, r) = read_blocks(&f, |_, b, _| {
            seen.push(b.to_vec());
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, vec![b"bbbb".to_vec(), b"cccc".to_vec()]);
        assert_eq!((r.blocks, r.torn.clone()), (2, None));
        assert_eq!(r.damaged.len(), 1);
        assert_eq!(r.damaged[0].start, first as u64);
        assert!(r.damaged[0].why.contains("checksum"));
        // Garbage between blocks, too.
        let mut g = file_with(&[b"aaaa"]);
        g.extend_from_slice(b"TTBK garbage that is not a block");
        let mut frame = vec![];
        frame_block(b"zzzz", 1, &mut frame).unwrap();
        g.extend_from_slice(&frame);
        let (_, r) = read_blocks(&g, |_, _, _| Ok(())).unwrap();
        assert_eq!((r.blocks, r.damaged.len(), r.torn), (2, 1, None));
    }

    #[test]
    fn a_payload_inflating_past_its_declared_size_is_refused() {
        let big = vec![0u8; 8 << 20];
        let compressed = zstd::bulk::compress(&big, 3).unwrap();
        let mut f = FileHeader::new(1.0, "").to_bytes();
        let start = f.len();
        f.extend_from_slice(BLOCK_MAGIC);
        f.extend_from_slice(&(compressed.len() as u32).to_le_bytes());
        f.extend_from_slice(&16u32.to_le_bytes()); // declares 16 bytes
        f.extend_from_slice(&1u32.to_le_bytes());
        let mut h = crc32fast::Hasher::new();
        h.update(&f[start + 4..start + 16]);
        h.update(&compressed);
        f.extend_from_slice(&h.finalize().to_le_bytes());
        f.extend_from_slice(&compressed);
        let (_, r) = read_blocks(&f, |_, _, _| panic!("no block is whole")).unwrap();
        assert_eq!(r.blocks, 0);
        assert!(r.torn.unwrap().contains("declared 16 bytes"));
    }

    #[test]
    fn other_files_are_refused() {
        assert!(read_blocks(b"PK\x03\x04 zip", |_, _, _| Ok(())).is_err());
    }
}
