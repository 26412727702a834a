// The idle timeout, against the server with a short one (SESSION_IDLE_TIMEOUT_SECS=16): tabs
// nobody uses are warned, then signed out, every one, saying why; no refresh on the way.
import assert from 'node:assert/strict';
import { test } from '../lib/runner.mjs';
import { open, signIn } from '../lib/flows.mjs';

const IDLE_S = 16;

test('tabs nobody uses are warned, then every tab is on the login page saying why', async (t) => {
  const context = await t.newContext();
  const first = await context.newPage();
  await signIn(first);
  const signedInAt = Date.now();
  const second = await context.newPage();
  await open(second, '/');
  const requests = t.counter();
  for (const tab of [first, second]) {
    await tab.expectContains({ role: 'alertdialog' }, 'You will be signed out in', { timeout: 20_000 });
  }
  for (const tab of [first, second]) {
    await tab.expectUrl(new RegExp(`^/login\\?next=/&idle=${IDLE_S}$`), { timeout: 20_000 });
    await tab.expectCount({ role: 'status', hasText: `Signed out after ${IDLE_S} seconds without activity.` }, 1);
  }
  assert.ok(Date.now() - signedInAt >= (IDLE_S - 2) * 1000, `signed out after ${Date.now() - signedInAt} ms`);
  assert.equal(requests.refreshes(), 0);
}, { site: 'idle', timeout: 90_000 });

test("a key pressed while the warning shows keeps the tab signed in, with one refresh call", async (t) => {
  const page = await t.newPage();
  await signIn(page);
  const signedInAt = Date.now();
  const requests = t.counter();
  await page.expectCount({ role: 'alertdialog' }, 1, { timeout: 20_000 });
  await page.press('Shift');
  await page.expectCount({ role: 'alertdialog' }, 0);
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, (IDLE_S + 3) * 1000 - (Date.now() - signedInAt))));
  await page.expectText({ testId: 'signed-in-user' }, 'alice');
  assert.match(new URL(await page.url()).pathname, /^\/$/);
  assert.equal(requests.refreshes(), 1);
}, { site: 'idle', timeout: 90_000 });

// The client catches up on `visibilitychange` (src/auth/context.rs, `catch_up_when_back`): a tab
// shown again is the user back. In WebKit the driver's minimise and restore bring no `blur`, and
// the client ignores a `focus` with no `blur` before it, so there only `visibilitychange` can
// answer the warning; in Firefox a `blur` and a `focus` come with the tab switch too, which the
// client also counts (docs/engines.md).
test('a tab hidden and shown again while the warning shows counts as the user coming back', async (t) => {
  const page = await t.newPage();
  await signIn(page);
  const requests = t.counter();
  await page.expectCount({ role: 'alertdialog' }, 1, { timeout: 20_000 });
  await page.raw.setHidden(true);
  await new Promise((resolve) => setTimeout(resolve, 300));
  await page.raw.setHidden(false);
  await page.expectCount({ role: 'alertdialog' }, 0);
  await page.expectText({ testId: 'signed-in-user' }, 'alice');
  await new Promise((resolve) => setTimeout(resolve, 5_000)); // past the deadline the warning named
  assert.match(new URL(await page.url()).pathname, /^\/$/);
  assert.equal(requests.refreshes(), 1);
}, { site: 'idle', timeout: 60_000 });
