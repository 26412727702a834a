// The steps many specs share, as end2end/tests/helpers.ts has them for Chromium.

export const ALICE = { username: 'alice', password: 'wonderland' };
export const ADMIN = { username: 'admin', password: 'admin-secret' };

/** Signs in through the login form and waits until the destination has hydrated. */
export async function signIn(page, user = ALICE, next) {
  await page.goto(next ? `/login?next=${encodeURIComponent(next)}` : '/login');
  await page.expectHydrated();
  await page.fill('Username', user.username);
  await page.fill('Password', user.password);
  await page.click({ role: 'button', name: 'Sign in' });
  await signedIn(page, user);
}

/** The page shows `user` signed in and has hydrated. */
export async function signedIn(page, user = ALICE) {
  await page.expectText({ testId: 'signed-in-user' }, user.username);
  await page.expectHydrated();
}

/** Opens `path` in `page` and waits until it has hydrated. */
export async function open(page, path) {
  await page.goto(path);
  await page.expectHydrated();
}

/** The demo's status line. */
export const STATUS = { testId: 'demo-status' };
