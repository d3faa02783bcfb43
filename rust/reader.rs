//! Reading history files back: every whole block of one or more files (shards of one run) into
//! columns, rows ordered by step then rank.

use std::path::{Path, PathBuf};

use rustc_hash::FxHashMap;

use crate::error::{Error, Result};
use crate::format::{decode_block, read_blocks, ColData, ReadReport};
use crate::summary::{MetricDef, Summary};

/// A metric's values and the rows (indices into the table) that hold them.
#[derive(Debug)]
pub struct Column {
    pub name: String,
    pub rows: Vec<u32>,
    pub data: ColData,
}

/// The rows of a stream.
#[derive(Debug, Default)]
pub struct Table {
    pub steps: Vec<i64>,
    pub timestamps: Vec<f64>,
    pub runtimes: Vec<f64>,
    /// The rank of each row, when the files belong to a shared run.
    pub ranks: Option<Vec<i64>>,
    pub columns: Vec<Column>,
    pub reports: Vec<(PathBuf, ReadReport)>,
}

impl Table {
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

/// A `key=value;key=value` field of a file header's meta text.
pub fn meta_field<'a>(meta: &'a str, key: &str) -> Option<&'a str> {
    meta.split(';')
        .find_map(|kv| kv.split_once('=').filter(|(k, _)| *k == key).map(|(_, v)| v))
}

/// Check a file block by block.
pub fn verify(path: &Path) -> Result<ReadReport> {
    let data = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let (_, report) = read_blocks(&data, |_, raw, n| {
        let b = decode_block(raw).map_err(|e| e.to_string())?;
        if b.steps.len() as u32 == n {
            Ok(())
        } else {
            Err("a block holds a different number of rows than its header says".into())
        }
    })
    .map_err(|msg| Error::Format {
        path: path.to_owned(),
        msg,
    })?;
    Ok(report)
}

/// Read every whole block of `paths` into one table.
pub fn read_files(paths: &[PathBuf]) -> Result<Table> {
    let mut t = Table::default();
    let mut col_of: FxHashMap<String, usize> = FxHashMap::default();
    let mut ranks: Vec<i64> = Vec::new();
    let mut shared = false;
    for path in paths {
        let data = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let (h, report) = read_blocks(&data, |hdr, raw, _| {
            let block = decode_block(raw).map_err(|e| e.to_string())?;
            let offset = t.steps.len() as u32;
            t.runtimes.extend(block.timestamps.iter().map(|ts| ts - hdr.start_time));
            t.steps.extend_from_slice(&block.steps);
            t.timestamps.extend_from_slice(&block.timestamps);
            let rank = meta_field(&hdr.meta, "rank").and_then(|r| r.parse().ok()).unwrap_or(0);
            ranks.resize(t.steps.len(), rank);
            if let Some(pid) = meta_field(&hdr.meta, "pid").and_then(|p| p.parse::<i64>().ok()) {
                // A process forked from a rank: its rows carry `_pid`.
                let k = *col_of.entry("_pid".to_owned()).or_insert_with_key(|name| {
                    t.columns.push(Column {
                        name: name.clone(),
                        rows: Vec::new(),
                        data: ColData::Int(Vec::new()),
                    });
                    t.columns.len() - 1
                });
                let col = &mut t.columns[k];
                col.rows.extend(offset..offset + block.steps.len() as u32);
                col.data.extend(ColData::Int(vec![pid; block.steps.len()]));
            }
            for c in block.columns {
                let rows = c.rows.iter().map(|r| r + offset);
                if let Some(&k) = col_of.get(&c.name) {
                    t.columns[k].rows.extend(rows);
                    t.columns[k].data.extend(c.data);
                } else {
                    col_of.insert(c.name.clone(), t.columns.len());
                    t.columns.push(Column {
                        name: c.name,
                        rows: rows.collect(),
                        data: c.data,
                    });
                }
            }
            Ok(())
        })
        .map_err(|msg| Error::Format {
            path: path.clone(),
            msg,
        })?;
        shared |= h.as_ref().is_some_and(|h| meta_field(&h.meta, "shared") == Some("1"));
        t.reports.push((path.clone(), report));
    }
    if shared {
        t.ranks = Some(ranks);
    }
    if paths.len() > 1 {
        order_rows(&mut t);
    }
    Ok(t)
}

/// The summary of the rows of `paths` (the shards of one run) under `defs`: every metric folded
/// in time order, so min/max/mean cover every rank and first/last are the earliest/latest by time.
pub fn summarize(paths: &[PathBuf], defs: Vec<MetricDef>) -> Result<String> {
    let t = read_files(paths)?;
    let mut summary = Summary::new(
        t.timestamps
            .first()
            .zip(t.runtimes.first())
            .map_or(0.0, |(ts, rt)| ts - rt),
    );
    for d in defs {
        summary.define(d);
    }
    for (id, col) in t.columns.iter().enumerate() {
        if col.name.starts_with('_') {
            continue;
        }
        let mut order: Vec<usize> = (0..col.rows.len()).collect();
        order.sort_by(|&a, &b| t.timestamps[col.rows[a] as usize].total_cmp(&t.timestamps[col.rows[b] as usize]));
        for k in order {
            let row = col.rows[k] as usize;
            summary.observe(id as u32, &col.name, &col.data.get(k), t.steps[row]);
        }
    }
    if let Some(last) = (0..t.len()).max_by(|&a, &b| t.timestamps[a].total_cmp(&t.timestamps[b])) {
        summary.row_committed(t.steps[last], t.timestamps[last]);
    }
    let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
    Ok(summary.render(|i| names[i as usize]))
}

/// Reorder rows by (step, rank), keeping each file's own order among equals.
fn order_rows(t: &mut Table) {
    let n = t.steps.len();
    let ranks = t.ranks.clone().unwrap_or_else(|| vec![0; n]);
    let mut perm: Vec<usize> = (0..n).collect();
    perm.sort_by_key(|&i| (t.steps[i], ranks[i]));
    if perm.iter().enumerate().all(|(i, p)| i == *p) {
        return;
    }
    let mut inv = vec![0u32; n];
    for (new, &old) in perm.iter().enumerate() {
        inv[old] = new as u32;
    }
    t.steps = perm.iter().map(|&i| t.steps[i]).collect();
    t.timestamps = perm.iter().map(|&i| t.timestamps[i]).collect();
    t.runtimes = perm.iter().map(|&i| t.runtimes[i]).collect();
    if let Some(r) = &mut t.ranks {
        *r = perm.iter().map(|&i| ranks[i]).collect();
    }
    for col in &mut t.columns {
        let mut order: Vec<usize> = (0..col.rows.len()).collect();
        order.sort_by_key(|&k| inv[col.rows[k] as usize]);
        col.rows = order.iter().map(|&k| inv[col.rows[k] as usize]).collect();
        col.data = col.data.gather(&order);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::block::frame_block;
    use crate::format::{BlockEncoder, FileHeader};
    use crate::value::Value;

    fn write_file(path: &Path, meta: &str, rows: &[(i64, f64)]) {
        let mut f = FileHeader::new(100.0, meta).to_bytes();
        let mut enc = BlockEncoder::default();
        for (step, x) in rows {
            enc.push_row(*step, 100.0 + *step as f64, &mut vec![(0, Value::Float(*x))]);
        }
        let mut raw = vec![];
        let n = enc.seal(|_| "x", &mut raw);
        let mut frame = vec![];
        frame_block(&raw, n, &mut frame).unwrap();
        f.extend_from_slice(&frame);
        std::fs::write(path, f).unwrap();
    }

    #[test]
    fn shards_merge_by_step_then_rank() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.ttrk");
        let b = dir.path().join("b.ttrk");
        write_file(&a, "stream=history;shared=1;rank=1", &[(0, 10.0), (1, 11.0), (2, 12.0)]);
        write_file(&b, "stream=history;shared=1;rank=0", &[(0, 0.0), (2, 2.0)]);
        let t = read_files(&[a, b]).unwrap();
        assert_eq!(t.steps, vec![0, 0, 1, 2, 2]);
        assert_eq!(t.ranks.as_deref(), Some(&[0, 1, 1, 0, 1][..]));
        assert_eq!(t.columns[0].data, ColData::Float(vec![0.0, 10.0, 11.0, 2.0, 12.0]));
        assert_eq!(t.columns[0].rows, vec![0, 1, 2, 3, 4]);
        assert_eq!(t.runtimes[2], 1.0);
    }
}
