// Sign-in and first paint: the form posts once, the signed-in page arrives with a token and
// hydrates, and the session's cookies come back under their prefixed names.
import assert from 'node:assert/strict';
import { test } from '../lib/runner.mjs';
import { ALICE, signedIn } from '../lib/flows.mjs';

test('the login page hydrates; signing in is one form post and no refresh', async (t) => {
  const page = await t.newPage();
  await page.goto('/login');
  await page.expectHydrated();
  const requests = t.counter();
  await page.fill('Username', ALICE.username);
  await page.fill('Password', ALICE.password);
  await page.click({ role: 'button', name: 'Sign in' });
  await signedIn(page);
  await page.expectContains({ role: 'region', name: 'Items' }, 'Ship the demo');
  assert.equal(requests.count('POST /rpc/login'), 1);
  assert.equal(requests.count('POST /api/auth/login'), 0);
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.equal(requests.refreshes(), 0);
});

test('the session cookies are kept under their prefixed names and sent only where they belong', async (t) => {
  const page = await t.newPage();
  const requests = t.counter();
  await page.goto('/login');
  await page.expectHydrated();
  await page.fill('Username', ALICE.username);
  await page.fill('Password', ALICE.password);
  await page.click({ role: 'button', name: 'Sign in' });
  await signedIn(page);
  const secure = t.site.url.startsWith('https:');
  const [session, refresh] = secure ? ['__Host-tf_session', '__Secure-tf_refresh'] : ['tf_session', 'tf_refresh'];
  const login = requests.entries().find((e) => e.path === '/rpc/login');
  assert.ok(login.setCookies.some((line) => line.startsWith(`${refresh}=`)), `the login sets ${refresh}: ${login.setCookies}`);
  // The engine kept both and sends them back: the session with the page, the refresh
  // credential to the refresh endpoint only (its Path is /api/auth).
  const before = t.site.proxy.log.length;
  await page.reload();
  await page.expectHydrated();
  const reloaded = t.site.proxy.log.slice(before).find((e) => e.method === 'GET' && e.path === '/');
  assert.ok(reloaded.cookies.includes(session), `the page load carries ${session}: ${reloaded.cookies}`);
  assert.ok(!reloaded.cookies.includes(refresh), `the page load does not carry ${refresh}`);
  const status = await page.evaluate(() => fetch('/api/auth/refresh', { method: 'POST' }).then((r) => r.status));
  assert.equal(status, 200, 'a refresh with the kept credential works');
  const call = t.site.proxy.log.slice(before).find((e) => e.path === '/api/auth/refresh');
  assert.ok(call.cookies.includes(refresh), `the refresh call carries ${refresh}: ${call.cookies}`);
});
