// What the benchmarks share: the campaign, the key its click ids are signed
// with (the same config for our worker and the plain-JS peer), and how
// Miniflare runs a worker for them.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PLATFORM } from "../tests/support/worker.mjs";

export const KEY = "bench-click-signing-key";

export const CAMPAIGN = {
  id: "bench",
  status: "active",
  privacy: "public",
  landing_url: "https://shop.example/?cid={click_id}",
  currency: "USD",
  timezone: "Europe/Berlin",
  default_goal: "1",
  goals: [{ id: "1" }, { id: "purchase" }],
  payouts: [{ goal: "1", amount: "1.00" }, { goal: "purchase", percent: "10" }],
  caps: [{ period: "month", type: "budget", value: "100000000.00" }],
};

/** Miniflare's options for a benchmarked worker: every worker gets the same bindings. */
export const MINIFLARE_OPTIONS = {
  compatibilityDate: "2025-09-01",
  modulesRoot: process.cwd(),
  ...PLATFORM,
  cf: false,
  bindings: {
    CLICK_SIGNING_KEY: KEY,
    ADMIN_TOKEN: "bench-admin-token",
    ORIGIN_SECRET: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    ORIGIN_URL: "http://127.0.0.1:9",
  },
};

/** A JavaScript module for Miniflare's list: a file, or the given text under its name. */
export const esModule = (path, contents) => ({ type: "ESModule", path, contents: contents ?? readFileSync(path, "utf8") });

/** Our worker as wrangler deploys it: the guard, worker-build's glue, the wasm. */
export const ourModules = () => [
  esModule("js/entry.mjs"),
  esModule("build/index.js"),
  { type: "CompiledWasm", path: "build/index_bg.wasm", contents: readFileSync("build/index_bg.wasm") },
];

/** Another version's modules from `dir` (its js/entry.mjs and build/), under `prefix`. */
export function versionModules(dir, prefix = "") {
  const file = (path) => readFileSync(join(dir, path));
  return [
    esModule(`${prefix}js/entry.mjs`, file("js/entry.mjs").toString()),
    esModule(`${prefix}build/index.js`, file("build/index.js").toString()),
    { type: "CompiledWasm", path: `${prefix}build/index_bg.wasm`, contents: file("build/index_bg.wasm") },
  ];
}
