import { defineConfig } from "@playwright/test";
import base from "../playwright.config";

// Measurements in the browser (scripts/bench.sh): the suite's browser settings, this folder's specs.
export default defineConfig({ ...base, testDir: ".", outputDir: "../test-results/bench" });
