// Prints docs/engines.md's engine table from the runner's reports:
//   node end2end/engines/table.mjs target/engines/chromium.json target/engines/firefox.json target/engines/webkit.json
import { readFileSync } from 'node:fs';

const reports = process.argv.slice(2).map((file) => JSON.parse(readFileSync(file, 'utf8')));
const yes = (value) => (value ? 'yes' : '**no**');

const ROWS = [
  ['Web Locks', ({ webLocks: l }) => !l ? '—' : !l.present ? '**absent**' :
    `present; exclusive: ${yes(l.exclusive)}; \`query()\`: ${l.query.held} held, ${l.query.pending} pending; \`ifAvailable\` while held: ${l.ifAvailableWhileHeld}`],
  ['`AbortSignal` on a lock request', ({ webLocks: l }) => !l?.present ? '—' :
    `queued request aborted: ${l.abortQueued}; \`abort(reason)\`: ${l.abortQueuedWithReason}; signal aborted before: ${l.abortedBeforeRequest}; abort after the grant: ${l.abortAfterGrant}`],
  ['BroadcastChannel', ({ broadcastChannel: b }) => !b ? '—' :
    `present; reaches the other window: ${yes(b.delivered)} (in ~${Math.max(0, b.deliveryMs)} ms, two windows' clocks); echoed to the sender: ${b.echoedToSender ? '**yes**' : 'no'}`],
  ['`visibilitychange` / freeze', ({ visibility: v }) => !v ? '—' :
    `\`visibilitychange\` on hide + show: ${v.hiddenByDriver ? v.eventsWhenHiddenAndShown.join(', ') : 'not measured (headless keeps every tab visible)'}; \`onfreeze\`/\`onresume\`: ${v.onfreeze ? 'present' : 'absent'}`],
  ['WebCrypto non-extractable key in IndexedDB', ({ webCryptoInIndexedDb: c }) => !c ? '—' :
    `ECDSA P-256, extractable false: ${c.privateExtractable === false ? 'yes' : '**no**'}; pkcs8 export ${c.exportPrivate}; stored: ${c.stored}; after a reload signs: ${yes(c.afterReload.signs)}, still not exportable: ${yes(/^refused/.test(c.afterReload.exportPrivate))}; same key in a second tab: ${yes(c.sharedWithOtherTab)}`],
  ['`__Host-` / `__Secure-` cookies (https)', ({ cookiePrefixes: k }) => !k ? '—' : prefixCell(k.https.sent)],
  ['… the same over http://127.0.0.1', ({ cookiePrefixes: k }) => !k ? '—' : prefixCell(k.http.sent)],
  ['`SameSite=Strict` (refresh cookie) vs `Lax` (session cookie)', ({ sameSite: s }) => !s ? '—' :
    Object.entries(s).map(([how, got]) => {
      const [lax, strict] = Object.keys(got).filter((k) => k !== 'Sec-Fetch-Site');
      return `${how}: Lax ${got[lax] ? 'sent' : 'not sent'}, Strict ${got[strict] ? 'sent' : 'not sent'}`;
    }).join('; ')],
  ['`Sec-Fetch-Site` on the refresh call', ({ refreshCallHeaders: h }) => !h ? '—' : `${h['Sec-Fetch-Site'] ?? '**absent**'} (Origin ${h.Origin ? 'sent' : '**absent**'})`],
  ['Offline', ({ offline: o }) => !o ? '—' :
    `taken away by: ${o.how}; \`navigator.onLine\`: ${o.onLine}; \`fetch\` rejects with "${o.fetchError}"`],
];

function prefixCell(sent) {
  const variants = ['__Host-probe-ok', '__Secure-probe-ok', '__Host-probe-nosecure', '__Secure-probe-nosecure', '__Host-probe-path', '__Host-probe-domain'];
  const refusedAsRfc = ['__Host-probe-nosecure', '__Secure-probe-nosecure', '__Host-probe-path'];
  const label = (name) => name.replace('probe-', '').replace('-ok', ' (well-formed)').replace('-nosecure', ' without Secure').replace('-path', ' with Path=/__engines').replace('-domain', ' with Domain=127.0.0.1');
  const kept = variants.filter((name) => sent.includes(name));
  const wrongly = kept.filter((name) => refusedAsRfc.includes(name));
  return `kept: ${kept.map((name) => (wrongly.includes(name) ? `**${label(name)}**` : label(name))).join(', ') || 'none'}`;
}

const header = ['', ...reports.map((r) => `${r.engine} (${r.version})`)];
console.log(`| ${header.join(' | ')} |`);
console.log(`|${header.map(() => '---').join('|')}|`);
for (const [name, cell] of ROWS) console.log(`| ${name} | ${reports.map((r) => cell(r.probes)).join(' | ')} |`);
const specs = (r) => {
  const count = (outcome) => r.results.filter((x) => x.outcome === outcome).length;
  return `${count('passed')} passed, ${count('known failure')} known failure, ${count('failed') + count('fixed?')} failed`;
};
console.log(`| Engine specs | ${reports.map(specs).join(' | ')} |`);
console.log(`| Run time (browser start) | ${reports.map((r) => `${r.seconds} s (${(r.launchMs / 1000).toFixed(1)} s)`).join(' | ')} |`);
