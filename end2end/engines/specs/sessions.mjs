// The Sessions page: this browser's session, named after the engine's User-Agent, and ending
// another browser's session from here.
import assert from 'node:assert/strict';
import { test } from '../lib/runner.mjs';
import { open, signIn } from '../lib/flows.mjs';

const THIS_BROWSER = { role: 'listitem', hasText: '(this browser)' };

/** Opens /sessions and returns the label of this browser's own entry ("Firefox on Linux · abc123"). */
async function ownEntry(page) {
  await open(page, '/sessions');
  await page.expectCount(THIS_BROWSER, 1);
  const { label } = await page.inspect(THIS_BROWSER);
  return label.replace(' (this browser)', '');
}

test("the Sessions page lists this browser's session, named after the engine", async (t) => {
  const page = await t.newPage();
  await signIn(page);
  const label = await ownEntry(page);
  assert.match(label, new RegExp(`^${t.engine.family} on Linux · \\S{6}$`));
  const own = { role: 'listitem', name: `${label} (this browser)` };
  await page.expectContains(own, 'tokenflight');
  await page.expectContains(own, 'Grace replays');
});

test("ending another browser's session removes it here and sends that browser to /login at its next call", async (t) => {
  const phone = await t.newPage();
  const laptop = await t.newPage();
  await signIn(phone);
  await signIn(laptop);
  const phoneLabel = await ownEntry(phone);
  await open(phone, '/');
  await ownEntry(laptop);
  const entry = { role: 'listitem', name: phoneLabel };
  await laptop.expectCount(entry, 1);
  await laptop.click({ role: 'button', name: 'End session', within: entry });
  await laptop.expectCount({ role: 'status', hasText: 'Session ended' }, 1);
  await laptop.expectCount(entry, 0);
  await phone.click({ role: 'button', name: 'Reload data' });
  await phone.expectUrl(/^\/login\?next=\/$/);
  await laptop.reload();
  await laptop.expectHydrated();
  await laptop.expectUrl(/^\/sessions$/);
});
