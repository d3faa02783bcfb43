//! File header and block framing: compression, lengths, CRC-32, and torn-tail detection.
//!
//! ```text
//! header: "TTRK" | u16 version | u16 meta_len | f64 start_time | meta (UTF-8) | u32 crc32
//! block:  "TTBK" | u32 compressed_len | u32 raw_len | u32 n_rows | u32 crc32 | zstd payload
//! ```
//! All integers little-endian. A block's CRC covers its three length fields and its payload.

use super::{BLOCK_MAGIC, FILE_MAGIC, FORMAT_VERSION, ZSTD_LEVEL};

const HEADER_FIXED: usize = 4 + 2 + 2 + 8;
pub const BLOCK_HEADER: usize = 4 + 4 + 4 + 4 + 4;
/// A block larger than this is damage, not data (the writer seals blocks far smaller).
const MAX_BLOCK: usize = 1 << 30;
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
        if version != FORMAT_VERSION {
            return Err(format!(
                "history format version {version} is not supported by this turbotrack (it reads version {FORMAT_VERSION}); upgrade turbotrack"
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

/// Compress `raw` and frame it as one block, ready to append.
pub fn frame_block(raw: &[u8], n_rows: u32, out: &mut Vec<u8>) -> std::io::Result<()> {
    let compressed = zstd::bulk::compress(raw, ZSTD_LEVEL)?;
    out.clear();
    out.extend_from_slice(BLOCK_MAGIC);
    out.extend_from_slice(&(compressed.len() as u32).to_le_bytes());
    out.extend_from_slice(&(raw.len() as u32).to_le_bytes());
    out.extend_from_slice(&n_rows.to_le_bytes());
    let mut h = crc32fast::Hasher::new();
    h.update(&out[4..16]);
    h.update(&compressed);
    out.extend_from_slice(&h.finalize().to_le_bytes());
    out.extend_from_slice(&compressed);
    Ok(())
}

/// What reading a file found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadReport {
    pub blocks: u64,
    pub rows: u64,
    /// Bytes up to the end of the last whole block.
    pub valid_bytes: u64,
    pub file_bytes: u64,
    /// Why reading stopped before the end of the file, if it did (a torn or damaged tail).
    pub torn: Option<String>,
}

/// Walk the blocks of a whole file in memory, handing the header and each decompressed payload
/// (with its row count) to `on_block`.
/// Stops quietly at a torn or damaged tail and says so in the report. `Err` only when the
/// file is not a history file at all.
pub fn read_blocks(
    data: &[u8],
    mut on_block: impl FnMut(&FileHeader, &[u8], u32) -> Result<(), String>,
) -> Result<(Option<FileHeader>, ReadReport), String> {
    let mut report = ReadReport {
        file_bytes: data.len() as u64,
        ..ReadReport::default()
    };
    let Some((header, mut pos)) = FileHeader::parse(data)? else {
        report.torn = Some(format!("the file stops inside its header ({} bytes)", data.len()));
        return Ok((None, report));
    };
    report.valid_bytes = pos as u64;
    let mut raw = Vec::new();
    while pos < data.len() {
        let rest = &data[pos..];
        let torn = |why: String| {
            Some(format!(
                "at byte {pos}: {why}; the rest of the file ({} bytes) is skipped",
                rest.len()
            ))
        };
        if rest.len() < BLOCK_HEADER {
            report.torn = torn("a block header is cut short".into());
            break;
        }
        if &rest[..4] != BLOCK_MAGIC {
            report.torn = torn("no block starts here".into());
            break;
        }
        let comp_len = u32::from_le_bytes(rest[4..8].try_into().unwrap()) as usize;
        let raw_len = u32::from_le_bytes(rest[8..12].try_into().unwrap()) as usize;
        let n_rows = u32::from_le_bytes(rest[12..16].try_into().unwrap());
        let crc = u32::from_le_bytes(rest[16..20].try_into().unwrap());
        if comp_len > MAX_BLOCK || raw_len > MAX_BLOCK {
            report.torn = torn("a block length is implausible".into());
            break;
        }
        if rest.len() < BLOCK_HEADER + comp_len {
            report.torn = torn(format!("a block of {comp_len} bytes is cut short"));
            break;
        }
        let payload = &rest[BLOCK_HEADER..BLOCK_HEADER + comp_len];
        let mut h = crc32fast::Hasher::new();
        h.update(&rest[4..16]);
        h.update(payload);
        if h.finalize() != crc {
            report.torn = torn("a block's checksum does not match".into());
            break;
        }
        raw.clear();
        raw.reserve(raw_len);
        if let Err(e) = zstd::stream::copy_decode(payload, &mut raw) {
            report.torn = torn(format!("a block does not decompress ({e})"));
            break;
        }
        if let Err(e) = on_block(&header, &raw, n_rows) {
            report.torn = torn(e);
            break;
        }
        pos += BLOCK_HEADER + comp_len;
        report.blocks += 1;
        report.rows += u64::from(n_rows);
        report.valid_bytes = pos as u64;
    }
    Ok((Some(header), report))
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
    fn a_flipped_byte_stops_at_that_block() {
        let mut f = file_with(&[b"aaaa", b"bbbb"]);
        let n = f.len();
        f[n - 2] ^= 0xff;
        let (_, r) = read_blocks(&f, |_, _, _| Ok(())).unwrap();
        assert_eq!(r.blocks, 1);
        assert!(r.torn.unwrap().contains("checksum"));
    }

    #[test]
    fn other_files_are_refused() {
        assert!(read_blocks(b"PK\x03\x04 zip", |_, _, _| Ok(())).is_err());
    }
}
