/**
 * Smoothing: TensorBoard's debiased exponential moving average.
 *
 * `s_n = w·s_{n-1} + (1-w)·y_n`, started at 0 and divided by `1 - w^n` so the first points are not
 * pulled towards zero. Non-finite values (null, NaN, ±Infinity) pass through unchanged and do not
 * advance the average; a constant series stays exactly constant.
 *
 * @module ema
 */

/**
 * @param {ArrayLike<number|null>} ys the values, in x order
 * @param {number} weight 0 (none) to <1 (heavy); clamped to [0, 0.999]
 * @returns {(number|null)[]}
 */
export function emaSmooth(ys, weight) {
  const w = Math.min(Math.max(Number(weight) || 0, 0), 0.999);
  const out = new Array(ys.length);
  if (w === 0) {
    for (let i = 0; i < ys.length; i++) out[i] = ys[i];
    return out;
  }
  let first = null;
  let constant = true;
  for (let i = 0; i < ys.length; i++) {
    const y = ys[i];
    if (y === null || !Number.isFinite(y)) continue;
    if (first === null) first = y;
    else if (y !== first) {
      constant = false;
      break;
    }
  }
  let last = 0;
  let n = 0;
  for (let i = 0; i < ys.length; i++) {
    const y = ys[i];
    if (constant || y === null || !Number.isFinite(y)) {
      out[i] = y;
      continue;
    }
    last = last * w + (1 - w) * y;
    n++;
    out[i] = last / (1 - Math.pow(w, n));
  }
  return out;
}
