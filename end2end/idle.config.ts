import { defineConfig } from "@playwright/test";
import base from "./playwright.config";

// The idle-timeout specs, against a server the test command starts with a short timeout
// (SESSION_IDLE_TIMEOUT_SECS=16). Each spec waits out the timeout in a browser context of its own
// and nearly idle, so they run side by side: the suite takes about as long as its longest spec.
export default defineConfig({ ...base, testDir: "./idle", fullyParallel: true, workers: 5 });
