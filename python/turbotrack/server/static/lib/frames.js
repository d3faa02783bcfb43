/**
 * Work spread over animation frames: jobs keyed by name (a job queued again before it ran is run
 * once, with its latest function), run in the order they were first queued, as many per frame as
 * fit in a time budget (at least one), the rest in the next frames. A chart's redraw is a job, so
 * a hundred answers arriving at once cost one redraw per chart, and no frame runs long.
 *
 * @module frames
 */

export class FrameQueue {
  /**
   * @param {{budgetMs?: number, raf?: (cb: () => void) => any, now?: () => number}} [opts]
   */
  constructor(opts = {}) {
    this.budgetMs = opts.budgetMs ?? 12;
    this.raf = opts.raf || ((cb) => requestAnimationFrame(cb));
    this.now = opts.now || (() => performance.now());
    /** @type {Map<string, () => void>} */
    this.jobs = new Map();
    this.scheduled = false;
    this.frames = 0;
  }

  /**
   * Queue `fn` under `key` (replacing a queued job of that key, keeping its place).
   * @param {string} key
   * @param {() => void} fn
   */
  add(key, fn) {
    this.jobs.set(key, fn);
    this.schedule();
  }

  /** @param {string} key */
  has(key) {
    return this.jobs.has(key);
  }

  /** @param {string} key */
  delete(key) {
    this.jobs.delete(key);
  }

  clear() {
    this.jobs.clear();
  }

  schedule() {
    if (this.scheduled || !this.jobs.size) return;
    this.scheduled = true;
    this.raf(() => {
      this.scheduled = false;
      this.runFrame();
    });
  }

  /** One frame's worth of jobs; the rest wait for the next frame. */
  runFrame() {
    this.frames++;
    const t0 = this.now();
    for (const [key, fn] of this.jobs) {
      this.jobs.delete(key);
      try {
        fn();
      } catch (err) {
        console.error('frame job', key, err);
      }
      if (this.now() - t0 >= this.budgetMs) break;
    }
    this.schedule();
  }
}
