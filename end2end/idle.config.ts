import { defineConfig } from "@playwright/test";
import base from "./playwright.config";

// The idle-timeout specs, against a server the test command starts with a short timeout
// (SESSION_IDLE_TIMEOUT_SECS=16).
export default defineConfig({ ...base, testDir: "./idle" });
