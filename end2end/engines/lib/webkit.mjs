// WebKit: WebKitGTK's MiniBrowser (Debian's libwebkit2gtk-4.1) driven by Debian's
// WebKitWebDriver over classic WebDriver, from selenium-webdriver. WebKitWebDriver has no
// WebDriver BiDi (a session asking for `webSocketUrl` is refused): no network events and no
// preload scripts, which is why the specs count requests at their own proxy (proxy.mjs).
// A context is a WebDriver session: a MiniBrowser of its own, with its own ephemeral cookies and
// storage; a page is one of its windows. One WebKitWebDriver serves one session at a time
// ("Maximum number of active sessions"), so each context gets a driver of its own, under an Xvfb
// of its own (`xvfb-run -a`), started in a process group of its own (setsid) and stopped with
// that whole group, Xvfb included, when the context closes. Their group ids go to ENGINES_PIDS_FILE when set, so
// scripts/engines.sh can stop what a crashed run left behind.
import { spawn } from 'node:child_process';
import { appendFileSync, openSync } from 'node:fs';
import { createServer } from 'node:net';
import { Builder, Capabilities, Key } from 'selenium-webdriver';

export const name = 'webkit';
/** How the server's Sessions page names this browser: MiniBrowser says "Safari/605.1.15". */
export const family = 'Safari';

const MINIBROWSER = '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts `setsid xvfb-run -a WebKitWebDriver --port=N` and waits until it answers. */
async function startDriver() {
  const port = await freePort();
  const log = process.env.ENGINES_LOG_DIR ? openSync(`${process.env.ENGINES_LOG_DIR}/webkitwebdriver-${port}.log`, 'a') : 'ignore';
  const child = spawn('xvfb-run', ['-a', 'WebKitWebDriver', `--port=${port}`], {
    detached: true,
    stdio: ['ignore', log, log],
  });
  if (process.env.ENGINES_PIDS_FILE) appendFileSync(process.env.ENGINES_PIDS_FILE, `${child.pid}\n`);
  const url = `http://127.0.0.1:${port}`;
  const stop = () => {
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      // Gone already.
    }
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/status`)).ok) return { url, stop };
    } catch {
      // Not listening yet.
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      stop();
      throw new Error(`WebKitWebDriver did not start on port ${port}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function launch({ binary = process.env.MINIBROWSER_PATH ?? MINIBROWSER } = {}) {
  const running = new Set();
  const session = async (server) => {
    const capabilities = new Capabilities();
    capabilities.set('browserName', 'MiniBrowser');
    // The specs' proxy serves https with a throwaway certificate.
    capabilities.set('acceptInsecureCerts', true);
    capabilities.set('webkitgtk:browserOptions', { binary, args: ['--automation'] });
    const driver = await new Builder().usingServer(server.url).withCapabilities(capabilities).build();
    // A command that waits for a page load gives up long before a spec's own timeout.
    await driver.manage().setTimeouts({ script: 60_000, pageLoad: 20_000 });
    return driver;
  };
  // A driver (and its Xvfb) per context, never reused: with reused drivers, two runs in eight
  // hung as a spec began (before its first page command). Starting one takes ~0.5 s.
  const start = async () => {
    const server = await startDriver();
    running.add(server);
    try {
      return { server, driver: await session(server) };
    } catch (error) {
      server.stop();
      running.delete(server);
      throw error;
    }
  };
  const stop = async ({ server, driver }) => {
    await driver.quit().catch(() => {});
    server.stop();
    running.delete(server);
  };
  const probe = await start();
  const version = `MiniBrowser/${(await probe.driver.getCapabilities()).get('browserVersion')}`;
  await stop(probe);
  return {
    name,
    family,
    version,
    /** Classic WebDriver has no network emulation: the proxy takes the network away instead. */
    offlineByEngine: false,
    async newContext() {
      const started = await start();
      const { driver } = started;
      const first = await driver.getWindowHandle();
      // Every command names its window: one session, one current window at a time.
      const queue = serial();
      const selected = { current: first };
      const focus = async (handle) => {
        if (selected.current !== handle) await driver.switchTo().window(handle);
        selected.current = handle;
      };
      let opened = 0;
      return {
        async newPage() {
          const handle = await queue(async () => {
            if (opened++ === 0) return first;
            await driver.switchTo().newWindow('window');
            selected.current = await driver.getWindowHandle();
            return selected.current;
          });
          return rawPage(driver, handle, queue, focus, selected);
        },
        async setOffline() {
          return false;
        },
        close: () => stop(started),
      };
    },
    async close() {
      for (const server of running) server.stop();
    },
  };
}

/** Runs one task at a time, in order. */
function serial() {
  let tail = Promise.resolve();
  return (task) => {
    const run = tail.then(task);
    tail = run.catch(() => {});
    return run;
  };
}

const KEYS = { Shift: Key.SHIFT, Enter: Key.ENTER, Tab: Key.TAB, Escape: Key.ESCAPE };

function rawPage(driver, handle, queue, focus, selected) {
  const inWindow = (task) => queue(async () => {
    await focus(handle);
    return task();
  });
  const call = (source, args) => `return (${source})(...${JSON.stringify(args)});`;
  return {
    goto: (url) => inWindow(() => driver.get(url)),
    reload: () => inWindow(() => driver.navigate().refresh()),
    run: (source, args) =>
      inWindow(async () => {
        const answer = await driver.executeAsyncScript(
          `const done = arguments[arguments.length - 1];
           Promise.resolve()
             .then(() => (${source})(...${JSON.stringify(args)}))
             .then((value) => done({ value: value === undefined ? null : value }),
                   (error) => done({ error: String((error && error.message) || error) }));`,
        );
        if (answer.error !== undefined) throw new Error(answer.error);
        return answer.value;
      }),
    clickElement: (source, args) => inWindow(async () => (await driver.executeScript(call(source, args))).click()),
    typeInto: (source, args, text) => inWindow(async () => (await driver.executeScript(call(source, args))).sendKeys(text)),
    /** Hidden: the window minimised (WebDriver's Minimize Window); shown: its size set again. */
    setHidden: (hidden) =>
      inWindow(async () => {
        if (hidden) await driver.manage().window().minimize();
        else await driver.manage().window().setRect({ width: 1280, height: 720 });
      }),
    press: (key) =>
      inWindow(() => driver.actions().keyDown(KEYS[key] ?? key).keyUp(KEYS[key] ?? key).perform()),
    close: () =>
      inWindow(async () => {
        await driver.close();
        selected.current = null;
      }),
  };
}
