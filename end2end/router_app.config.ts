import { defineConfig } from "@playwright/test";
import base from "./playwright.config";

// The second app (examples/router_app): an ordinary Leptos app with a client-side router and no
// islands, built by the test command and served at ROUTER_APP_URL.
export default defineConfig({
  ...base,
  testDir: "./router_app",
  use: { ...base.use, baseURL: process.env.ROUTER_APP_URL ?? "http://127.0.0.1:3010" },
});
