/**
 * uPlot's data for one chart, kept up to date one series at a time: uPlot wants one shared x array
 * and every series' y on it (null where a run has no point). A series joins in O(its points) when
 * its x values are already on the axis (runs logged at the same steps, the usual case); new x
 * values rebuild the axis once, O(all points), when the data is next asked for (so many series
 * joining between two frames cost one rebuild). The series keep the order they joined in, so a
 * chart adds or removes one uPlot series instead of building the plot again.
 *
 * @module aligned
 */

/**
 * @typedef {{x: ArrayLike<number>, y: ArrayLike<number|null>}} Points
 * @typedef {{id: string, src: Points, ys: (number|null)[]}} Column
 */

export class AlignedData {
  constructor() {
    /** @type {number[]} the sorted union of every series' x */
    this.xs = [];
    /** @type {Map<number, number>} x → its index in `xs` */
    this.index = new Map();
    /** @type {Column[]} in the order they joined */
    this.columns = [];
    /** @type {Map<string, Column>} */
    this.byId = new Map();
    /** @type {number[]} x values not on the axis yet */
    this.pending = [];
  }

  /** @param {string} id */
  has(id) {
    return this.byId.has(id);
  }

  /** The ids, in the order the series joined. @returns {string[]} */
  ids() {
    return this.columns.map((c) => c.id);
  }

  /**
   * Add a series, or replace the points of one already here (its place is kept).
   * @param {string} id
   * @param {Points} src sorted by x
   * @returns {boolean} whether the x axis needs rebuilding (done by the next `data()`)
   */
  set(id, src) {
    const before = this.pending.length;
    for (let i = 0; i < src.x.length; i++) if (!this.index.has(src.x[i])) this.pending.push(src.x[i]);
    let col = this.byId.get(id);
    if (!col) {
      col = { id, src, ys: [] };
      this.columns.push(col);
      this.byId.set(id, col);
    }
    col.src = src;
    col.ys = this.pending.length ? [] : this.spread(src);
    return this.pending.length > before;
  }

  /** @param {string} id @returns {boolean} whether it was here */
  delete(id) {
    const col = this.byId.get(id);
    if (!col) return false;
    this.byId.delete(id);
    this.columns.splice(this.columns.indexOf(col), 1);
    return true;
  }

  clear() {
    this.xs = [];
    this.index = new Map();
    this.columns = [];
    this.byId = new Map();
    this.pending = [];
  }

  /** The data for uPlot: [xs, ys of each series in join order]. @returns {(number|null)[][]} */
  data() {
    if (this.pending.length) this.rebuild();
    return [this.xs, ...this.columns.map((c) => c.ys)];
  }

  /** A new axis: the union of the current one and the pending x values, every series spread onto it again. */
  rebuild() {
    const all = new Set(this.xs);
    for (const x of this.pending) all.add(x);
    this.pending = [];
    this.xs = Array.from(Float64Array.from(all).sort());
    this.index = new Map();
    for (let i = 0; i < this.xs.length; i++) this.index.set(this.xs[i], i);
    for (const col of this.columns) col.ys = this.spread(col.src);
  }

  /** @param {Points} src @returns {(number|null)[]} */
  spread(src) {
    const ys = new Array(this.xs.length).fill(null);
    for (let i = 0; i < src.x.length; i++) ys[/** @type {number} */ (this.index.get(src.x[i]))] = src.y[i];
    return ys;
  }
}
