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
writeFileSync(outPath, lines.join("\n"));
