// Writes `<file>.br` (brotli, quality 11) and `<file>.gz` (gzip -9) next to every .wasm, .js and
// .css file in the given folder, once per build, so the server sends them as they are
// (ServeDir::precompressed_br / precompressed_gzip) instead of compressing on each request at a
// lower level. Node's own zlib: no brotli CLI to install.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

const dir = process.argv[2];
if (!dir) throw new Error("usage: node precompress.mjs <folder>");
for (const name of readdirSync(dir).filter((name) => /\.(wasm|js|css)$/.test(name))) {
  const data = readFileSync(join(dir, name));
  const br = brotliCompressSync(data, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
      [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
    },
  });
  writeFileSync(join(dir, `${name}.br`), br);
  writeFileSync(join(dir, `${name}.gz`), gzipSync(data, { level: 9 }));
  console.log(`${name}: ${data.length} B, brotli ${br.length} B`);
}
