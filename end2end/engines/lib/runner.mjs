// A small sequential runner: each spec gets fresh browser contexts (closed after it, pass or
// fail), its own timeout, and a line of output; the run ends with "N passed, N failed". A spec
// may be marked as a known failure in one engine: it still runs, counts as passed while it
// fails, and fails the run the day it passes, so the marker goes with the fix.
import { Page } from './page.mjs';

const specs = [];

/**
 * Registers a spec. `options.site`: 'main' (default) or 'idle' (the server with a short idle
 * timeout); `options.timeout` in ms; `options.knownFailure`: { [engine]: 'why' }.
 */
export function test(name, fn, options = {}) {
  specs.push({ name, fn, timeout: 60_000, site: 'main', ...options });
}

/** The fixture a spec receives. */
function fixture(engine, site, contexts, trace) {
  // Browser and window starts are noted like page commands: a spec can hang there too.
  const note = (what, action) => new Page(null, site.url, trace).note(what, action);
  const newContext = async () => {
    const raw = await note('new context', () => engine.newContext());
    const pages = [];
    const context = {
      async newPage() {
        const page = new Page(await note('new page', () => raw.newPage()), site.url, trace);
        pages.push(page);
        return page;
      },
      /**
       * Takes the network away from this context's pages and gives it back. The proxy resets
       * every connection; where the engine's driver can (Firefox), the engine goes offline too
       * (`navigator.onLine`, the `offline`/`online` events). Where it cannot (WebKit), the page
       * is told with the events the engine would fire. Returns 'engine' or 'proxy + events'.
       */
      async setOffline(offline) {
        site.proxy.setOffline(offline);
        if (await raw.setOffline(offline)) return 'engine';
        for (const page of pages) {
          await page.evaluate((type) => window.dispatchEvent(new Event(type)), offline ? 'offline' : 'online');
        }
        return 'proxy + events';
      },
      close: () => raw.close(),
    };
    contexts.push(context);
    return context;
  };
  return {
    engine,
    site,
    newContext,
    /** A page in a context of its own. */
    async newPage() {
      return (await newContext()).newPage();
    },
    /** Counts requests from now on (see proxy.mjs). */
    counter: () => site.proxy.counter(),
  };
}

/** Runs the registered specs (those whose name contains one of `only`, if given) in `engine`. */
export async function run({ engine, sites, only = [], log = console.log }) {
  const chosen = specs.filter((spec) => only.length === 0 || only.some((part) => spec.name.includes(part)));
  const results = [];
  for (const spec of chosen) {
    const site = sites[spec.site];
    const started = Date.now();
    const known = spec.knownFailure?.[engine.name];
    if (!site) {
      results.push({ name: spec.name, outcome: 'skipped', reason: `no ${spec.site} server`, ms: 0 });
      log(`skip  ${spec.name} (no ${spec.site} server)`);
      continue;
    }
    const contexts = [];
    const trace = [];
    let error = null;
    let timer;
    try {
      await Promise.race([
        spec.fn(fixture(engine, site, contexts, trace)),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`timed out after ${spec.timeout} ms`)), spec.timeout);
        }),
      ]);
    } catch (caught) {
      error = caught;
      // The driver commands that had not returned, and the last ones before: where it hung.
      const stuck = trace.filter((entry) => entry.ended === null).map((entry) => `${entry.what} (for ${Date.now() - entry.started} ms, unanswered)`);
      const recent = trace.slice(-4).filter((entry) => entry.ended !== null).map((entry) => `${entry.what} (${entry.ended - entry.started} ms)`);
      error.trace = [...recent, ...stuck];
    } finally {
      clearTimeout(timer);
      site.proxy.setOffline(false);
      site.proxy.holdRefreshes(null);
      for (const context of contexts) await context.close().catch(() => {});
    }
    const ms = Date.now() - started;
    const seconds = `${(ms / 1000).toFixed(1)}s`.padStart(6);
    let outcome;
    if (known) {
      outcome = error ? 'known failure' : 'fixed?';
      log(`${error ? 'known' : 'FIXED'} ${seconds}  ${spec.name}`);
      if (error) log(`        known failure in ${engine.name}: ${known}\n        ${firstLines(error)}`);
      else log(`        passes in ${engine.name} now: remove its knownFailure marker (${known})`);
    } else {
      outcome = error ? 'failed' : 'passed';
      log(`${error ? 'FAIL ' : 'ok   '} ${seconds}  ${spec.name}`);
      if (error) log(`        ${firstLines(error)}`);
      if (error?.trace?.length) log(`        last driver commands:\n          ${error.trace.join('\n          ')}`);
    }
    results.push({ name: spec.name, outcome, ms, error: error ? firstLines(error) : undefined, known });
  }
  const passed = results.filter((r) => r.outcome === 'passed' || r.outcome === 'known failure').length;
  const failed = results.filter((r) => r.outcome === 'failed' || r.outcome === 'fixed?').length;
  const skipped = results.filter((r) => r.outcome === 'skipped').length;
  return { results, passed, failed, skipped };
}

function firstLines(error) {
  return String(error?.stack ?? error).split('\n').slice(0, 4).join('\n        ');
}
