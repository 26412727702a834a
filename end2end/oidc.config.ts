import { defineConfig } from "@playwright/test";
import base from "./playwright.config";

// Third-party OpenID Connect clients (issue #26): oidc-client-ts in Chromium, openid-client in Node.
export default defineConfig({ ...base, testDir: "./oidc" });
