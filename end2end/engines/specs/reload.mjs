// A reload keeps the session: the page brings a token, and no refresh call is made.
import assert from 'node:assert/strict';
import { test } from '../lib/runner.mjs';
import { signIn, STATUS } from '../lib/flows.mjs';
import { poll, sleep } from '../lib/page.mjs';

test('a reload keeps the session with no refresh call: the page brings a token', async (t) => {
  const page = await t.newPage();
  await signIn(page);
  const requests = t.counter();
  await page.reload();
  await page.expectHydrated();
  await page.expectText({ testId: 'signed-in-user' }, 'alice');
  await page.expectContains({ role: 'region', name: 'Items' }, 'Ship the demo');
  await page.click({ role: 'button', name: 'Reload data' });
  await poll(() => requests.count('POST /api/fn/profile'), (n) => n === 1, { message: 'one profile call' });
  await page.click({ role: 'button', name: 'Burst requests' });
  await page.expectText(STATUS, '20/20 succeeded · 0 refreshes');
  await sleep(500);
  assert.equal(requests.refreshes(), 0);
});
