//! wandb's transaction log (`run-<id>.wandb`): its LevelDB-style framing, streamed from any
//! reader, and the protobuf wire decoding of just its history records.
//!
//! The framing mirrors `chunks()` in `python/turbotrack/importers/wandb_log.py` step for step
//! (the tests of `tests/test_import_native.py` hold them to it): a 7-byte header (`:W&B`, a 2-byte
//! magic, a version byte), then 32 KiB blocks of chunks, each a 7-byte header (CRC-32C u32 LE,
//! length u16 LE, type u8: 1 full, 2 first, 3 middle, 4 last, 0 padding) and its bytes. A block
//! tail shorter than 7 bytes is padding; a zero type or a torn tail ends the scan. The CRCs are
//! not checked (CRC-32C, which no dependency here computes; the Python reader does not check them).
//!
//! A record is decoded here only when it is plainly a history record that wandb's own parser would
//! read the same way (fields: `num`, `history`); any other record, or one this decoder is unsure
//! of (a malformed wire, invalid UTF-8, `_info`), is handed back as raw bytes for Python to parse
//! with wandb's classes, so both paths answer alike.

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The transaction log's header length, and a chunk header's.
pub const HEADER: usize = 7;
/// The framing's block size.
pub const BLOCK: u64 = 32 * 1024;
const READ_SIZE: usize = 256 * 1024;
/// Rows with more items than this go to Python's general nesting rule (the check here is quadratic).
const MAX_FAST_ITEMS: usize = 256;

const FULL: u8 = 1;
const FIRST: u8 = 2;
const MIDDLE: u8 = 3;
const LAST: u8 = 4;

/// Why a record's bytes are not a protobuf message this decoder reads.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    #[error("truncated message")]
    Truncated,
    #[error("varint longer than 10 bytes")]
    Varint,
    #[error("groups are not supported")]
    Group,
    #[error("invalid wire type {0}")]
    WireType(u8),
    #[error("invalid field number")]
    FieldNumber,
    #[error("invalid UTF-8 in a string field")]
    Utf8,
}

type Wired<T> = std::result::Result<T, Malformed>;

/// One field's value on the wire (fixed-width values are skipped, never needed here).
#[derive(Debug, PartialEq, Eq)]
enum Wire<'a> {
    Varint(u64),
    Fixed,
    Len(&'a [u8]),
}

fn varint(buf: &[u8], pos: &mut usize) -> Wired<u64> {
    let mut out = 0u64;
    for i in 0..10 {
        let b = *buf.get(*pos).ok_or(Malformed::Truncated)?;
        *pos += 1;
        out |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok(out);
        }
    }
    Err(Malformed::Varint)
}

fn take<'a>(buf: &'a [u8], pos: &mut usize, n: usize) -> Wired<&'a [u8]> {
    let end = pos
        .checked_add(n)
        .filter(|&e| e <= buf.len())
        .ok_or(Malformed::Truncated)?;
    let out = &buf[*pos..end];
    *pos = end;
    Ok(out)
}

/// The fields of one message, in order.
struct Fields<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Fields<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    fn field(&mut self) -> Wired<(u32, Wire<'a>)> {
        let tag = varint(self.buf, &mut self.pos)?;
        let num = tag >> 3;
        if num == 0 || num > (1 << 29) - 1 {
            return Err(Malformed::FieldNumber);
        }
        let wire = match (tag & 7) as u8 {
            0 => Wire::Varint(varint(self.buf, &mut self.pos)?),
            1 => {
                take(self.buf, &mut self.pos, 8)?;
                Wire::Fixed
            }
            2 => {
                let n = usize::try_from(varint(self.buf, &mut self.pos)?).map_err(|_| Malformed::Truncated)?;
                Wire::Len(take(self.buf, &mut self.pos, n)?)
            }
            5 => {
                take(self.buf, &mut self.pos, 4)?;
                Wire::Fixed
            }
            3 | 4 => return Err(Malformed::Group),
            t => return Err(Malformed::WireType(t)),
        };
        Ok((num as u32, wire))
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Wired<(u32, Wire<'a>)>;

    fn next(&mut self) -> Option<Self::Item> {
        (self.pos < self.buf.len()).then(|| self.field())
    }
}

fn text(b: &[u8]) -> Wired<&str> {
    std::str::from_utf8(b).map_err(|_| Malformed::Utf8)
}

/// One `HistoryItem`: `key` (field 1), `nested_key` (field 2, repeated), `value_json` (field 16).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Item<'a> {
    pub key: &'a str,
    pub nested_key: Vec<&'a str>,
    pub value_json: &'a str,
}

/// A decoded `HistoryRecord`: its items and `step.num` (`None` when the record has no step).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct History<'a> {
    pub items: Vec<Item<'a>>,
    pub step: Option<i64>,
}

fn item(buf: &[u8]) -> Wired<Item<'_>> {
    let mut it = Item::default();
    for f in Fields::new(buf) {
        match f? {
            (1, Wire::Len(b)) => it.key = text(b)?,
            (2, Wire::Len(b)) => it.nested_key.push(text(b)?),
            (16, Wire::Len(b)) => it.value_json = text(b)?,
            // `text` and `json`: strings wandb's parser checks for UTF-8 too.
            (7 | 8, Wire::Len(b)) => {
                text(b)?;
            }
            _ => {}
        }
    }
    Ok(it)
}

/// `Record` bytes as a history record, or `None` when they are anything else (or a history record
/// with fields this decoder leaves to wandb's parser).
pub fn decode_history(body: &[u8]) -> Wired<Option<History<'_>>> {
    let mut parts = Vec::new();
    for f in Fields::new(body) {
        match f? {
            (2, Wire::Len(b)) => parts.push(b),
            (1, Wire::Varint(_)) => {}
            _ => return Ok(None),
        }
    }
    if parts.is_empty() {
        return Ok(None);
    }
    // Repeated occurrences of a message field merge, as concatenated bytes do.
    let mut h = History::default();
    for part in parts {
        for f in Fields::new(part) {
            match f? {
                (1, Wire::Len(b)) => h.items.push(item(b)?),
                (2, Wire::Len(b)) => {
                    let mut num = h.step.unwrap_or(0);
                    for g in Fields::new(b) {
                        if let (1, Wire::Varint(v)) = g? {
                            num = v as i64;
                        }
                    }
                    h.step = Some(num);
                }
                (200, _) => return Ok(None),
                _ => {}
            }
        }
    }
    Ok(Some(h))
}

/// A history row's names, as Python's `history_row` would make them.
#[derive(Debug, PartialEq, Eq)]
pub enum Keys {
    /// The row's names, one per item in order, nested parts joined with `.`: every item has its
    /// own leaf (no path repeats or nests under another) and no value is a JSON object, so the row
    /// is `dict(zip(names, values))`.
    Flat(Vec<String>),
    /// As [`Keys::Flat`], with the same names as the previous flat row.
    SameFlat,
    /// Anything else: each item's `nested_key` parts, or `[key]` marked plain, for Python's rule.
    Nested(Vec<Key>),
}

/// One item's key for Python's general rule: `key` or `nested_key` (a dict value is merged into a
/// `key`'s earlier dict, not into a `nested_key`'s).
#[derive(Debug, PartialEq, Eq)]
pub enum Key {
    Plain(String),
    Path(Vec<String>),
}

/// One record of the log, as the Python reader receives it.
#[derive(Debug, PartialEq, Eq)]
pub enum Entry {
    History {
        keys: Keys,
        /// The items' `value_json` as one JSON array, `[` + joined with `,` + `]`.
        values_json: String,
        step: Option<i64>,
    },
    Other(Vec<u8>),
}

fn is_object(json: &str) -> bool {
    json.trim_start_matches([' ', '\t', '\n', '\r']).starts_with('{')
}

fn path<'s, 'a>(it: &'s Item<'a>) -> std::slice::Iter<'s, &'a str> {
    if it.nested_key.is_empty() {
        std::slice::from_ref(&it.key).iter()
    } else {
        it.nested_key.iter()
    }
}

/// Whether every item's path is its own leaf: no path equals another or is a prefix of another.
fn own_leaves(items: &[Item<'_>]) -> bool {
    items.len() <= MAX_FAST_ITEMS
        && items.iter().enumerate().all(|(i, a)| {
            items[..i].iter().all(|b| {
                let (pa, pb) = (path(a), path(b));
                // One is a prefix of the other (or they are equal) when the shorter one matches.
                !pa.zip(pb).all(|(x, y)| x == y)
            })
        })
}

/// Whether the row's names, in item order, are also the order Python's tree flattening yields:
/// an item sharing a longer prefix with an earlier item than with the one just before it would
/// be moved up beside that earlier one.
fn in_tree_order(items: &[Item<'_>]) -> bool {
    let lcp = |a: &Item<'_>, b: &Item<'_>| path(a).zip(path(b)).take_while(|(x, y)| x == y).count();
    (1..items.len()).all(|i| {
        let near = lcp(&items[i - 1], &items[i]);
        items[..i - 1].iter().all(|b| lcp(b, &items[i]) <= near)
    })
}

/// A decoded history record as an [`Entry`]; `last` holds the previous flat row's names.
pub fn history_entry(h: &History<'_>, last: &mut Vec<String>) -> Entry {
    let mut values_json = String::with_capacity(2 + h.items.iter().map(|i| i.value_json.len() + 1).sum::<usize>());
    values_json.push('[');
    for (i, it) in h.items.iter().enumerate() {
        if i > 0 {
            values_json.push(',');
        }
        values_json.push_str(it.value_json);
    }
    values_json.push(']');
    // A subtree with a `_type` child is a media value, kept whole by Python's flattening.
    let flat = h
        .items
        .iter()
        .all(|it| !is_object(it.value_json) && !it.nested_key.iter().skip(1).any(|p| *p == "_type"))
        && own_leaves(&h.items)
        && in_tree_order(&h.items);
    let keys = if flat {
        let same = !h.items.is_empty()
            && last.len() == h.items.len()
            && last.iter().zip(&h.items).all(|(name, it)| {
                let mut rest = name.as_str();
                path(it).enumerate().all(|(j, part)| {
                    if j > 0 {
                        match rest.strip_prefix('.') {
                            Some(r) => rest = r,
                            None => return false,
                        }
                    }
                    match rest.strip_prefix(part) {
                        Some(r) => {
                            rest = r;
                            true
                        }
                        None => false,
                    }
                }) && rest.is_empty()
            });
        if same {
            Keys::SameFlat
        } else {
            *last = h
                .items
                .iter()
                .map(|it| path(it).copied().collect::<Vec<_>>().join("."))
                .collect();
            Keys::Flat(last.clone())
        }
    } else {
        Keys::Nested(
            h.items
                .iter()
                .map(|it| {
                    if it.nested_key.is_empty() {
                        Key::Plain(it.key.to_owned())
                    } else {
                        Key::Path(it.nested_key.iter().map(|s| (*s).to_owned()).collect())
                    }
                })
                .collect(),
        )
    };
    Entry::History {
        keys,
        values_json,
        step: h.step,
    }
}

/// Records' bytes from a transaction log, streamed from `src` (bounded memory: a read buffer and
/// the record being assembled).
pub struct Chunks<R> {
    src: R,
    path: PathBuf,
    buf: Vec<u8>,
    /// Where in `buf` the scan is.
    at: usize,
    /// The scan's offset in the file: just past the last chunk read.
    pos: u64,
    pending: Vec<u8>,
    done: bool,
}

impl<R: Read> Chunks<R> {
    /// Check the log's header; `path` names the file in errors.
    pub fn new(src: R, path: &Path) -> Result<Self> {
        let mut me = Self {
            src,
            path: path.to_owned(),
            buf: Vec::new(),
            at: 0,
            pos: 0,
            pending: Vec::new(),
            done: false,
        };
        if !me.fill(4)? || &me.buf[..4] != b":W&B" {
            return Err(Error::Value(format!(
                "not a wandb transaction log (no ':W&B' header): {}",
                path.display()
            )));
        }
        // Like the Python reader: a file of fewer than 7 bytes holds no records.
        me.fill(HEADER)?;
        me.skip(HEADER);
        Ok(me)
    }

    /// How far the scan has come, in bytes of the file.
    pub fn offset(&self) -> u64 {
        self.pos
    }

    /// Whether `n` bytes from the scan's place are in `buf` (reading more as needed); false at the end.
    fn fill(&mut self, n: usize) -> Result<bool> {
        if self.buf.len() - self.at >= n {
            return Ok(true);
        }
        self.buf.drain(..self.at);
        self.at = 0;
        let mut have = self.buf.len();
        self.buf.resize(have + READ_SIZE.max(n - have), 0);
        let full = loop {
            if have >= n {
                break true;
            }
            match self.src.read(&mut self.buf[have..]) {
                Ok(0) => break false,
                Ok(got) => have += got,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.buf.truncate(have);
                    return Err(Error::io(&self.path, e));
                }
            }
        };
        self.buf.truncate(have);
        Ok(full)
    }

    fn skip(&mut self, n: usize) {
        let n = n.min(self.buf.len() - self.at);
        self.at += n;
        self.pos += n as u64;
    }

    /// The next record's bytes, or `None` at the end of the log (or its torn tail).
    pub fn next_record(&mut self) -> Result<Option<Vec<u8>>> {
        while !self.done {
            if !self.fill(HEADER)? {
                break;
            }
            let left = (BLOCK - self.pos % BLOCK) as usize;
            if left < HEADER {
                self.skip(left);
                continue;
            }
            let h = &self.buf[self.at..self.at + HEADER];
            let length = usize::from(u16::from_le_bytes([h[4], h[5]]));
            let kind = h[6];
            self.skip(HEADER);
            if kind == 0 || !self.fill(length)? {
                self.done = true;
                break;
            }
            let body = &self.buf[self.at..self.at + length];
            let out = match kind {
                FULL => Some(body.to_vec()),
                FIRST => {
                    self.pending.clear();
                    self.pending.extend_from_slice(body);
                    None
                }
                MIDDLE => {
                    self.pending.extend_from_slice(body);
                    None
                }
                LAST => {
                    self.pending.extend_from_slice(body);
                    Some(std::mem::take(&mut self.pending))
                }
                _ => None,
            };
            self.skip(length);
            if out.is_some() {
                return Ok(out);
            }
        }
        self.done = true;
        Ok(None)
    }
}

/// A transaction log read record by record into [`Entry`]s.
pub struct WandbLog<R> {
    chunks: Chunks<R>,
    last_names: Vec<String>,
}

impl WandbLog<io::Take<std::fs::File>> {
    /// Open the log at `path`; only the bytes it holds now are read (as a memory map would see).
    pub fn open(path: &Path) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let size = file.metadata().map_err(|e| Error::io(path, e))?.len();
        Self::new(file.take(size), path)
    }
}

impl<R: Read> WandbLog<R> {
    pub fn new(src: R, path: &Path) -> Result<Self> {
        Ok(Self {
            chunks: Chunks::new(src, path)?,
            last_names: Vec::new(),
        })
    }

    /// Bytes of the file scanned so far.
    pub fn offset(&self) -> u64 {
        self.chunks.offset()
    }

    /// Up to `max` more records (at least one); an empty batch at the end.
    pub fn batch(&mut self, max: usize) -> Result<Vec<Entry>> {
        let mut out = Vec::with_capacity(max.clamp(1, 65_536));
        while out.len() < max.max(1) {
            let Some(body) = self.chunks.next_record()? else {
                break;
            };
            let entry = match decode_history(&body) {
                Ok(Some(h)) => history_entry(&h, &mut self.last_names),
                Ok(None) | Err(_) => Entry::Other(body),
            };
            out.push(entry);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put_varint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    fn len_field(out: &mut Vec<u8>, num: u32, body: &[u8]) {
        put_varint(out, u64::from(num) << 3 | 2);
        put_varint(out, body.len() as u64);
        out.extend_from_slice(body);
    }

    fn item_bytes(key: Option<&str>, nested: &[&str], value: &str) -> Vec<u8> {
        let mut b = Vec::new();
        if let Some(k) = key {
            len_field(&mut b, 1, k.as_bytes());
        }
        for n in nested {
            len_field(&mut b, 2, n.as_bytes());
        }
        len_field(&mut b, 16, value.as_bytes());
        b
    }

    fn history_record(items: &[Vec<u8>], step: Option<i64>) -> Vec<u8> {
        let mut h = Vec::new();
        for it in items {
            len_field(&mut h, 1, it);
        }
        if let Some(s) = step {
            let mut st = Vec::new();
            put_varint(&mut st, 1 << 3);
            put_varint(&mut st, s as u64);
            len_field(&mut h, 2, &st);
        }
        let mut r = Vec::new();
        put_varint(&mut r, 1 << 3);
        put_varint(&mut r, 7);
        len_field(&mut r, 2, &h);
        r
    }

    /// A log as wandb writes it (and benches/import_wandb.py's writer), chunks split across blocks.
    fn log(records: &[Vec<u8>]) -> Vec<u8> {
        let mut out = b":W&B\xe1\xbe\x00".to_vec();
        for rec in records {
            let mut body: &[u8] = rec;
            let mut first = true;
            loop {
                let mut left = (BLOCK as usize) - out.len() % (BLOCK as usize);
                if left < HEADER {
                    out.resize(out.len() + left, 0);
                    left = BLOCK as usize;
                }
                let room = left - HEADER;
                let (piece, rest) = body.split_at(room.min(body.len()));
                let kind = match (first, rest.is_empty()) {
                    (true, true) => FULL,
                    (true, false) => FIRST,
                    (false, false) => MIDDLE,
                    (false, true) => LAST,
                };
                out.extend_from_slice(&[0, 0, 0, 0]);
                out.extend_from_slice(&(piece.len() as u16).to_le_bytes());
                out.push(kind);
                out.extend_from_slice(piece);
                body = rest;
                first = false;
                if body.is_empty() {
                    break;
                }
            }
        }
        out
    }

    fn all(data: &[u8]) -> Vec<Vec<u8>> {
        let mut c = Chunks::new(data, Path::new("t.wandb")).unwrap();
        let mut out = Vec::new();
        while let Some(r) = c.next_record().unwrap() {
            out.push(r);
        }
        out
    }

    struct Dribble<'a>(&'a [u8]);
    impl Read for Dribble<'_> {
        fn read(&mut self, b: &mut [u8]) -> io::Result<usize> {
            let n = b.len().min(self.0.len()).min(3);
            b[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn records_span_blocks_and_come_back_whole() {
        let records: Vec<Vec<u8>> = (0..40u8).map(|i| vec![i; 1000 + 5000 * usize::from(i)]).collect();
        let data = log(&records);
        assert!(data.len() > 3 * BLOCK as usize);
        assert_eq!(all(&data), records);
        // Read a few bytes at a time, the same records.
        let mut c = Chunks::new(Dribble(&data), Path::new("t")).unwrap();
        for r in &records {
            assert_eq!(c.next_record().unwrap().as_ref(), Some(r));
        }
        assert_eq!(c.next_record().unwrap(), None);
        assert_eq!(c.offset(), data.len() as u64);
    }

    #[test]
    fn a_block_tail_under_seven_bytes_is_padding() {
        // A first record that leaves 3 bytes at the end of block 0.
        let first = vec![1u8; BLOCK as usize - HEADER - HEADER - 3];
        let data = log(&[first.clone(), vec![2u8; 10]]);
        assert_eq!(&data[BLOCK as usize - 3..BLOCK as usize], &[0, 0, 0]);
        assert_eq!(all(&data), vec![first, vec![2u8; 10]]);
    }

    #[test]
    fn a_torn_tail_ends_the_scan_and_keeps_what_came_before() {
        let records = vec![vec![1u8; 100], vec![2u8; 50_000]];
        let data = log(&records);
        for cut in [data.len() - 1, data.len() - 20_000, 7 + 7 + 100 + 3] {
            assert_eq!(all(&data[..cut]), vec![records[0].clone()], "cut at {cut}");
        }
        // Zero padding ends it too.
        let mut padded = log(&records[..1]);
        padded.extend_from_slice(&[0; 20]);
        assert_eq!(all(&padded), vec![records[0].clone()]);
        assert!(all(b":W&B\xe1\xbe\x00").is_empty());
        assert!(all(b":W&B").is_empty());
    }

    #[test]
    fn a_file_without_the_header_is_a_value_error() {
        for data in [&b""[..], b":W&", b"PK\x03\x04xxxxxxx"] {
            let e = Chunks::new(data, Path::new("x.wandb")).err().unwrap();
            assert!(matches!(e, Error::Value(ref m) if m.contains("x.wandb")), "{e}");
        }
    }

    #[test]
    fn history_items_keys_and_step_decode() {
        let rec = history_record(
            &[
                item_bytes(None, &["loss"], "0.5"),
                item_bytes(Some("acc"), &[], "1"),
                item_bytes(None, &["n", "b"], "\"x\""),
            ],
            Some(-3),
        );
        let h = decode_history(&rec).unwrap().unwrap();
        assert_eq!(h.step, Some(-3));
        assert_eq!(h.items[1].key, "acc");
        assert_eq!(h.items[2].nested_key, vec!["n", "b"]);
        let mut last = Vec::new();
        let e = history_entry(&h, &mut last);
        let Entry::History {
            keys,
            values_json,
            step,
        } = e
        else {
            panic!()
        };
        assert_eq!(keys, Keys::Flat(vec!["loss".into(), "acc".into(), "n.b".into()]));
        assert_eq!(values_json, "[0.5,1,\"x\"]");
        assert_eq!(step, Some(-3));
        let Entry::History { keys, .. } = history_entry(&h, &mut last) else {
            panic!()
        };
        assert_eq!(keys, Keys::SameFlat);
        // No step field: None; no items: an empty array.
        let rec = history_record(&[], None);
        let h = decode_history(&rec).unwrap().unwrap();
        assert_eq!(h, History::default());
        let Entry::History { values_json, .. } = history_entry(&h, &mut last) else {
            panic!()
        };
        assert_eq!(values_json, "[]");
    }

    #[test]
    fn rows_python_would_nest_or_merge_go_the_general_way() {
        let mut last = Vec::new();
        for items in [
            vec![item_bytes(None, &["m"], "{\"_type\": \"image-file\"}")],
            vec![item_bytes(None, &["a"], "1"), item_bytes(None, &["a", "b"], "2")],
            vec![item_bytes(None, &["a", "b"], "1"), item_bytes(None, &["a"], "2")],
            vec![item_bytes(Some("a"), &[], "1"), item_bytes(None, &["a"], "2")],
            vec![
                item_bytes(None, &["a", "b"], "1"),
                item_bytes(None, &["x"], "2"),
                item_bytes(None, &["a", "c"], "3"),
            ],
            vec![
                item_bytes(None, &["img", "_type"], "\"image-file\""),
                item_bytes(None, &["img", "path"], "\"p\""),
            ],
            vec![
                item_bytes(None, &["a", "b", "x"], "1"),
                item_bytes(None, &["a", "c"], "2"),
                item_bytes(None, &["a", "b", "y"], "3"),
            ],
        ] {
            let rec = history_record(&items, Some(1));
            let h = decode_history(&rec).unwrap().unwrap();
            let Entry::History { keys, .. } = history_entry(&h, &mut last) else {
                panic!()
            };
            assert!(matches!(keys, Keys::Nested(_)), "{keys:?}");
        }
        let rec = history_record(&[item_bytes(Some("k"), &[], "{}")], None);
        let h = decode_history(&rec).unwrap().unwrap();
        let Entry::History { keys, .. } = history_entry(&h, &mut last) else {
            panic!()
        };
        assert_eq!(keys, Keys::Nested(vec![Key::Plain("k".into())]));
        // Prefixes that differ only past a part's end are distinct leaves: `ab` and `a.b`.
        let rec = history_record(
            &[item_bytes(None, &["ab"], "1"), item_bytes(None, &["a", "b"], "2")],
            None,
        );
        let h = decode_history(&rec).unwrap().unwrap();
        let Entry::History { keys, .. } = history_entry(&h, &mut last) else {
            panic!()
        };
        assert_eq!(keys, Keys::Flat(vec!["ab".into(), "a.b".into()]));
    }

    #[test]
    fn unknown_fields_of_every_wire_type_are_skipped() {
        let mut it = Vec::new();
        put_varint(&mut it, 5 << 3); // integer: varint
        put_varint(&mut it, 300);
        put_varint(&mut it, 6 << 3 | 1); // number: 64-bit
        it.extend_from_slice(&1.5f64.to_le_bytes());
        put_varint(&mut it, 99 << 3 | 5); // unknown 32-bit
        it.extend_from_slice(&[1, 2, 3, 4]);
        len_field(&mut it, 77, b"whatever");
        put_varint(&mut it, 1 << 3); // `key` with the wrong wire type: an unknown field
        put_varint(&mut it, 1);
        it.extend_from_slice(&item_bytes(None, &["k"], "2"));
        let mut h = Vec::new();
        len_field(&mut h, 1, &it);
        put_varint(&mut h, 9 << 3 | 5);
        h.extend_from_slice(&[0; 4]);
        let mut rec = Vec::new();
        len_field(&mut rec, 2, &h);
        let got = decode_history(&rec).unwrap().unwrap();
        assert_eq!(
            got.items,
            vec![Item {
                key: "",
                nested_key: vec!["k"],
                value_json: "2"
            }]
        );
        assert_eq!(got.step, None);
    }

    #[test]
    fn other_records_and_doubtful_ones_are_left_to_wandb() {
        let mut exit = Vec::new();
        len_field(&mut exit, 18, b"\x08\x01");
        assert_eq!(decode_history(&exit), Ok(None));
        // A history record with a `uuid` beside it, or `_info` inside it.
        let mut rec = history_record(&[item_bytes(None, &["k"], "1")], Some(1));
        len_field(&mut rec, 19, b"u");
        assert_eq!(decode_history(&rec), Ok(None));
        let mut h = Vec::new();
        len_field(&mut h, 200, b"");
        let mut rec = Vec::new();
        len_field(&mut rec, 2, &h);
        assert_eq!(decode_history(&rec), Ok(None));
        // Malformed wires.
        assert_eq!(decode_history(b"\x13\x14"), Err(Malformed::Group));
        assert_eq!(decode_history(b"\x16"), Err(Malformed::WireType(6)));
        assert_eq!(decode_history(b"\x12\x05ab"), Err(Malformed::Truncated));
        assert_eq!(
            decode_history(&[0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
            Err(Malformed::Varint)
        );
        assert_eq!(decode_history(b"\x00"), Err(Malformed::FieldNumber));
        let rec = history_record(&[item_bytes(None, &["\u{e9}"], "1")], None);
        let bad: Vec<u8> = rec.iter().map(|&b| if b == 0xc3 { 0xff } else { b }).collect();
        assert_eq!(decode_history(&bad), Err(Malformed::Utf8));
        // The log hands them all back as raw bytes.
        let data = log(&[exit.clone(), bad.clone()]);
        let mut l = WandbLog::new(&data[..], Path::new("t")).unwrap();
        assert_eq!(l.batch(10).unwrap(), vec![Entry::Other(exit), Entry::Other(bad)]);
        assert!(l.batch(10).unwrap().is_empty());
    }

    #[test]
    fn repeated_history_fields_merge() {
        let a = history_record(&[item_bytes(None, &["a"], "1")], Some(1));
        let b = history_record(&[item_bytes(None, &["b"], "2")], Some(5));
        let mut both = a.clone();
        both.extend_from_slice(&b);
        let h = decode_history(&both).unwrap().unwrap();
        assert_eq!(h.items.len(), 2);
        assert_eq!(h.step, Some(5));
    }
}
