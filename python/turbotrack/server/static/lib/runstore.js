/**
 * The runs of a project as the workspace holds them: loaded a first page at once and the rest in
 * pages after (so 10,000 runs show their first rows without waiting for all), then kept up to date
 * by polls that ask only for what changed (`?since=`, docs/server-api.md). Pure: the fetching is
 * the caller's `get(params)`, so node tests drive it.
 *
 * @module runstore
 */

/** How far before the server's last `now` a poll asks from: the index reads new files within its scan interval. */
export const SINCE_MARGIN_S = 10;

/**
 * @typedef {{id: string, runtime?: number, heartbeat?: number, [k: string]: any}} Run
 * @typedef {{runs?: Run[], total?: number, now?: number}} Page
 * @typedef {(params: Record<string, any>) => Promise<Page>} Getter
 */

/** A run's fields that change every poll while it runs, left out when telling a change. */
const MOVING = new Set(['runtime', 'heartbeat']);

/** @param {Run} run @returns {string} what of the run a change shows in (all but runtime and heartbeat) */
export function fingerprint(run) {
  return JSON.stringify(run, (k, v) => (MOVING.has(k) ? undefined : v));
}

export class RunStore {
  /** @param {Getter} get */
  constructor(get) {
    this.get = get;
    /** @type {Run[]} */
    this.runs = [];
    /** @type {Map<string, number>} id → index in `runs` */
    this.index = new Map();
    /** @type {Map<string, string>} id → fingerprint */
    this.prints = new Map();
    this.total = 0;
    /** @type {number|null} the server's clock at the last full answer or poll */
    this.now = null;
    /** whether the runs here are a filtered first page (`total` counts the filtered runs) */
    this.partial = false;
  }

  /** Whether every run of the project is here. */
  complete() {
    return !this.partial && this.runs.length >= this.total;
  }

  /**
   * The first page (`order` as the API's, e.g. `-created_at`; `filters` the API's query, e.g. the
   * filter box's as `toMongo` compiles it: the first rows shown are then the filtered table's).
   * @param {number} limit
   * @param {string} [order]
   * @param {object|null} [filters]
   */
  async first(limit, order, filters) {
    /** @type {Record<string, any>} */
    const params = { limit, offset: 0, order };
    if (filters) params.filters = JSON.stringify(filters);
    const page = await this.get(params);
    this.reset(page.runs || [], page.total ?? (page.runs || []).length, page.now);
    this.partial = !!filters; // a filtered first page: the rest are read from the top, unfiltered
    return this.runs;
  }

  /**
   * The rest, page by page; `onPage(runs)` after each with the runs it added (in the order asked).
   * @param {number} pageSize
   * @param {string} [order]
   * @param {(added: Run[]) => void} [onPage]
   */
  async rest(pageSize, order, onPage) {
    let offset = this.partial ? 0 : this.runs.length;
    while (!this.complete()) {
      const page = await this.get({ limit: pageSize, offset, order });
      const got = page.runs || [];
      this.total = page.total ?? this.total;
      this.partial = false; // `total` is the project's from here on
      const added = got.filter((r) => !this.index.has(r.id));
      for (const r of added) this.put(r);
      if (onPage) onPage(added);
      if (got.length < pageSize) break;
      offset += got.length;
    }
  }

  /**
   * @param {Run[]} runs
   * @param {number} total
   * @param {number} [now]
   */
  reset(runs, total, now) {
    this.runs = [];
    this.index = new Map();
    this.prints = new Map();
    for (const r of runs) this.put(r);
    this.total = total;
    this.now = now ?? this.now;
  }

  /** @param {Run} run */
  put(run) {
    const i = this.index.get(run.id);
    if (i === undefined) {
      this.index.set(run.id, this.runs.length);
      this.runs.push(run);
    } else {
      this.runs[i] = run;
    }
    this.prints.set(run.id, fingerprint(run));
  }

  /**
   * Ask for what changed since the last answer and take it in.
   * @returns {Promise<{added: Run[], changed: Run[], moved: Run[], stale: boolean}>} added: new
   *   runs; changed: runs with a new name, state, config, summary...; moved: runs whose runtime or
   *   heartbeat alone moved; stale: the total no longer adds up (a run deleted): load again
   */
  async poll() {
    const since = this.now === null ? 0 : this.now - SINCE_MARGIN_S;
    const page = await this.get({ since });
    return this.merge(page);
  }

  /** @param {Page} page */
  merge(page) {
    const added = [];
    const changed = [];
    const moved = [];
    for (const run of page.runs || []) {
      const old = this.prints.get(run.id);
      if (old === undefined) added.push(run);
      else if (old !== fingerprint(run)) changed.push(run);
      else {
        const prev = this.runs[/** @type {number} */ (this.index.get(run.id))];
        if (prev.runtime !== run.runtime || prev.heartbeat !== run.heartbeat) moved.push(run);
      }
      if (this.complete() || old !== undefined) this.put(run);
    }
    this.now = page.now ?? this.now;
    if (page.total !== undefined && this.complete()) this.total = page.total;
    const stale = page.total !== undefined && this.complete() && this.runs.length !== page.total;
    return { added: this.complete() ? added : [], changed, moved, stale };
  }
}
