// The page the specs drive, the same in every engine: targets found inside the page
// (`in_page.mjs`), clicks and keys sent natively by the engine's driver (a real pointer or key
// event, as a person's: the client tells user activity from the browser's own), and waits that
// poll, like Playwright's web-first assertions.
import assert from 'node:assert/strict';
import { describe, locateAll } from './in_page.mjs';

/** How long an expectation waits by default, as in end2end/playwright.config.ts. */
export const EXPECT_TIMEOUT_MS = 10_000;

/** A target as it can travel into the page: RegExps as `{ source, flags }`. */
function portable(target) {
  if (typeof target === 'string' || target === undefined) return target;
  const out = { ...target };
  for (const key of ['name']) {
    if (out[key] instanceof RegExp) out[key] = { source: out[key].source, flags: out[key].flags };
  }
  if (out.within) out.within = portable(out.within);
  return out;
}

function show(target) {
  if (typeof target === 'string') return target;
  return JSON.stringify(target, (_, value) => (value instanceof RegExp ? String(value) : value));
}

const DESCRIBE = `(target) => (${describe})((${locateAll}), target)`;
const FIRST = `(target) => {
  const found = (${locateAll})(target);
  if (found.length !== 1) throw new Error(found.length + ' elements match ' + JSON.stringify(target));
  found[0].scrollIntoView({ block: 'center' });
  return found[0];
}`;

/**
 * Polls `read` until `check` accepts its value (or `timeout` passes, then fails with the last
 * value). Errors while reading (a page in the middle of a navigation) count as "not yet".
 */
export async function poll(read, check, { timeout = EXPECT_TIMEOUT_MS, message = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  let lastError;
  for (;;) {
    try {
      last = await read();
      lastError = undefined;
      if (check(last)) return last;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const seen = lastError ? `error: ${lastError.message.split('\n')[0]}` : `last: ${JSON.stringify(last)}`;
      throw new assert.AssertionError({ message: `timed out after ${timeout} ms waiting for ${message} (${seen})` });
    }
    await sleep(100);
  }
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** One tab of one engine. `raw` is the engine's driver for it (firefox.mjs, webkit.mjs). */
export class Page {
  /** `trace`: where the page notes each driver command it starts, for a spec that times out. */
  constructor(raw, baseURL, trace = []) {
    this.raw = raw;
    this.baseURL = baseURL;
    this.trace = trace;
  }

  /** Notes `what` (and when it ends) in the trace, and runs it. */
  async note(what, action) {
    const entry = { what, started: Date.now(), ended: null };
    this.trace.push(entry);
    if (this.trace.length > 50) this.trace.shift();
    try {
      return await action();
    } finally {
      entry.ended = Date.now();
    }
  }

  goto(path) {
    const url = new URL(path, this.baseURL).href;
    return this.note(`goto ${url}`, () => this.raw.goto(url));
  }

  reload() {
    return this.note('reload', () => this.raw.reload());
  }

  url() {
    return this.raw.run('() => location.href', []);
  }

  /** Runs `fn` (a function, sent as its source) in the page with JSON arguments; awaits it. */
  evaluate(fn, ...args) {
    return this.note(`evaluate ${String(fn).slice(0, 60).replace(/\s+/g, ' ')}`, () => this.raw.run(String(fn), args));
  }

  /** What the page shows of `target` now: { count, text, label, enabled, hydrated, url }. */
  inspect(target) {
    return this.raw.run(DESCRIBE, [portable(target)]);
  }

  /** Clicks the one element `target` names, once it is there and enabled, with a real click. */
  async click(target, { timeout = EXPECT_TIMEOUT_MS } = {}) {
    await poll(() => this.inspect(target), (seen) => seen.count === 1 && seen.enabled, {
      timeout,
      message: `${show(target)} to be there once and enabled`,
    });
    await this.note(`click ${show(target)}`, () => this.raw.clickElement(FIRST, [portable(target)]));
  }

  /** Types `text` into the control labelled `label`, as keys. */
  async fill(label, text) {
    await poll(() => this.inspect({ label }), (seen) => seen.count === 1, { message: `a control labelled ${label}` });
    await this.note(`fill ${label}`, () => this.raw.typeInto(FIRST, [{ label }], text));
  }

  /** Chooses `value` in the <select> labelled `label` (set in the page, then `change`). */
  async select(label, value) {
    await this.expectCount({ label }, 1);
    await this.raw.run(
      `(target, value) => {
        const select = (${locateAll})(target)[0];
        select.value = value;
        select.dispatchEvent(new Event('change', { bubbles: true }));
      }`,
      [{ label }, value],
    );
  }

  /** A key pressed and released, as the keyboard sends it (e.g. "Shift"). */
  press(key) {
    return this.note(`press ${key}`, () => this.raw.press(key));
  }

  close() {
    return this.raw.close();
  }

  // --- expectations (each polls until it holds) ---

  async expectHydrated(options) {
    await poll(() => this.inspect('body'), (seen) => seen.hydrated, { ...options, message: 'body[data-hydrated=true]' });
  }

  /** `expected`: the exact text (whitespace collapsed), or a RegExp it must match. */
  async expectText(target, expected, options) {
    const ok = (text) => (expected instanceof RegExp ? expected.test(text ?? '') : text === expected);
    await poll(() => this.inspect(target), (seen) => seen.count >= 1 && ok(seen.text), {
      ...options,
      message: `${show(target)} to have text ${expected}`,
    });
  }

  async expectContains(target, part, options) {
    await poll(() => this.inspect(target), (seen) => seen.count >= 1 && (seen.text ?? '').includes(part), {
      ...options,
      message: `${show(target)} to contain ${JSON.stringify(part)}`,
    });
  }

  async expectCount(target, count, options) {
    await poll(() => this.inspect(target), (seen) => seen.count === count, {
      ...options,
      message: `${count} of ${show(target)}`,
    });
  }

  async expectUrl(pattern, options) {
    await poll(() => this.url(), (url) => pattern.test(new URL(url).pathname + new URL(url).search), {
      ...options,
      message: `the URL to match ${pattern}`,
    });
  }

  async text(target) {
    return (await this.inspect(target)).text;
  }
}
