// The operations benchmark (`make bench`): the operations Cloudflare bills
// for each kind of postback, a log query and an export, counted where they
// happen, and what a million postbacks cost under three traffic shapes
// (docs/COST.md: the prices, the model, the figures).
//
// The worker runs in Miniflare behind a harness module (HARNESS below)
// that imports js/entry.mjs and hands it, and the objects it runs, bindings
// wrapped in counting proxies: every KV get/put/delete/list, every R2
// put/list/get/head (and what each chunk's metadata names), every queue
// send and its bytes, every Durable Object RPC call (at the stub and in
// the object) and alarm run, every setAlarm, every SQL cursor's rowsRead
// and rowsWritten (the rows the platform bills), every outbound fetch,
// every consumer batch and ack. Each kind's rows written must equal what
// its objects' own meter says (`GET /v1/campaigns/{id}/stats`).
//
// Each kind runs alone, OPS_POSTBACKS times (200), and the run waits until
// their log entries are stored and their deliveries made; the counts in
// between, divided, are the kind's. New conversions are measured three
// ways: a campaign's first (its object made), one whose object starts cold
// (a second worker on the same storage, as after the platform evicted the
// object) and one whose object is warm. Forgetting is measured on
// conversions the harness makes older than their window.
//
// The log's operations are shared: a queue message carries an isolate's
// entries of one window, a consumer batch writes the chunks of every
// message it holds. The kinds run with a 1 s window, so their share is what
// a burst of them cost; what a window and a batch cost whatever they hold
// is measured apart, in a worker at the deployed timings running beside
// the rest, and the chunks a batch needs over thousands of campaigns in one
// more run. The three shapes' bills are computed from those factors.
import { Miniflare } from "miniflare";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mintClick } from "../tests/support/click.mjs";
import { LOG_QUEUE, PLATFORM } from "../tests/support/worker.mjs";
import { startOrigin } from "../scripts/origin.mjs";
import { CAMPAIGN, KEY, MINIFLARE_OPTIONS, esModule, ourModules } from "./campaign.mjs";

const N = Number(process.env.OPS_POSTBACKS ?? 200);
const QUERIES = Number(process.env.OPS_QUERIES ?? 20);
/** Campaigns of the chunking measurement: one window's entries over this many. */
const SPREAD = Number(process.env.OPS_CAMPAIGNS ?? 2000);
const ADMIN = MINIFLARE_OPTIONS.bindings.ADMIN_TOKEN;
const ORIGIN_SECRET = MINIFLARE_OPTIONS.bindings.ORIGIN_SECRET;
/** The window the kinds run at (LOG_BATCH_MS): short, so each kind settles soon. */
const KIND_WINDOW_MS = 1000;

// Cloudflare's list prices (docs/COST.md gives their date and sources), $ per million.
const PRICE = {
  workerRequest: 0.3,
  doRequest: 0.15,
  rowRead: 0.001,
  rowWritten: 1.0,
  kvRead: 0.5,
  kvWrite: 5.0,
  r2A: 4.5,
  r2B: 0.36,
  queueOp: 0.4,
};

// ---------------------------------------------------------------------------
// The harness: the worker's module, its bindings counted.

const HARNESS = `
import entry, { CampaignObject as CampaignBase, UnattributedLog as UnattributedBase } from "./js/entry.mjs";
import { CampaignObject as RustCampaign, UnattributedLog as RustUnattributed } from "./build/index.js";

// One isolate runs the worker, its queue consumer and its objects: one meter.
const counts = new Map();
const kvReadsByKey = new Map();
const peaks = new Map();
let cursors = [];
let inFlight = 0;
const count = (name, n = 1) => counts.set(name, (counts.get(name) ?? 0) + n);
const encoder = new TextEncoder();
const bytesOf = (body) => (typeof body === "string" ? encoder.encode(body).length : body?.byteLength ?? encoder.encode(JSON.stringify(body)).length);
// Queues bill each 64 KB (of 1,000 bytes) of a message, its ~100 bytes of metadata included.
const unitsOf = (bytes) => Math.max(1, Math.ceil((bytes + 100) / 64000));

function reading() {
  for (const [cls, cursor] of cursors) {
    count("sql." + cls + ".read", cursor.rowsRead);
    count("sql." + cls + ".written", cursor.rowsWritten);
  }
  cursors = [];
  // Peaks since the last reading.
  const since = Object.fromEntries(peaks);
  peaks.clear();
  return { counts: Object.fromEntries(counts), kvReadsByKey: Object.fromEntries(kvReadsByKey), peaks: since, inFlight };
}

/** target, with the named methods counted by on(name, args) (which may wrap the result). */
function counted(target, names, on) {
  return new Proxy(target, {
    get(t, p) {
      const value = Reflect.get(t, p);
      if (typeof p !== "string" || typeof value !== "function" || !names.includes(p)) return value;
      return (...args) => {
        const after = on(p, args);
        const result = Reflect.apply(value, t, args);
        return after ? after(result) : result;
      };
    },
  });
}

/** Tracks an asynchronous call until it settles. */
function tracked(result) {
  if (!result || typeof result.then !== "function") return result;
  inFlight++;
  return Promise.resolve(result).finally(() => inFlight--);
}

function kv(binding) {
  return counted(binding, ["get", "getWithMetadata", "put", "delete", "list"], (name, [key]) => {
    count("kv." + (name === "getWithMetadata" ? "get" : name));
    if (name.startsWith("get")) {
      kvReadsByKey.set(String(key), (kvReadsByKey.get(String(key)) ?? 0) + 1);
    }
  });
}

function r2(binding) {
  return counted(binding, ["put", "list", "get", "head", "delete", "createMultipartUpload"], (name, args) => {
    count("r2." + name);
    const meta = name === "put" && args[2]?.customMetadata?.meta;
    if (meta) {
      // What the chunk's metadata names: campaigns, and their count keys.
      const campaigns = Object.values(JSON.parse(meta).tally?.campaigns ?? {});
      count("r2.put.campaigns", campaigns.length);
      peaks.set("r2.put.campaigns", Math.max(peaks.get("r2.put.campaigns") ?? 0, campaigns.length));
      count("r2.put.keys", campaigns.reduce((a, keys) => a + Object.keys(keys).length, 0));
      count("r2.put.bytes", bytesOf(args[1]));
    }
  });
}

function queue(binding) {
  return counted(binding, ["send", "sendBatch"], (name, args) => {
    const bodies = name === "send" ? [args[0]] : args[0].map((m) => m.body);
    for (const body of bodies) {
      const bytes = bytesOf(body);
      count("queue.sent");
      count("queue.sentBytes", bytes);
      count("queue.written", unitsOf(bytes));
    }
  });
}

function objects(binding, label) {
  const stub = (s) =>
    new Proxy(s, {
      get(t, p) {
        const value = Reflect.get(t, p);
        if (typeof p !== "string" || typeof value !== "function" || p === "then" || p === "constructor") return value;
        return (...args) => {
          count("rpc." + label + "." + p);
          return Reflect.apply(value, t, args);
        };
      },
    });
  return counted(binding, ["getByName", "get"], () => stub);
}

const WRAP = {
  CAMPAIGNS: kv,
  LOGS: r2,
  LOG_QUEUE: queue,
  CAMPAIGN: (b) => objects(b, "CampaignObject"),
  UNATTRIBUTED: (b) => objects(b, "UnattributedLog"),
};
const envs = new WeakMap();
function meteredEnv(env) {
  let metered = envs.get(env);
  if (!metered) {
    const wrapped = new Map();
    metered = new Proxy(env, {
      get(t, p) {
        const value = Reflect.get(t, p);
        if (typeof p !== "string" || !WRAP[p] || value == null) return value;
        if (!wrapped.has(p)) wrapped.set(p, WRAP[p](value));
        return wrapped.get(p);
      },
    });
    envs.set(env, metered);
  }
  return metered;
}

/** An object's ctx with its storage counted: SQL cursors, setAlarm. */
function meteredState(ctx, cls) {
  const sql = counted(ctx.storage.sql, ["exec"], () => (cursor) => {
    cursors.push([cls, cursor]);
    return cursor;
  });
  const storage = new Proxy(ctx.storage, {
    get(t, p) {
      if (p === "sql") return sql;
      const value = Reflect.get(t, p);
      if (typeof value !== "function") return value;
      return (...args) => {
        if (p === "setAlarm") count("do." + cls + ".setAlarm");
        if (p === "getAlarm") count("do." + cls + ".getAlarm");
        return Reflect.apply(value, t, args);
      };
    },
  });
  return new Proxy(ctx, {
    get(t, p) {
      if (p === "storage") return storage;
      const value = Reflect.get(t, p);
      return typeof value === "function" ? value.bind(t) : value;
    },
  });
}

function metered(Base, Rust, cls, methods) {
  class Metered extends Base {
    constructor(ctx, env) {
      super(ctx, env);
      this.rust = new Rust(meteredState(ctx, cls), meteredEnv(env));
    }
  }
  for (const name of methods) {
    Metered.prototype[name] = function (...args) {
      count("do." + cls + "." + name);
      return tracked(Base.prototype[name].apply(this, args));
    };
  }
  return Metered;
}

export const CampaignObject = metered(CampaignBase, RustCampaign, "CampaignObject",
  ["submit", "outboxStatus", "outboxRetry", "conversion", "stats", "legacyLog", "alarm"]);
/** The benchmark's own: the object's conversions made older by \`seconds\`, as time would (not counted). */
CampaignObject.prototype.opsAge = function (seconds) {
  this.ctx.storage.sql.exec("UPDATE known SET updated_at = updated_at - ?", seconds);
  return "aged";
};
export const UnattributedLog = metered(UnattributedBase, RustUnattributed, "UnattributedLog", ["write", "query"]);

const realFetch = globalThis.fetch;
globalThis.fetch = function (input, init) {
  count("fetch");
  return tracked(realFetch(input, init));
};

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === "/__ops/meter") return Response.json(reading());
    if (url.pathname === "/__ops/age") {
      const stub = env.CAMPAIGN.getByName(url.searchParams.get("campaign"));
      return new Response(await stub.opsAge(Number(url.searchParams.get("seconds"))));
    }
    // The benchmark's own reads of the objects' meters: not counted.
    if (request.headers.get("x-ops") === "unmetered") return entry.fetch(request, env, ctx);
    count("worker.requests");
    return tracked(entry.fetch(request, meteredEnv(env), ctx));
  },

  async queue(batch, env, ctx) {
    count("consumer.batches");
    const messages = batch.messages.map((m) => {
      const units = unitsOf(bytesOf(m.body));
      count("queue.received");
      count("queue.read", units);
      return {
        id: m.id,
        timestamp: m.timestamp,
        body: m.body,
        attempts: m.attempts,
        ack() {
          count("queue.acked");
          count("queue.deleted", units);
          m.ack();
        },
        retry() {
          count("queue.retried");
          m.retry();
        },
      };
    });
    return tracked(entry.queue({ queue: batch.queue, messages }, meteredEnv(env), ctx));
  },
};
`;

// ---------------------------------------------------------------------------
// Running the worker.

const dirs = [];
process.on("exit", () => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function start({ persist, bindings = {}, consumer = {} } = {}) {
  const mf = new Miniflare({
    ...MINIFLARE_OPTIONS,
    modules: [esModule("harness.mjs", HARNESS), ...ourModules()],
    queueConsumers: { [LOG_QUEUE]: { ...PLATFORM.queueConsumers[LOG_QUEUE], ...consumer } },
    ...(persist
      ? { kvPersist: join(persist, "kv"), durableObjectsPersist: join(persist, "do"), r2Persist: join(persist, "r2") }
      : {}),
    bindings: { ...MINIFLARE_OPTIONS.bindings, ...bindings },
  });
  await mf.ready;
  return new Run(mf, Number(bindings.LOG_BATCH_MS) || 5000);
}

/** Runs `task(i)` for i in [0, n), `width` at a time. */
async function inParallel(n, width, task) {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < n) await task(next++);
    }),
  );
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class Run {
  constructor(mf, windowMs) {
    this.mf = mf;
    this.windowMs = windowMs;
    this.lastTraffic = 0;
    this.peaks = {};
  }

  async request(path, { unmetered = false, admin = false, expect } = {}) {
    const headers = {};
    if (admin) headers.authorization = `Bearer ${ADMIN}`;
    if (unmetered) headers["x-ops"] = "unmetered";
    this.lastTraffic = Date.now();
    const res = await this.mf.dispatchFetch(`http://localhost${path}`, { headers, redirect: "manual" });
    const text = await res.text();
    if (expect && !expect(res.status, text)) throw new Error(`${path}: ${res.status} ${text.slice(0, 300)}`);
    return { status: res.status, text };
  }

  /** A postback; `code` the error code it must answer (or none: 200). */
  async postback(params, code) {
    return this.request(`/postback?${new URLSearchParams(params)}`, {
      expect: (status, text) => (code ? JSON.parse(text).error?.code === code : status === 200),
    });
  }

  /** The meter; `this.peaks` keeps the largest values seen since it was last emptied. */
  async meter() {
    const res = await this.mf.dispatchFetch("http://localhost/__ops/meter");
    const m = await res.json();
    for (const [k, v] of Object.entries(m.peaks)) this.peaks[k] = Math.max(this.peaks[k] ?? 0, v);
    return m;
  }

  async putCampaigns(configs) {
    const kv = await this.mf.getKVNamespace("CAMPAIGNS");
    await inParallel(configs.length, 16, (i) => kv.put(`campaign:${configs[i].id}`, JSON.stringify(configs[i])));
  }

  /** What the objects of `ids` say they cost since they started, summed. */
  async stats(ids) {
    const sum = { rows_read: 0, rows_written: 0, alarms_set: 0, outbox: 0 };
    await inParallel(ids.length, 8, async (i) => {
      const { text } = await this.request(`/v1/campaigns/${ids[i]}/stats`, { admin: true, unmetered: true, expect: (s) => s === 200 });
      const s = JSON.parse(text);
      for (const k of Object.keys(sum)) sum[k] += s[k];
    });
    return sum;
  }

  /**
   * Waits until everything the traffic set going has happened: a window
   * past the last request, every queue message sent read and acknowledged,
   * `deliveries` at the origin, nothing in flight, and the meter still.
   */
  async settled(origin, deliveries = 0) {
    const deadline = Date.now() + 60_000;
    let last = "";
    while (Date.now() < deadline) {
      const m = await this.meter();
      const c = m.counts;
      const quiet = Date.now() - this.lastTraffic > this.windowMs + 300;
      const drained = (c["queue.sent"] ?? 0) === (c["queue.acked"] ?? 0);
      const now = JSON.stringify(c);
      if (quiet && drained && m.inFlight === 0 && origin.received.length >= deliveries && now === last) return m;
      last = now;
      await sleep(quiet ? 400 : 150);
    }
    throw new Error("the worker did not settle within 60 s");
  }

  dispose() {
    return this.mf.dispose();
  }
}

// ---------------------------------------------------------------------------
// What one kind costs.

/** The difference of two meter readings. */
function delta(after, before) {
  const out = {};
  for (const [k, v] of Object.entries(after.counts)) out[k] = v - (before.counts[k] ?? 0);
  return out;
}

const sum = (c, prefix) => Object.entries(c).filter(([k]) => k.startsWith(prefix)).reduce((a, [, v]) => a + v, 0);

/** A kind's operations per unit (postback, query…), from a meter delta and the objects' stats delta. */
function operations(c, units, stats) {
  const g = (k) => c[k] ?? 0;
  const rpc = sum(c, "rpc.");
  // The objects' `stats` is the benchmark's own reading of their meters, unmetered at the edge.
  const inObjects = ["submit", "outboxStatus", "outboxRetry", "conversion", "legacyLog"].reduce((a, m) => a + g(`do.CampaignObject.${m}`), 0)
    + g("do.UnattributedLog.write") + g("do.UnattributedLog.query");
  const alarms = g("do.CampaignObject.alarm");
  const setAlarms = g("do.CampaignObject.setAlarm");
  const cursorsWritten = g("sql.CampaignObject.written") + g("sql.UnattributedLog.written");
  const ops = {
    workerRequests: g("worker.requests"),
    consumerBatches: g("consumer.batches"),
    doRequests: inObjects + alarms,
    rpcAtStubs: rpc,
    alarms,
    rowsRead: g("sql.CampaignObject.read") + g("sql.UnattributedLog.read"),
    rowsWritten: cursorsWritten + setAlarms,
    statsWritten: stats ? stats.rows_written + stats.alarms_set : undefined,
    kvReads: g("kv.get"),
    kvWrites: g("kv.put") + g("kv.delete") + g("kv.list"),
    r2A: g("r2.put") + g("r2.list") + g("r2.createMultipartUpload"),
    r2B: g("r2.get") + g("r2.head"),
    queueOps: g("queue.written") + g("queue.read") + g("queue.deleted"),
    subrequests: g("fetch"),
  };
  if (ops.rpcAtStubs !== inObjects) throw new Error(`RPC calls: ${ops.rpcAtStubs} at the stubs, ${inObjects} in the objects`);
  if (stats && ops.statsWritten !== g("sql.CampaignObject.written") + setAlarms) {
    throw new Error(`rows written: the objects' stats say ${ops.statsWritten}, their cursors and setAlarm ${g("sql.CampaignObject.written") + setAlarms}`);
  }
  const per = {};
  for (const [k, v] of Object.entries(ops)) per[k] = v === undefined ? undefined : v / units;
  return per;
}

/** Dollars per million units of a kind. */
function dollars(o) {
  return {
    workers: (o.workerRequests + o.consumerBatches) * PRICE.workerRequest,
    objects: o.doRequests * PRICE.doRequest,
    rowsRead: o.rowsRead * PRICE.rowRead,
    rowsWritten: o.rowsWritten * PRICE.rowWritten,
    kv: o.kvReads * PRICE.kvRead + o.kvWrites * PRICE.kvWrite,
    r2: o.r2A * PRICE.r2A + o.r2B * PRICE.r2B,
    queue: o.queueOps * PRICE.queueOp,
  };
}
const total = (d) => Object.values(d).reduce((a, b) => a + b, 0);

// ---------------------------------------------------------------------------
// The campaigns.

// The benchmarks' campaign under another id.
const campaign = (id, overrides = {}) => ({
  ...CAMPAIGN,
  id,
  default_status: "pending",
  // A cap, as most campaigns carry: its counts ride in the conversion's row.
  caps: [{ goals: [], period: "month", type: "conversions", value: 100000000 }],
  ...overrides,
});
const time = () => Math.floor(Date.now() / 1000) - 60;
const click = (campaignId) => mintClick(KEY, { campaign: campaignId, time: time() });
const ids = (prefix, n) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

// ---------------------------------------------------------------------------
// The run.

const started = Date.now();
const origin = await startOrigin({ secret: ORIGIN_SECRET, quiet: true });
const bindings = { ORIGIN_URL: origin.url, LOG_BATCH_MS: String(KIND_WINDOW_MS) };
const persist = mkdtempSync(join(tmpdir(), "postback-edge-ops-"));
dirs.push(persist);

const results = [];
/** Deliveries the origin is owed: every new conversion and update sent. */
let owed = 0;
/** Measures one kind: `run(i)` for i in [0, n), then settles. */
async function kind(w, name, n, run, { deliveries = 0, campaigns = [], fresh = false, unit = "postback" } = {}) {
  const statsBefore = campaigns.length && !fresh ? await w.stats(campaigns) : { rows_read: 0, rows_written: 0, alarms_set: 0 };
  const before = await w.settled(origin, owed);
  owed += deliveries;
  await inParallel(n, 8, run);
  const after = await w.settled(origin, owed);
  const statsAfter = campaigns.length ? await w.stats(campaigns) : null;
  const stats = statsAfter && {
    rows_read: statsAfter.rows_read - statsBefore.rows_read,
    rows_written: statsAfter.rows_written - statsBefore.rows_written,
    alarms_set: statsAfter.alarms_set - statsBefore.alarms_set,
  };
  if (statsAfter && statsAfter.outbox !== 0) throw new Error(`${name}: ${statsAfter.outbox} deliveries left`);
  const c = delta(after, before);
  const o = operations(c, n, stats);
  results.push({ name, unit, n, o });
  return { c, o };
}

// The deployed timings, in a worker of their own running beside the rest
// (LOG_BATCH_MS unset: the worker's 5 s; the consumer's wait from
// wrangler.toml): a steady trickle over a few campaigns from one isolate,
// and one campaign seen less often than the isolate trusts a config.
const toml = readFileSync("wrangler.toml", "utf8");
const consumerWait = Number(toml.match(/^max_batch_timeout\s*=\s*(\d+)/m)?.[1]);
const consumerBatch = Number(toml.match(/^max_batch_size\s*=\s*(\d+)/m)?.[1]);
const TRICKLE_S = Number(process.env.OPS_TRICKLE_SECONDS ?? 21);
const SPARSE_EVERY_S = 7;
const steady = ["a", "b", "c", "d"];
const d = await start({ bindings: { ORIGIN_URL: origin.url, LOG_BATCH_MS: "" }, consumer: { maxBatchTimeout: consumerWait } });
await d.putCampaigns([...steady, "sparse"].map((id) => campaign(id)));
const trickling = (async () => {
  const before = await d.meter();
  const start = Date.now();
  let sparse = 0;
  while (Date.now() - start < TRICKLE_S * 1000) {
    const tick = Date.now();
    await Promise.all(steady.map((id) => d.postback({ click_id: click(id), goal: "nope" }, "goal_not_found")));
    if (Math.floor((tick - start) / (SPARSE_EVERY_S * 1000)) >= sparse) {
      await d.postback({ click_id: click("sparse"), goal: "nope" }, "goal_not_found");
      sparse += 1;
    }
    await sleep(Math.max(0, 250 - (Date.now() - tick)));
  }
  const seconds = (Date.now() - start) / 1000;
  const after = await d.settled(origin, 0);
  await d.dispose();
  return { seconds, sparse, after, c: delta(after, before) };
})();

// The long tail's objects, made and first used in a first worker (what a
// campaign's first conversion costs, its object's creation included), then
// started cold in a second on the same storage, as the platform starts an
// object evicted between two of its campaign's postbacks. And a campaign
// whose conversions the second worker finds past their window, to forget.
const tail = ids("tail", N);
const old = "old";
let w = await start({ persist, bindings });
await w.putCampaigns([...tail, old].map((id) => campaign(id)));
await kind(w, "new conversion, a campaign's first (new object)", N, (i) => w.postback({ click_id: click(tail[i]) }), {
  deliveries: N,
  campaigns: tail,
  fresh: true,
});
await inParallel(N, 8, () => w.postback({ click_id: click(old), status: "approved" }));
owed += N;
await w.settled(origin, owed);
await w.dispose();
w = await start({ persist, bindings });
// Older than the longest dedupe window, before the object's first postback.
await w.request(`/__ops/age?campaign=${old}&seconds=${800 * 86_400}`, { unmetered: true, expect: (s) => s === 200 });

const hot = "hot";
const hotClicks = Array.from({ length: N }, () => click(hot));
await w.putCampaigns([campaign(hot)]);
// Warm: the campaign's config cached, its object started.
await w.postback({ click_id: click(hot), goal: "nope" }, "goal_not_found");
await w.postback({ click_id: click(hot), action_id: "warm" });
owed += 1;

await kind(w, "edge rejection, no campaign (click_id_missing)", N, () => w.postback({ status: "approved" }, "click_id_missing"));
await kind(w, "edge rejection, unknown campaign (a new id each)", N, (i) => w.postback({ click_id: click(`gone${i}`) }, "campaign_not_found"));
await kind(w, "edge rejection with a campaign (goal_not_found)", N, () => w.postback({ click_id: click(hot), goal: "nope" }, "goal_not_found"));
await kind(w, "new conversion, one hot campaign", N, (i) => w.postback({ click_id: hotClicks[i] }), { deliveries: N, campaigns: [hot] });
await kind(w, "status update pending → approved", N, (i) => w.postback({ click_id: hotClicks[i], status: "approved" }), {
  deliveries: N,
  campaigns: [hot],
});
await kind(w, "repeat (status_same)", N, (i) => w.postback({ click_id: hotClicks[i], status: "approved" }, "status_same"), { campaigns: [hot] });
await kind(w, "new conversion, a campaign each, object cold", N, (i) => w.postback({ click_id: click(tail[i]) }), {
  deliveries: N,
  campaigns: tail,
  fresh: true,
});
await kind(w, "new conversion, a campaign each, object warm", N, (i) => w.postback({ click_id: click(tail[i]) }), {
  deliveries: N,
  campaigns: tail,
});
const query = (path) => () => w.request(path, { admin: true, expect: (s) => s === 200 });
await kind(w, "log query, one campaign", QUERIES, query(`/v1/logs/postbacks?campaign_id=${hot}`), { unit: "query" });
await kind(w, "log query, every campaign", QUERIES, query(`/v1/logs/postbacks`), { unit: "query" });
const exported = await w.request(`/v1/logs/postbacks?campaign_id=${hot}&format=ndjson`, { admin: true, unmetered: true });
const exportEntries = exported.text.trim().split("\n").length;
await kind(w, `export, one campaign (${exportEntries} entries)`, QUERIES, query(`/v1/logs/postbacks?campaign_id=${hot}&format=ndjson`), {
  unit: "export",
});

// Forgetting: the old campaign's conversions, past their window, go a
// batch per postback (a repeat, after the first) until none is left; what
// the first postback's own conversion wrote is taken off.
const statsOf = async (id) => JSON.parse((await w.request(`/v1/campaigns/${id}/stats`, { admin: true, unmetered: true })).text);
const billed = (s) => s.rows_written + s.alarms_set;
const oldBefore = await statsOf(old);
const probe = click(old);
owed += 1;
let probes = 0;
let held = oldBefore.conversions;
while (held > 1 && probes < 60) {
  await w.postback({ click_id: probe, action_id: "probe" }, probes ? "status_same" : undefined);
  probes += 1;
  held = (await statsOf(old)).conversions;
  if (held > 1) await sleep(250);
}
await w.settled(origin, owed);
const oldAfter = await statsOf(old);
const forgotten = oldBefore.conversions - (oldAfter.conversions - 1);
const coldNewRows = results.find((r) => r.name.endsWith("object cold")).o.rowsWritten;
const forgetRows = (billed(oldAfter) - billed(oldBefore) - coldNewRows) / forgotten;

// Chunks per consumer batch: one window's entries over SPREAD campaigns,
// each twice under two codes (a campaign's count keys, as a mix of
// refusals and conversions gives them), written by the consumer.
const spread = ids("s", SPREAD);
await w.putCampaigns(spread.map((id) => campaign(id, { secure_code: "s3cr3t" })));
await w.settled(origin, owed);
const spreadBefore = await w.meter();
w.peaks = {};
const spreadStart = Date.now();
await inParallel(2 * SPREAD, 16, (i) => {
  const id = spread[Math.floor(i / 2)];
  return i % 2
    ? w.postback({ click_id: click(id), secure: "wrong" }, "secure_code_invalid")
    : w.postback({ click_id: click(id), secure: "s3cr3t", goal: "nope" }, "goal_not_found");
});
const spreadSeconds = (Date.now() - spreadStart) / 1000;
const spreadDelta = delta(await w.settled(origin, owed), spreadBefore);
const spreadPeaks = w.peaks;
await w.dispose();
const { seconds: trickleSeconds, sparse: sparseSent, after: trickleAfter, c: trickle } = await trickling;
await origin.close();

// ---------------------------------------------------------------------------
// The report.

const f = (x, digits = 3) => (x === undefined ? "—" : x === 0 ? "0" : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(digits));
const money = (x) => `$${x.toFixed(x >= 10 ? 1 : x >= 1 ? 2 : 3)}`;
const pad = (s, n) => String(s).padStart(n);
const g = (c, k) => c[k] ?? 0;
const W = 50;

console.log(`\noperations benchmark: Cloudflare's billed operations, counted where they happen (one Miniflare isolate)`);
console.log(`per postback (${N} of each kind), per query or export (${QUERIES} each); a burst of one kind shares its windows' queue messages and consumer batches\n`);
const COLS = [
  ["worker", "workerRequests"],
  ["consumer", "consumerBatches"],
  ["DO req", "doRequests"],
  ["alarms", "alarms"],
  ["rows rd", "rowsRead"],
  ["rows wr", "rowsWritten"],
  ["KV rd", "kvReads"],
  ["KV wr", "kvWrites"],
  ["R2 A", "r2A"],
  ["R2 B", "r2B"],
  ["queue", "queueOps"],
  ["subreq", "subrequests"],
];
console.log(`${"kind".padEnd(W)}${COLS.map(([h]) => pad(h, 9)).join("")}`);
for (const { name, o } of results) console.log(`${name.padEnd(W)}${COLS.map(([, k]) => pad(f(o[k]), 9)).join("")}`);
console.log(`worker: Worker requests; consumer: queue consumer invocations; DO req: RPC calls and alarm runs; rows wr: SQLite rows`);
console.log(`written, setAlarm included (each kind's equal to its objects' own meter, rows_written + alarms_set); KV wr: puts,`);
console.log(`deletes, lists; R2 A: puts and lists; R2 B: gets and heads; queue: 64 KB units written, read and deleted; subreq: fetches`);

console.log(`\n$ per million of each kind, at list prices (docs/COST.md)`);
const LINES = [["Workers", "workers"], ["DO req", "objects"], ["rows rd", "rowsRead"], ["rows wr", "rowsWritten"], ["KV", "kv"], ["R2", "r2"], ["queue", "queue"]];
console.log(`${"kind".padEnd(W)}${LINES.map(([h]) => pad(h, 9)).join("")}${pad("total", 9)}`);
for (const { name, o } of results) {
  const dl = dollars(o);
  console.log(`${name.padEnd(W)}${LINES.map(([, l]) => pad(dl[l].toFixed(3), 9)).join("")}${pad(total(dl).toFixed(2), 9)}`);
}

// The factors the shapes are computed from, each measured above.
/** A constant of the worker's source, in seconds. */
function constant(path, name) {
  const ms = readFileSync(path, "utf8").match(new RegExp(`const ${name}: u64 = ([\\d_]+);`))?.[1];
  if (!ms) throw new Error(`${path} defines no ${name}`);
  return Number(ms.replaceAll("_", "")) / 1000;
}
const TTL_S = constant("src/shell/campaigns.rs", "TTL_MS");
const WINDOW_S = constant("src/shell/log_queue.rs", "DEFAULT_WINDOW_MS");
const DELIVERY_DELAY_S = constant("src/shell/campaign_object/mod.rs", "DELIVERY_DELAY_MS");
/** How long the platform keeps an idle object before it is evicted (Cloudflare's lifecycle documentation). */
const EVICTED_AFTER_S = 10;
const steadyReads = steady.reduce((a, id) => a + (trickleAfter.kvReadsByKey[`campaign:${id}`] ?? 0), 0) / steady.length;
const sparseReads = trickleAfter.kvReadsByKey["campaign:sparse"] ?? 0;
const trickleMessages = g(trickle, "queue.sent");
const bytesPerEntry = g(spreadDelta, "queue.sentBytes") / (2 * SPREAD);
const spreadChunks = g(spreadDelta, "r2.put");
const spreadBatches = g(spreadDelta, "consumer.batches");
// What a full chunk's metadata names: the most one of them named.
const campaignsPerChunk = spreadPeaks["r2.put.campaigns"];
const keysPerCampaign = g(spreadDelta, "r2.put.keys") / g(spreadDelta, "r2.put.campaigns");

console.log(`\nfactors of the model`);
// A window (or a cache entry) lasts its time plus the wait for the next postback.
const spans = (lifetime) => Math.ceil(trickleSeconds / (lifetime + 0.25));
console.log(`  config cache: a campaign postbacked 4×/s by one isolate for ${trickleSeconds.toFixed(0)} s read KV ${f(steadyReads, 1)} times (one read per ${TTL_S} s the isolate trusts a config: ${spans(TTL_S)}); one postbacked every ${SPARSE_EVERY_S} s, ${sparseReads} times in ${sparseSent} postbacks`);
console.log(`  log window: that isolate sent ${trickleMessages} queue messages (one per ${WINDOW_S} s window of traffic: ${spans(WINDOW_S)}), ${f((g(trickle, "queue.written") + g(trickle, "queue.read") + g(trickle, "queue.deleted")) / trickleMessages, 1)} queue operations each; the consumer took ${g(trickle, "consumer.batches")} batches and put ${g(trickle, "r2.put")} chunks`);
console.log(`  log entry: ${bytesPerEntry.toFixed(0)} bytes of its queue message (${2 * SPREAD} entries in ${g(spreadDelta, "queue.sent")} messages, ${(g(spreadDelta, "queue.sentBytes") / g(spreadDelta, "queue.sent") / 1000).toFixed(0)} KB each), ${(g(spreadDelta, "r2.put.bytes") / (2 * SPREAD)).toFixed(0)} bytes of its chunk in R2`);
console.log(`  chunks: ${2 * SPREAD} entries over ${SPREAD} campaigns (${keysPerCampaign.toFixed(1)} count keys each) in ${spreadSeconds.toFixed(1)} s: ${spreadBatches} consumer batches, ${spreadChunks} chunk puts naming ${(g(spreadDelta, "r2.put.campaigns") / spreadChunks).toFixed(1)} campaigns each, at most ${campaignsPerChunk} (a full chunk's metadata)`);
console.log(`  forgetting: ${forgetRows.toFixed(2)} rows written per conversion forgotten past its window (${forgotten} in ${probes} postbacks)`);
console.log(`  consumer (wrangler.toml): batches of up to ${consumerBatch} messages or ${consumerWait} s; worker: a ${WINDOW_S} s log window, a ${TTL_S} s config cache`);

// ---------------------------------------------------------------------------
// The three shapes, per million postbacks.

const kindNamed = (suffix) => results.find((r) => r.name.endsWith(suffix)).o;
const K = {
  rejection: kindNamed("(goal_not_found)"),
  cold: kindNamed("object cold"),
  warm: kindNamed("object warm"),
  hot: kindNamed("one hot campaign"),
};
/** KV reads per postback of an (isolate, campaign) pair seen `rate`/s: one per cache lifetime. */
const kvPerPostback = (rate, ttl) => 1 / (1 + rate * ttl);

/**
 * A shape's bill per million postbacks: `rate` postbacks/s over `campaigns`
 * campaigns on `isolates` isolates, `conversions` of them new conversions
 * and the rest edge rejections with a campaign. A campaign's conversion
 * finds its object cold when the one before was more than the delivery
 * delay and the eviction time ago.
 */
function shape({ rate, campaigns, isolates, conversions, ttl = TTL_S }) {
  const perCampaign = (rate * conversions) / campaigns;
  const cold = campaigns === 1 ? 0 : Math.exp(-perCampaign * (DELIVERY_DELAY_S + EVICTED_AFTER_S));
  // A conversion that comes within the delivery delay of its campaign's
  // one before finds that one's alarm set: it sets none (a row) and runs
  // none (a request). The long-tail kinds above each set their own.
  const sharing = campaigns === 1 ? 0 : 1 - 1 / (1 + perCampaign * DELIVERY_DELAY_S);
  const shared = { rowsWritten: sharing, doRequests: sharing, alarms: sharing };
  const newKind = (k) => (campaigns === 1 ? K.hot[k] : cold * K.cold[k] + (1 - cold) * K.warm[k] - (shared[k] ?? 0));
  const mix = (k) => conversions * newKind(k) + (1 - conversions) * K.rejection[k];
  const perIsolate = rate / isolates;
  const seconds = 1e6 / rate;
  // The log: a window opens at an isolate's first entry after the last one
  // closed and sends one message (of up to 100 KB) of what it gathered;
  // the consumer takes a batch per wait (or per 100 messages), its chunks
  // cut per shard by the campaigns their metadata can name (or 1 MiB).
  const windows = (seconds / (WINDOW_S + 1 / perIsolate)) * isolates;
  const windowBytes = (1 + perIsolate * WINDOW_S) * bytesPerEntry;
  const perWindow = Math.ceil(windowBytes / 100_000);
  const messages = windows * perWindow;
  const queueOps = messages * 3 * Math.ceil((windowBytes / perWindow + 100) / 64_000);
  const batches = Math.max(seconds / consumerWait, messages / consumerBatch);
  const entriesPerBatch = 1e6 / batches;
  const distinct = campaigns * (1 - Math.exp(-entriesPerBatch / campaigns));
  const shards = Math.min(4, Math.max(1, Math.round(distinct)));
  const chunks = batches * shards * Math.max(Math.ceil(distinct / shards / campaignsPerChunk), Math.ceil(((entriesPerBatch / shards) * bytesPerEntry) / (1 << 20)));
  // Every postback here reads its config (the rejections and conversions alike).
  const kvReads = 1e6 * kvPerPostback(perIsolate / campaigns, ttl);
  const lines = {
    "Workers requests": (1e6 * mix("workerRequests") + batches) * PRICE.workerRequest,
    "Durable Object requests": 1e6 * mix("doRequests") * PRICE.doRequest,
    "SQLite rows written": 1e6 * (mix("rowsWritten") + conversions * forgetRows) * PRICE.rowWritten,
    "SQLite rows read": 1e6 * mix("rowsRead") * PRICE.rowRead,
    "KV reads": kvReads * PRICE.kvRead,
    "KV writes": 1e6 * mix("kvWrites") * PRICE.kvWrite,
    "R2 Class A": chunks * PRICE.r2A,
    "Queue operations": queueOps * PRICE.queueOp,
  };
  for (const k of Object.keys(lines)) lines[k] /= 1e6;
  return { lines, total: total(lines), cold, sharing, kvReads, messages, chunks, perIsolate };
}

const SHAPES = [
  ["(i) 10/s over 1,000 campaigns, 20 isolates", { rate: 10, campaigns: 1000, isolates: 20, conversions: 0.5 }],
  ["(ii) 1,000/s over 5,000 campaigns, 100 isolates", { rate: 1000, campaigns: 5000, isolates: 100, conversions: 0.5 }],
  ["(iii) 1,000/s on one campaign, 100 isolates", { rate: 1000, campaigns: 1, isolates: 100, conversions: 0.5 }],
];
console.log(`\nthe bill per million postbacks, half edge rejections with a campaign and half new conversions, delivered and later forgotten`);
for (const [label, s] of SHAPES) {
  const b = shape(s);
  const [dominant] = Object.entries(b.lines).sort((x, y) => y[1] - x[1]);
  console.log(`\n  ${label}: ${money(b.total)} (dominant: ${dominant[0]}, ${Math.round((100 * dominant[1]) / b.total)}%)`);
  console.log(`    ${f(b.perIsolate, 1)} postbacks/s per isolate; ${Math.round(100 * b.cold)}% of conversions find their object cold, ${Math.round(100 * b.sharing)}% share an alarm set before them; per million: ${Math.round(b.kvReads).toLocaleString("en")} KV reads, ${Math.round(b.messages).toLocaleString("en")} queue messages, ${Math.round(b.chunks).toLocaleString("en")} chunk puts`);
  for (const [line, v] of Object.entries(b.lines)) console.log(`    ${line.padEnd(26)} ${pad(money(v), 8)}`);
  const longer = shape({ ...s, ttl: 60 });
  console.log(`    (a 60 s config cache instead of 5 s: KV reads ${money(b.lines["KV reads"])} → ${money(longer.lines["KV reads"])})`);
}
console.log(`\n(Durable Object duration, billed per GB-s while an object runs or awaits, and CPU time are not counted here: docs/COST.md)`);
console.log(`(${((Date.now() - started) / 1000).toFixed(0)} s)`);
