// Starts the built worker (js/entry.mjs over build/index.js) in Miniflare with real local KV
// and SQLite Durable Objects, and gives tests small helpers to talk to it.
import { Miniflare } from "miniflare";
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mintClick } from "./click.mjs";
import { holdToContract } from "./openapi.mjs";

export const ADMIN_TOKEN = "test-admin-token";
export const CLICK_SIGNING_KEY = "test-click-signing-key";
export const ORIGIN_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/**
 * The worker as wrangler deploys it: the guard in js/entry.mjs, which
 * imports worker-build's output from build/.
 */
export const WORKER_SCRIPT = {
  scriptPath: "js/entry.mjs",
  modulesRoot: ".",
  modules: true,
  modulesRules: [
    { type: "ESModule", include: ["**/*.js", "**/*.mjs"] },
    { type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true },
  ],
  compatibilityDate: "2025-09-01",
};

/** The log queue's name, as wrangler.toml names it. */
export const LOG_QUEUE = "postback-edge-log";

/**
 * The log's gathering as deployed: the isolate's window (the worker's
 * default) and the consumer's batch wait, as wrangler.toml sets it.
 */
export function deployedLogTimings() {
  const toml = readFileSync("wrangler.toml", "utf8");
  const seconds = Number(toml.match(/^max_batch_timeout\s*=\s*(\d+)/m)?.[1]);
  if (!seconds) throw new Error("wrangler.toml sets no max_batch_timeout");
  return {
    bindings: { LOG_BATCH_MS: "" },
    queueConsumers: { [LOG_QUEUE]: { ...PLATFORM.queueConsumers[LOG_QUEUE], maxBatchTimeout: seconds } },
  };
}

/**
 * The platform's parts the worker binds, as wrangler.toml binds them: the
 * campaigns' KV, the log's bucket and queue (the worker is its consumer,
 * with a shorter batch wait than deployed, so tests read entries sooner),
 * the Durable Objects.
 */
export const PLATFORM = {
  kvNamespaces: ["CAMPAIGNS"],
  r2Buckets: ["LOGS"],
  durableObjects: {
    CAMPAIGN: { className: "CampaignObject", useSQLite: true },
    UNATTRIBUTED: { className: "UnattributedLog", useSQLite: true },
  },
  queueProducers: { LOG_QUEUE: { queueName: LOG_QUEUE } },
  queueConsumers: { [LOG_QUEUE]: { maxBatchSize: 100, maxBatchTimeout: 1, maxRetries: 10, retryDelay: 0 } },
};

const stateDirs = [];
process.on("exit", () => {
  for (const dir of stateDirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // A worker still writing to it: the system's temp cleanup takes it.
    }
  }
});

/**
 * A fresh directory for persisted state, so a test can restart on it;
 * removed when the test file's process exits.
 */
export function stateDir() {
  const dir = mkdtempSync(join(tmpdir(), "postback-edge-"));
  stateDirs.push(dir);
  return dir;
}

/**
 * How many Durable Objects have storage in a persisted state directory
 * (`persist`): one SQLite file each, besides Miniflare's own metadata.
 */
export function storedObjects(persist) {
  const count = (dir) => {
    let n = 0;
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) n += count(path);
      else if (name.endsWith(".sqlite") && name !== "metadata.sqlite") n += 1;
    }
    return n;
  };
  return count(join(persist, "do"));
}

/**
 * Starts a worker. `persist`: a directory to keep KV and Durable Object
 * state in across restarts; `bindings`: overrides of the vars and secrets;
 * `console`: an array that collects what the runtime prints (the worker's
 * console), instead of passing it through.
 */
export async function startWorker({ persist, bindings = {}, listen = false, console: printed, queueConsumers } = {}) {
  const collect = printed
    ? {
        handleRuntimeStdio(stdout, stderr) {
          for (const stream of [stdout, stderr]) stream.on("data", (chunk) => printed.push(String(chunk)));
        },
      }
    : {};
  const mf = new Miniflare({
    ...collect,
    // With `listen`, a real HTTP port on 127.0.0.1 (for a browser).
    ...(listen ? { host: "127.0.0.1", port: 0 } : {}),
    ...WORKER_SCRIPT,
    ...PLATFORM,
    ...(queueConsumers ? { queueConsumers } : {}),
    cf: false,
    ...(persist
      ? { kvPersist: join(persist, "kv"), durableObjectsPersist: join(persist, "do"), r2Persist: join(persist, "r2") }
      : {}),
    bindings: {
      ADMIN_TOKEN,
      CLICK_SIGNING_KEY,
      ORIGIN_SECRET,
      ORIGIN_URL: "http://127.0.0.1:9",
      // Entries are sent a quarter second after their postback (5 s
      // deployed): tests read the log sooner.
      LOG_BATCH_MS: "250",
      // A commit's delivery runs a second after it (5 s deployed): tests
      // see deliveries sooner.
      DELIVERY_DELAY_MS: "1000",
      ...bindings,
    },
  });
  const url = await mf.ready;
  const worker = new Worker(mf);
  worker.url = url;
  return worker;
}

class Worker {
  constructor(mf) {
    this.mf = mf;
  }

  async dispose() {
    await this.mf.dispose();
  }

  /**
   * A request to the worker; answers { status, headers, text, json }. The
   * answer is held to docs/openapi.json first: one that does not fit fails
   * the test (tests/support/openapi.mjs).
   */
  async fetch(path, init = {}) {
    const url = `http://localhost${path}`;
    const res = await this.mf.dispatchFetch(url, { redirect: "manual", ...init });
    const text = await res.text();
    holdToContract({ method: init.method ?? "GET", url, status: res.status, headers: res.headers, text });
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json };
  }

  admin(path, init = {}) {
    return this.fetch(path, {
      ...init,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(init.headers ?? {}) },
    });
  }

  /** Stores a campaign config through the admin API; fails the test if refused. */
  async putCampaign(config) {
    const res = await this.admin(`/v1/campaigns/${config.id}`, { method: "PUT", body: JSON.stringify(config) });
    if (res.status !== 200) throw new Error(`PUT campaign ${config.id}: ${res.status} ${res.text}`);
    return res;
  }

  /** A click id minted by the worker's own /click. */
  async click(campaignId, partnerId = "77") {
    const res = await this.fetch(`/click?campaign_id=${campaignId}&partner_id=${partnerId}`);
    if (res.status !== 302) throw new Error(`click: ${res.status} ${res.text}`);
    const location = new URL(res.headers.get("location"));
    return location.searchParams.get("cid");
  }

  /** GET /postback with these parameters. */
  postback(params, path = "/postback") {
    return this.fetch(`${path}?${new URLSearchParams(params)}`);
  }
}

/** A click id signed with the test key, as any holder of the key may mint. */
export function testClick(fields) {
  return mintClick(CLICK_SIGNING_KEY, fields);
}
