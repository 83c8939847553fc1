// The cold-start benchmark (`make bench`): the time from nothing to the
// first answer to a postback, for our worker and the plain-JS peer, side by
// side in one run. Each run starts a fresh workerd (Miniflare) per worker,
// so every figure includes compiling and instantiating the module in a
// fresh isolate; the first request is an edge rejection that reads the
// campaign from KV and verifies the click (goal_not_found), the same work
// for both. A trivial JS worker gives the floor: workerd's own start-up.
// All three have the same bindings (KV, the log's bucket and queue, the
// SQLite Durable Object namespaces; the JS workers get empty object
// classes), so that what
// differs is the code. Modules are handed over as a list, as wrangler
// uploads them: given a script path instead, Miniflare would parse the
// JavaScript for imports in Node first, time the platform never spends.
// Prints medians, the ratios ours ÷ peer, and what each adds to the floor.
import { Miniflare } from "miniflare";
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { performance } from "node:perf_hooks";
import { mintClick } from "../tests/support/click.mjs";
import { CAMPAIGN, KEY, MINIFLARE_OPTIONS, esModule, ourModules, versionModules } from "./campaign.mjs";

const RUNS = Number(process.env.COLDSTART_RUNS ?? 15);
// BENCH_BASELINE=dir: another version (its js/entry.mjs and build/) started
// beside ours in the same run, and ours ÷ it printed too.
const BASELINE = process.env.BENCH_BASELINE;
const EMPTY_OBJECT =
  "\nexport class CampaignObject { fetch() { return new Response(''); } }" +
  "\nexport class UnattributedLog { fetch() { return new Response(''); } }\n";
const WORKERS = {
  floor: {
    modules: [esModule("floor.mjs", "export default { fetch() { return new Response('ok'); } };" + EMPTY_OBJECT)],
    expect: null,
  },
  // What wrangler deploys: the guard, worker-build's glue, the wasm.
  ours: {
    modules: ourModules(),
    expect: "goal_not_found",
  },
  peer: {
    modules: [esModule("benches/peer/worker.js", readFileSync("benches/peer/worker.js", "utf8") + EMPTY_OBJECT)],
    expect: "goal_not_found",
  },
};

async function coldStart(name) {
  const { expect, ...options } = WORKERS[name];
  const started = performance.now();
  const mf = new Miniflare({ ...MINIFLARE_OPTIONS, ...options });
  try {
    await mf.ready;
    const ready = performance.now();
    // Seeding KV goes through Miniflare's own proxy worker, not ours.
    const kv = await mf.getKVNamespace("CAMPAIGNS");
    await kv.put("campaign:bench", JSON.stringify(CAMPAIGN));
    const click = mintClick(KEY, { campaign: "bench", time: Math.floor(Date.now() / 1000) - 60 });
    const before = performance.now();
    const res = await mf.dispatchFetch(`http://localhost/postback?click_id=${click}&goal=nope`);
    const body = await res.text();
    const first = performance.now() - before;
    if (expect && !body.includes(expect)) throw new Error(`${name}: unexpected first answer ${res.status} ${body}`);
    return { start: ready - started, first, total: ready - started + first };
  } finally {
    await mf.dispose();
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// Interleaved, so that drift of the machine touches every worker alike.
if (BASELINE) WORKERS.base = { modules: versionModules(BASELINE), expect: "goal_not_found" };
const samples = { floor: [], ours: [], peer: [], ...(BASELINE ? { base: [] } : {}) };
await coldStart("ours"); // warm the disk cache and Miniflare's own modules
for (let run = 0; run < RUNS; run++) {
  for (const name of Object.keys(samples)) samples[name].push(await coldStart(name));
}

const wasm = readFileSync("build/index_bg.wasm");

console.log(`\ncold start: ${RUNS} fresh workerd processes per worker, medians\n`);
console.log("worker  start to ready ms  first answer ms  total ms");
const m = {};
for (const [name, runs] of Object.entries(samples)) {
  m[name] = {
    start: median(runs.map((r) => r.start)),
    first: median(runs.map((r) => r.first)),
    total: median(runs.map((r) => r.total)),
  };
  console.log(`${name.padEnd(7)} ${m[name].start.toFixed(1).padStart(17)} ${m[name].first.toFixed(1).padStart(16)} ${m[name].total.toFixed(1).padStart(9)}`);
}
const peerSize = readFileSync("benches/peer/worker.js").length;
console.log(`\nours ÷ peer, first answer from a fresh workerd:       ${(m.ours.total / m.peer.total).toFixed(2)}×  (guardrail ≤ 1.5×)`);
const beyond = (name) => m[name].total - m.floor.total;
console.log(`beyond the floor (total − floor's total), × floor's total:  ours ${(beyond("ours") / m.floor.total).toFixed(2)}×, peer ${(beyond("peer") / m.floor.total).toFixed(2)}×`);
console.log(`ours ÷ peer, first request alone:                     ${(m.ours.first / m.peer.first).toFixed(2)}×`);
if (BASELINE) {
  const baseWasm = readFileSync(`${BASELINE}/build/index_bg.wasm`);
  console.log(`ours ÷ base, first answer from a fresh workerd:       ${(m.ours.total / m.base.total).toFixed(2)}×  (base: ${baseWasm.length} bytes, ${gzipSync(baseWasm, { level: 9 }).length} gzip)`);
}
console.log(`wasm ${wasm.length} bytes, ${gzipSync(wasm, { level: 9 }).length} gzip; js peer ${peerSize} bytes`);
