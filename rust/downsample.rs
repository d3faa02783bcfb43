//! M4 downsampling (Jugel et al., PVLDB 2014): per bucket of the x range, keep the rows holding
//! the first and last x and the min and max y of each series, so no spike is sampled away.

/// The rows to keep, ascending, at most `max_rows` of them (when `max_rows` > 0).
///
/// `x` is the x axis of every row; `ys` are the series (each as long as `x`; NaN = no value).
/// The x range is cut into `max(1, max_rows / (4 * series))` equal buckets; each bucket keeps its
/// first and last row by x and, for each series, the row of its min and of its max. Rows whose x
/// is NaN are never kept. When `max_rows` is smaller than four points per series, the M4 rows are
/// thinned evenly to fit; when they are fewer than `max_rows`, evenly spaced rows fill the rest.
pub fn m4_indices(x: &[f64], ys: &[&[f64]], max_rows: usize) -> Vec<usize> {
    let valid: Vec<usize> = (0..x.len()).filter(|&i| !x[i].is_nan()).collect();
    if max_rows == 0 || valid.is_empty() {
        return Vec::new();
    }
    if valid.len() <= max_rows {
        return valid;
    }
    let series = ys.len().max(1);
    let buckets = (max_rows / (4 * series)).max(1);
    let mut keep = m4_buckets(x, ys, buckets);
    if keep.len() > max_rows {
        keep = thin(&keep, max_rows);
    } else if keep.len() < max_rows {
        keep = fill(&keep, &valid, max_rows);
    }
    keep
}

/// M4's rows alone (no thinning, no top-up), ascending: `buckets` equal buckets of the x range of
/// the rows whose x is not NaN, each keeping its first and last row by x (the earliest of the
/// smallest x, the latest of the largest) and each series' first row of its min and of its max.
pub fn m4_buckets(x: &[f64], ys: &[&[f64]], buckets: usize) -> Vec<usize> {
    let valid: Vec<usize> = (0..x.len()).filter(|&i| !x[i].is_nan()).collect();
    if valid.is_empty() {
        return Vec::new();
    }
    let buckets = buckets.max(1);
    let (lo, hi) = valid.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &i| {
        (lo.min(x[i]), hi.max(x[i]))
    });
    let width = hi - lo;
    let bucket_of = |v: f64| -> usize {
        if width <= 0.0 || !width.is_finite() {
            return 0;
        }
        (((v - lo) / width * buckets as f64) as usize).min(buckets - 1)
    };
    // Per bucket: first and last row by x, then (min row, max row) per series.
    let mut first = vec![usize::MAX; buckets];
    let mut last = vec![usize::MAX; buckets];
    let mut extremes = vec![(usize::MAX, usize::MAX); buckets * ys.len()];
    for &i in &valid {
        let b = bucket_of(x[i]);
        if first[b] == usize::MAX || x[i] < x[first[b]] {
            first[b] = i;
        }
        if last[b] == usize::MAX || x[i] >= x[last[b]] {
            last[b] = i;
        }
        for (s, y) in ys.iter().enumerate() {
            let v = y.get(i).copied().unwrap_or(f64::NAN);
            if v.is_nan() {
                continue;
            }
            let (mn, mx) = &mut extremes[b * ys.len() + s];
            if *mn == usize::MAX || v < y[*mn] {
                *mn = i;
            }
            if *mx == usize::MAX || v > y[*mx] {
                *mx = i;
            }
        }
    }
    let mut keep: Vec<usize> = first
        .into_iter()
        .chain(last)
        .chain(extremes.into_iter().flat_map(|(a, b)| [a, b]))
        .filter(|&i| i != usize::MAX)
        .collect();
    keep.sort_unstable();
    keep.dedup();
    keep
}

/// `keep` topped up to `max_rows` rows with evenly spaced rows of `valid` (every row of `keep` stays).
fn fill(keep: &[usize], valid: &[usize], max_rows: usize) -> Vec<usize> {
    let even = thin(valid, max_rows);
    let extra: Vec<usize> = even.into_iter().filter(|i| keep.binary_search(i).is_err()).collect();
    let room = max_rows - keep.len();
    let mut out = keep.to_vec();
    if extra.len() <= room {
        out.extend(extra);
    } else if room > 0 {
        out.extend(thin(&extra, room));
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// `max_rows` of `rows`, evenly spaced, first and last included.
fn thin(rows: &[usize], max_rows: usize) -> Vec<usize> {
    if max_rows == 1 {
        return vec![rows[0]];
    }
    let step = (rows.len() - 1) as f64 / (max_rows - 1) as f64;
    let mut out: Vec<usize> = (0..max_rows)
        .map(|k| rows[(k as f64 * step).round() as usize])
        .collect();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_inputs_are_kept_whole() {
        let x = [0.0, 1.0, 2.0];
        let y = [5.0, 6.0, 7.0];
        assert_eq!(m4_indices(&x, &[&y], 10), vec![0, 1, 2]);
        assert!(m4_indices(&x, &[&y], 0).is_empty());
    }

    #[test]
    fn a_spike_survives() {
        let n = 100_000;
        let x: Vec<f64> = (0..n).map(f64::from).collect();
        let mut y = vec![1.0; n as usize];
        y[54_321] = 1e9;
        y[77_777] = -1e9;
        let keep = m4_indices(&x, &[&y], 100);
        assert!(keep.len() <= 100);
        assert!(keep.contains(&54_321) && keep.contains(&77_777));
        assert_eq!(keep[0], 0);
        assert_eq!(*keep.last().unwrap(), n as usize - 1);
        assert!(keep.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn buckets_are_spread_over_the_x_range() {
        let x: Vec<f64> = (0..10_000).map(f64::from).collect();
        let y: Vec<f64> = x.iter().map(|v| (v / 100.0).sin()).collect();
        let keep = m4_indices(&x, &[&y], 400);
        assert_eq!(keep.len(), 400);
        // Every tenth of the range holds kept rows.
        for d in 0..10 {
            assert!(keep.iter().any(|&i| i / 1000 == d));
        }
    }

    #[test]
    fn nan_values_and_missing_x_are_skipped() {
        let x = [0.0, f64::NAN, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
        let y = [f64::NAN, 100.0, 1.0, 2.0, 50.0, 2.0, 1.0, 2.0, 1.0, 2.0];
        let keep = m4_indices(&x, &[&y], 4);
        assert!(!keep.contains(&1));
        assert!(keep.contains(&4));
        assert!(keep.len() <= 4);
    }

    #[test]
    fn two_series_keep_both_extremes() {
        let x: Vec<f64> = (0..1000).map(f64::from).collect();
        let mut a = vec![0.0; 1000];
        let mut b = vec![0.0; 1000];
        a[10] = 9.0;
        b[990] = -9.0;
        let keep = m4_indices(&x, &[&a, &b], 16);
        assert!(keep.contains(&10) && keep.contains(&990) && keep.len() == 16);
    }
}
