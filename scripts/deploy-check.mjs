// `make test`'s deploy check: builds the bundle `make deploy` would upload
// (`wrangler deploy --dry-run`, which needs no account) and fails if it
// passes Cloudflare's size limit for a Worker (3 MiB after compression on
// the Free plan, which every account can deploy to; 10 MiB on paid plans).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const LIMIT_KIB = 3 * 1024;
const outdir = mkdtempSync(join(tmpdir(), "postback-edge-deploy-"));
process.on("exit", () => rmSync(outdir, { recursive: true, force: true }));
const output = execFileSync("npx", ["wrangler", "deploy", "--dry-run", "--outdir", outdir], {
  encoding: "utf8",
  stdio: ["ignore", "pipe", "inherit"],
});
const match = output.match(/Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/);
if (!match) {
  console.error(output);
  throw new Error("wrangler deploy --dry-run printed no upload size");
}
const [total, gzip] = [Number(match[1]), Number(match[2])];
const wasm = readdirSync(outdir).find((f) => f.endsWith(".wasm"));
const wasmGzip = wasm ? gzipSync(readFileSync(join(outdir, wasm)), { level: 9 }).length : 0;
console.log(`deploy bundle: ${total} KiB, ${gzip} KiB gzip (limit ${LIMIT_KIB} KiB); wasm ${(wasmGzip / 1024).toFixed(1)} KiB gzip -9`);
if (!wasm) throw new Error("the bundle holds no wasm module");
if (gzip > LIMIT_KIB) throw new Error(`the bundle is ${gzip} KiB gzip, past the platform's ${LIMIT_KIB} KiB`);
