/**
 * One fetch queue and answer cache for every page's history requests (workspace and run page):
 * at most `width` requests in flight, the rest waiting by priority (lower first: a zoom before the
 * background fill), the same URL asked twice while in flight fetched once, and answers kept (the
 * last `size` URLs, least recently used dropped) so a page visited again draws without asking.
 * Pure but for the fetcher it is given, so node tests drive it.
 *
 * @module queue
 */

/**
 * @typedef {{data: any, changed: boolean}} Answer
 * @typedef {(url: string, opts: {revalidate?: boolean}) => Promise<Answer>} Fetcher
 * @typedef {{priority?: number, revalidate?: boolean, cache?: boolean}} AskOpts
 *   revalidate: ask the server again (with the ETag) even when an answer is kept; cache: false
 *   skips the kept answer (and keeps the new one all the same)
 * @typedef {{url: string, opts: AskOpts, seq: number, resolve: (a: Answer) => void, reject: (e: any) => void}} Waiting
 */

export class FetchQueue {
  /**
   * @param {Fetcher} fetcher
   * @param {{width?: number, size?: number}} [opts]
   */
  constructor(fetcher, opts = {}) {
    this.fetcher = fetcher;
    this.width = opts.width ?? 2;
    this.size = opts.size ?? 2000;
    /** @type {Map<string, any>} url → data, in use order */
    this.kept = new Map();
    /** @type {Map<string, Promise<Answer>>} */
    this.inflight = new Map();
    /** @type {Waiting[]} */
    this.waiting = [];
    this.running = 0;
    this.seq = 0;
    this.fetched = 0;
  }

  /** How many more requests would start now. */
  free() {
    return Math.max(0, this.width - this.running - this.waiting.length);
  }

  /** @param {number} n */
  setWidth(n) {
    this.width = n;
    this.next();
  }

  /** The kept answer of `url`, if any. @param {string} url */
  peek(url) {
    return this.kept.get(url);
  }

  clear() {
    this.kept.clear();
  }

  /**
   * @param {string} url
   * @param {AskOpts} [opts]
   * @returns {Promise<Answer>}
   */
  get(url, opts = {}) {
    if (!opts.revalidate && opts.cache !== false && this.kept.has(url)) {
      const data = this.kept.get(url);
      this.kept.delete(url);
      this.kept.set(url, data);
      return Promise.resolve({ data, changed: true });
    }
    const same = this.inflight.get(url);
    if (same) return same;
    const p = new Promise((resolve, reject) => {
      this.waiting.push({ url, opts, seq: this.seq++, resolve, reject });
    });
    this.inflight.set(url, p);
    this.next();
    return p;
  }

  next() {
    while (this.running < this.width && this.waiting.length) {
      let best = 0;
      for (let i = 1; i < this.waiting.length; i++) {
        const a = this.waiting[i];
        const b = this.waiting[best];
        if ((a.opts.priority ?? 0) < (b.opts.priority ?? 0)) best = i;
      }
      const job = this.waiting.splice(best, 1)[0];
      this.running++;
      this.fetched++;
      this.fetcher(job.url, { revalidate: job.opts.revalidate })
        .then((answer) => {
          this.keep(job.url, answer.data);
          job.resolve(answer);
        }, job.reject)
        .finally(() => {
          this.running--;
          this.inflight.delete(job.url);
          this.next();
        });
    }
  }

  /** @param {string} url @param {any} data */
  keep(url, data) {
    this.kept.delete(url);
    this.kept.set(url, data);
    while (this.kept.size > this.size) this.kept.delete(this.kept.keys().next().value);
  }
}
