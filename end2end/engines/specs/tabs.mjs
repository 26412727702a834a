// Two tabs of one browser: one refresh for both (Web Locks + BroadcastChannel), a held lock
// wedges no one (the lock request's AbortSignal), and a sign-out reaches every tab.
import assert from 'node:assert/strict';
import { test } from '../lib/runner.mjs';
import { open, signIn, STATUS } from '../lib/flows.mjs';
import { poll } from '../lib/page.mjs';

const ITEMS = { role: 'region', name: 'Items' };
const BURST = { role: 'button', name: 'Burst requests' };

/** A signed-in tab and a second tab of the same browser, both hydrated on the dashboard. */
async function twoTabs(t, secondPath = '/') {
  const context = await t.newContext();
  const first = await context.newPage();
  await signIn(first);
  const second = await context.newPage();
  await open(second, secondPath);
  return { context, first, second };
}

test('two tabs bursting on an expired token make one refresh call in all', async (t) => {
  const { first, second } = await twoTabs(t);
  await second.expectContains(ITEMS, 'Ship the demo');
  await first.click({ role: 'button', name: 'Expire access token' });
  await first.expectContains(STATUS, 'expired');
  const before = await Promise.all([first, second].map(async (tab) => Number(await tab.text({ testId: 'count-401' }))));
  const requests = t.counter();
  // The refresh is held on the wire until both bursts have met the expired token (as the
  // Chromium spec does with route): otherwise a tab whose click lands after the other tab's
  // refresh has finished starts with the new token and never races.
  t.site.proxy.holdRefreshes(t.site.proxy.until(() => requests.unauthorized('/api/items') >= 40, 10_000));
  await Promise.all([first.click(BURST), second.click(BURST)]);
  await first.expectText(STATUS, /^20\/20 succeeded/, { timeout: 20_000 });
  await second.expectText(STATUS, /^20\/20 succeeded/, { timeout: 20_000 });
  assert.equal(requests.refreshes(), 1);
  // Both tabs met the expired token: the second adopted the first one's refresh.
  await first.expectText({ testId: 'count-401' }, String(before[0] + 20));
  await second.expectText({ testId: 'count-401' }, String(before[1] + 20));
});

test('a tab that holds the refresh lock and never lets go wedges no one: the other goes ahead after the bounded wait', async (t) => {
  const { first: holder, second: other } = await twoTabs(t);
  await holder.evaluate((name) => void navigator.locks.request(name, () => new Promise(() => {})), 'tokenflight-refresh');
  await poll(() => other.evaluate(async () => (await navigator.locks.query()).held.length), (held) => held === 1, {
    message: 'the lock held by the other tab',
  });
  await other.click({ role: 'button', name: 'Expire access token' });
  await other.expectContains(STATUS, 'expired');
  const requests = t.counter();
  const started = Date.now();
  await other.click(BURST);
  await other.expectText(STATUS, '20/20 succeeded · 1 refresh', { timeout: 15_000 });
  // It waited for the held lock (5 s, AuthConfig::lock_wait_ms), then withdrew its request.
  assert.ok(Date.now() - started >= 4_500, `went ahead after ${Date.now() - started} ms`);
  assert.equal(requests.refreshes(), 1);
  await other.expectText({ testId: 'signed-in-user' }, 'alice');
});

test('signing out in one tab sends the other to the login page', async (t) => {
  const { first, second } = await twoTabs(t, '/admin');
  await first.click({ role: 'button', name: 'Sign out' });
  await second.expectUrl(/^\/login\?next=\/admin$/);
});
