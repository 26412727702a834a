import { defineConfig } from "@playwright/test";
import base from "./playwright.config";

// The idle-timeout specs, against a server the test command starts with a short timeout
// (SESSION_IDLE_TIMEOUT_SECS=16). One at a time: run side by side (five workers, 45 s instead of
// 115 s) one of them failed in seven runs — the page's idle timers drift when five Chromiums
// share two cores, and these specs are about those timers.
export default defineConfig({ ...base, testDir: "./idle" });
