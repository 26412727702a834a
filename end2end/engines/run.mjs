// The engine specs: `node run.mjs firefox|webkit [name filter…]`. Runs the specs that exercise
// engine-specific APIs (specs/) in one engine, against BASE_URL (a running release server) and,
// for the idle spec, IDLE_BASE_URL (one with SESSION_IDLE_TIMEOUT_SECS=16; the spec is skipped
// without it). Each server is reached through a proxy of the runner's own (lib/proxy.mjs), over
// https unless ENGINES_TLS=off. Writes the results and the API probes' measurements as JSON to
// ENGINES_REPORT when set. scripts/engines.sh runs it for both engines.
import { writeFileSync } from 'node:fs';
import { run } from './lib/runner.mjs';
import { startProxy, throwawayCertificate } from './lib/proxy.mjs';
import { crossSiteProbe } from './specs/probes.mjs';

const ENGINES = { firefox: './lib/firefox.mjs', webkit: './lib/webkit.mjs', chromium: './lib/chromium.mjs' };
const [engineName, ...only] = process.argv.slice(2);
if (!ENGINES[engineName]) {
  console.error(`usage: node run.mjs ${Object.keys(ENGINES).join('|')} [spec name filter…]`);
  process.exit(2);
}
const baseUrl = process.env.BASE_URL;
if (!baseUrl) {
  console.error('BASE_URL (a running release server) is not set');
  process.exit(2);
}

// The specs register themselves when imported.
for (const file of ['probes', 'first_paint', 'storm', 'reload', 'tabs', 'idle', 'offline', 'sessions']) {
  await import(`./specs/${file}.mjs`);
}

const started = Date.now();
const tls = process.env.ENGINES_TLS === 'off' ? undefined : throwawayCertificate();
const sites = {};
const proxies = [];
for (const [site, upstream] of [['main', baseUrl], ['idle', process.env.IDLE_BASE_URL]]) {
  if (!upstream) continue;
  // A second site (127.0.0.2 is another host, so another site) for the SameSite probe.
  const proxy = await startProxy({ upstream, tls, extra: crossSiteProbe.answer });
  const other = await startProxy({ upstream, tls, host: '127.0.0.2', extra: crossSiteProbe.answer });
  // Plain http, for the cookie probes' comparison.
  const plain = await startProxy({ upstream, extra: crossSiteProbe.answer });
  proxies.push(proxy, other, plain);
  sites[site] = { proxy, url: proxy.url, crossSite: other.url, plain, upstream };
}

const { launch } = await import(ENGINES[engineName]);
let engine;
let outcome = { results: [], passed: 0, failed: 1, skipped: 0 };
const launchStarted = Date.now();
try {
  engine = await launch();
  const launchMs = Date.now() - launchStarted;
  console.log(`${engine.name}: ${engine.version} (started in ${(launchMs / 1000).toFixed(1)} s), pages over ${tls ? 'https' : 'http'} through the specs' proxy`);
  outcome = await run({ engine, sites, only });
  outcome.launchMs = launchMs;
} catch (error) {
  console.error(`${engineName}: ${error.stack ?? error}`);
} finally {
  await engine?.close().catch(() => {});
  for (const proxy of proxies) await proxy.close().catch(() => {});
}

const seconds = ((Date.now() - started) / 1000).toFixed(1);
console.log(`\n${engineName}: ${seconds} s in all`);
if (process.env.ENGINES_REPORT) {
  const { probes } = await import('./specs/probes.mjs');
  writeFileSync(
    process.env.ENGINES_REPORT,
    `${JSON.stringify({ engine: engineName, version: engine?.version, seconds: Number(seconds), ...outcome, probes }, null, 2)}\n`,
  );
}
console.log(`${outcome.passed} passed, ${outcome.failed} failed${outcome.skipped ? `, ${outcome.skipped} skipped` : ''}`);
process.exit(outcome.failed === 0 ? 0 : 1);
