import fs from "node:fs";
import path from "node:path";
import { expect, type Page, test } from "@playwright/test";
import { signIn } from "../tests/helpers";

// A measurement, not a test: outside the test suite's folder, run by scripts/bench.sh with
// end2end/bench/playwright.config.ts, and written to docs/waterfall-bench.txt.
// Time to draw a 200-request burst = from the click on "Burst requests" to the frame in which
// the chart has every request answered (its accessible name reports the whole run and nothing is
// pending any more), measured in the page with performance.now();
// long tasks (> 50 ms, PerformanceObserver "longtask") over the same span show whether the
// page stalled while drawing.
test.setTimeout(180_000);

const RUNS = 5;

interface Sample {
  drawnMs: number;
  statusMs: number;
  longTasks: number;
  longestTaskMs: number;
  longTaskTotalMs: number;
}

async function measure(page: Page, expectedLabel: string): Promise<Sample> {
  await page.getByRole("button", { name: "Expire access token" }).click();
  await expect(page.getByTestId("demo-status")).toContainText("expired");
  await page.evaluate((label) => {
    const w = window as unknown as Record<string, unknown>;
    const longTasks: PerformanceEntry[] = [];
    w.longTasks = longTasks;
    new PerformanceObserver((list) => longTasks.push(...list.getEntries())).observe({ type: "longtask" });
    const burst = [...document.querySelectorAll("button")].find((b) => b.textContent === "Burst requests");
    burst?.addEventListener("click", () => (w.clickedAt = performance.now()), { capture: true, once: true });
    const chart = document.querySelector("[data-testid=waterfall]");
    const status = document.querySelector("[data-testid=demo-status]");
    new MutationObserver(() => {
      const done = chart?.getAttribute("aria-label") === label && chart?.getAttribute("data-pending") === "false";
      if (!w.drawnAt && done) w.drawnAt = performance.now();
    }).observe(chart!, { attributes: true, attributeFilter: ["aria-label", "data-pending"] });
    new MutationObserver(() => {
      if (!w.statusAt && /succeeded/.test(status?.textContent ?? "")) w.statusAt = performance.now();
    }).observe(status!, { childList: true, subtree: true, characterData: true });
  }, expectedLabel);
  await page.getByRole("button", { name: "Burst requests" }).click();
  await expect(page.getByRole("img", { name: expectedLabel })).toHaveAttribute("data-pending", "false", { timeout: 60_000 });
  await expect(page.getByTestId("demo-status")).toContainText("succeeded");
  await page.waitForTimeout(300); // let the last frame and any long task be reported
  return page.evaluate(() => {
    const w = window as unknown as Record<string, number & PerformanceEntry[]>;
    const from = w.clickedAt as number;
    const until = w.drawnAt as number;
    const tasks = (w.longTasks as PerformanceEntry[]).filter((t) => t.startTime + t.duration >= from && t.startTime <= until);
    return {
      drawnMs: until - from,
      statusMs: (w.statusAt as number) - from,
      longTasks: tasks.length,
      longestTaskMs: Math.max(0, ...tasks.map((t) => t.duration)),
      longTaskTotalMs: tasks.reduce((sum, t) => sum + t.duration, 0),
    };
  });
}

test("time to draw a 200-request burst", async ({ page }) => {
  await signIn(page);
  const samples: Sample[] = [];
  for (let run = 0; run < RUNS; run++) {
    await page.reload();
    await expect(page.locator("body[data-hydrated]")).toHaveCount(1);
    await page.getByLabel("Burst size").selectOption("200");
    samples.push(await measure(page, "200 requests, 1 refresh, 200 retries"));
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const lines = [
    `# 200-request burst, auth client, release build, headless Chromium (${new Date().toISOString()})`,
    "# run  drawn_ms  status_ms  long_tasks  longest_task_ms  long_task_total_ms",
    ...samples.map((s, i) =>
      [i + 1, s.drawnMs.toFixed(0), s.statusMs.toFixed(0), s.longTasks, s.longestTaskMs.toFixed(0), s.longTaskTotalMs.toFixed(0)].join("  "),
    ),
    `# median drawn_ms ${median(samples.map((s) => s.drawnMs)).toFixed(0)}, median longest_task_ms ${median(samples.map((s) => s.longestTaskMs)).toFixed(0)}`,
  ];
  fs.writeFileSync(path.join(__dirname, "../../docs/waterfall-bench.txt"), `${lines.join("\n")}\n`);
  console.log(lines.join("\n"));
});
