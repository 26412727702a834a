import { defineConfig } from "@playwright/test";
import base from "./playwright.config";

// The demo built by a plain `cargo leptos build` (debug, no --split): one wasm, no lazy chunks.
export default defineConfig({ ...base, testDir: "./plain" });
