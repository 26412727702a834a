// A reverse proxy between the engine and the server under test, run by the spec runner on a free
// loopback port. Every request of every engine passes through it, so the specs:
// - count requests (method, path, status) the same way in every engine, across tabs, reloads
//   and navigations: classic WebDriver (WebKitWebDriver) has no network events, and counters
//   kept in the page (a wrapped `fetch`, Resource Timing) miss the calls made while a page
//   hydrates and are gone with the page at each navigation;
// - hold a refresh call on the wire until a condition holds (Playwright's `route` in Chromium);
// - take the network away (every connection reset), for engines whose driver cannot;
// - see which cookies the browser sends where (the `__Host-`/`__Secure-` names, `SameSite`).
// It terminates TLS with a throwaway certificate and tells the server (`X-Forwarded-Proto:
// https`), so the pages run as they do in production: Secure cookies under their prefixed names.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A self-signed certificate for 127.0.0.1, made with openssl for this run only. */
export function throwawayCertificate() {
  const dir = mkdtempSync(join(tmpdir(), 'engines-tls-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,IP:127.0.0.2',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ], { stdio: 'ignore' });
    return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const cookieNames = (header) =>
  (header ?? '').split(';').map((part) => part.split('=')[0].trim()).filter(Boolean);

/**
 * Starts a proxy to `upstream` (http://host:port) on `host` (127.0.0.1), over https when
 * `tls` ({ key, cert }) is given. `extra(req, res)` may answer a request itself (return true).
 */
export async function startProxy({ upstream, tls, host = '127.0.0.1', extra }) {
  const target = new URL(upstream);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  /** Every request seen: { at, method, path, query, status, cookies, fetchSite, origin, setCookies }. */
  const log = [];
  const waiters = new Set();
  let offline = false;
  let held = null;
  const sockets = new Set();

  const changed = () => {
    for (const waiter of [...waiters]) waiter();
  };

  const handle = (req, res) => {
    const url = new URL(req.url, 'http://proxy');
    const entry = {
      at: Date.now(),
      method: req.method,
      path: url.pathname,
      query: url.search,
      status: 0,
      cookies: cookieNames(req.headers.cookie),
      // What the server's cross-site check reads (src/server/http/guard.rs).
      fetchSite: req.headers['sec-fetch-site'] ?? null,
      origin: req.headers.origin ?? null,
      setCookies: [],
    };
    log.push(entry);
    if (extra && extra(req, res, entry)) return;
    const forward = () => {
      if (offline) return req.socket.destroy();
      const headers = { ...req.headers, 'x-forwarded-proto': tls ? 'https' : 'http' };
      const outgoing = http.request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers, agent },
        (answer) => {
          entry.status = answer.statusCode;
          entry.setCookies = answer.headers['set-cookie'] ?? [];
          res.writeHead(answer.statusCode, answer.headers);
          answer.pipe(res);
          changed();
        },
      );
      outgoing.on('error', () => res.destroy());
      req.pipe(outgoing);
    };
    if (held && req.method === 'POST' && url.pathname === '/api/auth/refresh') held.then(forward);
    else forward();
  };

  const server = tls ? https.createServer(tls, handle) : http.createServer(handle);
  server.keepAliveTimeout = 60_000;
  server.on('connection', (socket) => {
    if (offline) return socket.destroy();
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise((resolve) => server.listen(0, host, resolve));
  const { port } = server.address();

  return {
    url: `${tls ? 'https' : 'http'}://${host}:${port}`,
    log,
    /** Requests from now on to the API and the form endpoints, as helpers.ts counts them. */
    counter() {
      const from = log.length;
      const seen = () => log.slice(from).filter((e) => e.path.startsWith('/api/') || e.path.startsWith('/rpc/'));
      return {
        count: (what) => seen().filter((e) => `${e.method} ${e.path}` === what).length,
        refreshes: () => seen().filter((e) => e.method === 'POST' && e.path === '/api/auth/refresh').length,
        unauthorized: (path) => seen().filter((e) => e.path === path && e.status === 401).length,
        total: () => seen().length,
        entries: seen,
      };
    },
    /** Resolves once `check()` holds (checked at each answer), or after `timeout` ms anyway. */
    until(check, timeout) {
      return new Promise((resolve) => {
        const done = () => {
          waiters.delete(done);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(done, timeout);
        waiters.add(() => check() && done());
        if (check()) done();
      });
    },
    /** Holds every refresh call until `released` resolves (null: no more holding). */
    holdRefreshes(released) {
      held = released;
    },
    /** Every connection reset, and new ones refused at once, until set back. */
    setOffline(value) {
      offline = value;
      if (value) for (const socket of sockets) socket.destroy();
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      agent.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
