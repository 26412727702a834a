import { defineConfig } from "@playwright/test";
import base from "./playwright.config";

// The chaos suite: scripts/chaos.sh runs all of it (CHAOS_FULL=1), the test command a fast subset.
export default defineConfig({ ...base, testDir: "./chaos" });
