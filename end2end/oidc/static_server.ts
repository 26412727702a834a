// The relying party's origin: a static server on another loopback port, serving the page, its
// glue and oidc-client-ts's browser build from node_modules.
import { createServer, Server } from "node:http";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

// This folder (its package.json makes these ES modules, which have no here).
const here = fileURLToPath(new URL(".", import.meta.url));

const files: Record<string, [string, string]> = {
  "/oidc-client-ts.js": [join(here, "node_modules/oidc-client-ts/dist/browser/oidc-client-ts.js"), "text/javascript"],
  "/app.js": [join(here, "page/app.js"), "text/javascript"],
};

/** Starts the server on a free port; resolves with it and its origin. */
export function serveRelyingParty(): Promise<{ server: Server; origin: string }> {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://x").pathname;
    const [file, type] = files[path] ?? [join(here, "page/index.html"), "text/html"];
    response.writeHead(200, { "content-type": type, "cache-control": "no-store" });
    response.end(readFileSync(file));
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      resolve({ server, origin: `http://127.0.0.1:${port}` });
    }),
  );
}
