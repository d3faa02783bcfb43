//! Statistics of a whole tensor for the summary: min, max, mean, var, std, percentiles, NaN count.

/// Percentiles reported, as in the summary's `"percentiles"` keys.
pub const PERCENTILES: [u32; 5] = [5, 25, 50, 75, 95];

#[derive(Debug, Clone, PartialEq)]
pub struct TensorStats {
    pub count: usize,
    pub nan_count: usize,
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    /// Population variance (NumPy's default, `ddof=0`).
    pub var: f64,
    pub std: f64,
    pub percentiles: [f64; 5],
}

/// Statistics of `values`, ignoring NaN. All NaN (or empty): every statistic is NaN.
pub fn tensor_stats(values: &[f64]) -> TensorStats {
    let mut finite: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    let nan_count = values.len() - finite.len();
    let n = finite.len();
    if n == 0 {
        let nan = f64::NAN;
        return TensorStats {
            count: values.len(),
            nan_count,
            min: nan,
            max: nan,
            mean: nan,
            var: nan,
            std: nan,
            percentiles: [nan; 5],
        };
    }
    finite.sort_unstable_by(f64::total_cmp);
    let mean = finite.iter().sum::<f64>() / n as f64;
    let var = if mean.is_finite() {
        finite.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64
    } else {
        f64::NAN
    };
    let pct = |p: u32| {
        // Linear interpolation between closest ranks, as numpy.percentile does by default.
        let pos = f64::from(p) / 100.0 * (n - 1) as f64;
        let lo = pos.floor() as usize;
        let hi = pos.ceil() as usize;
        // NumPy's lerp: from the nearer end, so results match it to the last bit.
        let (a, b, t) = (finite[lo], finite[hi], pos - lo as f64);
        let diff = b - a;
        if t >= 0.5 {
            b - diff * (1.0 - t)
        } else {
            a + diff * t
        }
    };
    TensorStats {
        count: values.len(),
        nan_count,
        min: finite[0],
        max: finite[n - 1],
        mean,
        var,
        std: var.sqrt(),
        percentiles: PERCENTILES.map(pct),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_numpy_definitions() {
        let s = tensor_stats(&[4.0, f64::NAN, 1.0, 3.0, 2.0]);
        assert_eq!((s.count, s.nan_count, s.min, s.max, s.mean), (5, 1, 1.0, 4.0, 2.5));
        assert_eq!(s.var, 1.25);
        // numpy.percentile([1, 2, 3, 4], [5, 25, 50, 75, 95])
        assert_eq!(s.percentiles, [1.15, 1.75, 2.5, 3.25, 3.849_999_999_999_999_6]);
    }

    #[test]
    fn all_nan_is_nan() {
        let s = tensor_stats(&[f64::NAN]);
        assert!(s.min.is_nan() && s.mean.is_nan() && s.percentiles[2].is_nan());
        assert_eq!(s.nan_count, 1);
    }
}
