// The storm: a burst on an expired token makes exactly one refresh call, counted on the wire.
import assert from 'node:assert/strict';
import { test } from '../lib/runner.mjs';
import { signIn, STATUS } from '../lib/flows.mjs';

for (const size of [20, 200]) {
  test(`a burst of ${size} requests on an expired token makes exactly one refresh call`, async (t) => {
    const page = await t.newPage();
    await signIn(page);
    if (size !== 20) await page.select('Burst size', String(size));
    await page.click({ role: 'button', name: 'Expire access token' });
    await page.expectContains(STATUS, 'expired');
    const requests = t.counter();
    await page.click({ role: 'button', name: 'Burst requests' });
    await page.expectText(STATUS, `${size}/${size} succeeded · 1 refresh`, { timeout: 30_000 });
    assert.equal(requests.refreshes(), 1);
    // Every first attempt and one retry each, nothing more.
    assert.equal(requests.count('GET /api/items'), 2 * size);
    assert.equal(requests.unauthorized('/api/items'), size);
  });
}
