// Offline and back: calls fail with a clear offline error, nobody is signed out, and the cards
// load again by themselves once the network is back (the client listens for `online`).
import assert from 'node:assert/strict';
import { test } from '../lib/runner.mjs';
import { signIn, STATUS } from '../lib/flows.mjs';
import { poll, sleep } from '../lib/page.mjs';
import { record } from './probes.mjs';

test('ten seconds offline: calls fail as offline, nobody is signed out, and the cards load again once back', async (t) => {
  const context = await t.newContext();
  const page = await context.newPage();
  await signIn(page);
  const items = { role: 'region', name: 'Items' };
  await page.expectContains(items, 'Ship the demo');
  // The demo controls are a lazy chunk fetched after hydration: here before the network goes.
  await poll(() => page.inspect({ role: 'button', name: 'Burst requests' }), (seen) => seen.enabled, {
    message: 'the demo controls',
  });
  const requests = t.counter();
  const how = await context.setOffline(true);
  record(t.engine.name, 'offline', {
    how,
    onLine: await page.evaluate(() => navigator.onLine),
    fetchError: await page.evaluate(() => fetch('/api/items').then((r) => `answered ${r.status}`, (e) => `${e.name}: ${e.message}`)),
  });
  await page.click({ role: 'button', name: 'Burst requests' });
  await page.expectText(STATUS, '0/20 succeeded · 0 refreshes');
  await page.click({ role: 'button', name: 'Reload data' });
  await page.expectContains(items, 'Offline');
  await sleep(10_000);
  await context.setOffline(false);
  // Nobody pressed anything: the card said it would load again, and it does.
  await page.expectContains(items, 'Ship the demo');
  await page.expectText({ testId: 'signed-in-user' }, 'alice');
  assert.ok(requests.refreshes() <= 1, `${requests.refreshes()} refresh calls`);
}, { timeout: 60_000 });
