// Renders the chaos suite's results (one JSON object per line, written by
// end2end/chaos/chaos.spec.ts) as docs/chaos.md.
import { readFileSync, writeFileSync } from "node:fs";

const [resultsPath, outPath] = process.argv.slice(2);
const rows = readFileSync(resultsPath, "utf8").trim().split("\n").filter(Boolean).map((line) => JSON.parse(line));
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
const lines = [
  "# Chaos: tabs × faults",
  "",
  "Written by `scripts/chaos.sh` (do not edit by hand): the release server with its sessions in",
  "Redis, headless Chromium, one browser context per row. Each row expires the session's access",
  "token, switches the fault on, fires a burst of 20 requests in every tab, switches the fault",
  "off and bursts again until every tab's burst succeeds. Counted from the browser's own network",
  "events: refresh calls sent and rotations answered (200), requests that failed, requests the",
  "client said succeeded without a 200 from the server (lost), tabs on the login page afterwards",
  "(false sign-outs), and the time from the fault's end until every tab works again.",
  "",
  "Targets: 0 false sign-outs, 0 lost, at most 1 rotation per expiry per browser.",
  "",
  "Reading it: a refresh *call* is what a tab sent; a *rotation* is a call the server answered",
  "with 200. While the refresh endpoint answers 503, each call is a failure the client retries",
  "with backoff (3 failures + 1 rotation = 4 calls), and the requests waiting on it fail with",
  "`temporarily_unavailable` instead of hanging (they are the failed requests); a request made",
  "offline fails at once with a network error. None of that signs anyone out. The store fault",
  "hangs Redis with SIGSTOP: the server answers 503 after its store timeout, the same way.",
  "",
  `Run: ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC, ${rows.length} scenarios.`,
  "",
  "| fault | tabs | refresh calls | rotations | failed requests | lost | false sign-outs | time to recover |",
  "|---|---|---|---|---|---|---|---|",
  ...rows.map(
    (row) =>
      `| ${row.fault} | ${row.tabs} | ${row.refreshCalls} | ${row.rotations} | ${row.failedRequests} | ${row.lost} | ${row.falseSignOuts} | ${seconds(row.recoveryMs)} |`,
  ),
  "",
];
const missed = rows.filter((row) => row.falseSignOuts > 0 || row.lost > 0 || row.rotations > 1);
lines.push(
  missed.length === 0
    ? "Every scenario met every target."
    : `Targets missed in ${missed.length} of ${rows.length} scenarios: ${missed.map((row) => `${row.fault} with ${row.tabs} tab(s)`).join("; ")}.`,
  "",
);
writeFileSync(outPath, lines.join("\n"));
