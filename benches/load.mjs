// The load benchmark (`make bench`): our worker and the plain-JS peer under
// `wrangler dev` on 127.0.0.1, driven by wrk route by route in one run.
// Prints req/s, p50 and p99 per route and each route's ratio to its
// worker's floor (/healthz: same isolate, no KV, no Durable Object).
// Compare ratios measured in one run, never absolute figures across runs.
import { spawn, execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mintClick } from "../tests/support/click.mjs";
import { CAMPAIGN, KEY } from "./campaign.mjs";
import { startOrigin } from "../scripts/origin.mjs";

const DURATION = process.env.BENCH_SECONDS ?? "5";
// Every route runs once per round, rounds one after the other, and each
// route's median round is reported: on a shared machine one run of a route
// can be 10% off.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CONNECTIONS = process.env.BENCH_CONNECTIONS ?? "16";
const ADMIN = "bench-admin-token";
const ORIGIN_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const OURS = "http://127.0.0.1:8787";
const PEER = "http://127.0.0.1:8791";
// Ours again, with the origin taking batches (ORIGIN_BATCH_MAX=100).
const OURS_BATCH = "http://127.0.0.1:8793";

const children = [];
// Each server runs in its own process group: npx, wrangler and workerd go together.
process.on("exit", () => children.forEach((c) => { try { process.kill(-c.pid, "SIGTERM"); } catch {} }));
process.on("SIGINT", () => process.exit(130));

function start(args, name) {
  const child = spawn("npx", ["wrangler", "dev", "--ip", "127.0.0.1", ...args], { stdio: ["ignore", "pipe", "pipe"], detached: true });
  let log = "";
  child.stdout.on("data", (d) => (log += d));
  child.stderr.on("data", (d) => (log += d));
  child.on("exit", (code) => code && console.error(`${name} exited ${code}\n${log.slice(-2000)}`));
  children.push(child);
  return child;
}

async function ready(base) {
  for (let i = 0; i < 240; i++) {
    try {
      if ((await fetch(`${base}/healthz`)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${base} did not come up`);
}

// CPU seconds spent so far by a process group (a server's npx, wrangler
// and workerd processes), from /proc: what each request costs the machine,
// beyond what req/s shows when both cores are busy.
function groupCpuSeconds(pgid) {
  let ticks = 0;
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    } catch {
      continue; // ended meanwhile
    }
    // After the command name: state, ppid, pgrp, … utime, stime (fields 3, 4, 5, … 14, 15).
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[2]) === pgid) ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / 100; // USER_HZ
}

// wrk runs asynchronously: the local origin answers deliveries from this
// process, and must go on answering them while a route is measured, as an
// origin would (a blocked origin would leave the object's deliveries
// waiting, and new conversions would be measured without them).
async function wrk(url, script, server) {
  const cpuBefore = groupCpuSeconds(server.pid);
  const args = ["-t2", `-c${CONNECTIONS}`, `-d${DURATION}s`, "--latency"];
  if (script) args.push("-s", script);
  const { stdout: out } = await promisify(execFile)("wrk", [...args, url], { encoding: "utf8" });
  const requests = Number(out.match(/(\d+) requests in/)[1]);
  const cpuUs = ((groupCpuSeconds(server.pid) - cpuBefore) * 1e6) / requests;
  const rps = Number(out.match(/Requests\/sec:\s+([\d.]+)/)[1]);
  const pct = (p) => out.match(new RegExp(`\\s${p}%\\s+([\\d.]+)(us|ms|s)`));
  const ms = (m) => (m ? Number(m[1]) * { us: 0.001, ms: 1, s: 1000 }[m[2]] : NaN);
  const non2xx = Number(out.match(/Non-2xx or 3xx responses: (\d+)/)?.[1] ?? 0);
  return { rps, p50: ms(pct(50)), p99: ms(pct(99)), non2xx, cpuUs };
}

const state = mkdtempSync(join(tmpdir(), "load-bench-"));
// The servers' state (a run writes a few hundred MB of log) goes with them,
// once they have stopped writing it (`stopServers`); after a failure, as
// much of it as can go.
process.on("exit", () => {
  try {
    rmSync(state, { recursive: true, force: true });
  } catch {}
});

/** Stops the servers and waits until every process of theirs has ended. */
async function stopServers() {
  const alive = (pgid) => readdirSync("/proc").some((pid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]) === pgid;
    } catch {
      return false;
    }
  });
  for (const child of children) {
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {}
  }
  for (let i = 0; i < 100 && children.some((c) => alive(c.pid)); i++) await new Promise((r) => setTimeout(r, 100));
}
// The worker as built (make bench builds it first), without wrangler.toml's
// [build] section: wrangler's watcher would otherwise rebuild mid-run. The
// log's queue consumer waits 1 s for a batch instead of the deployed 5, and
// the isolate gathers entries for 1 s (`LOG_BATCH_MS`), so that a route's
// log is written soon after it (`settled`); under load every batch fills
// to its byte bound well within either wait, so neither changes a route.
const config = join(state, "wrangler.toml");
writeFileSync(
  config,
  readFileSync("wrangler.toml", "utf8")
    .replace(/\[build\][^[]*/, "")
    .replace(/^main = .*$/m, `main = "${join(process.cwd(), "js/entry.mjs")}"`)
    .replace(/^max_batch_timeout = .*$/m, "max_batch_timeout = 1"),
);
const origin = await startOrigin({ secret: ORIGIN_SECRET, quiet: true });
// Each with an inspector port of its own: two on wrangler's default fail.
const ours = (port, inspector, dir, ...extra) => start(
  ["-c", config, "--port", port, "--inspector-port", inspector, "--persist-to", join(state, dir),
   "--var", `CLICK_SIGNING_KEY:${KEY}`, "--var", `ADMIN_TOKEN:${ADMIN}`,
   "--var", `ORIGIN_SECRET:${ORIGIN_SECRET}`, "--var", `ORIGIN_URL:${origin.url}`,
   // Deliveries the origin holds (the second new-conversion route) time
   // out and come back soon after, so the outbox drains between rounds.
   "--var", "ORIGIN_TIMEOUT_MS:2000", "--var", "OUTBOX_RETRY_BASE_MS:500",
   "--var", "LOG_BATCH_MS:1000", ...extra],
  dir,
);
const ourServer = ours("8787", "9231", "ours");
const batchServer = ours("8793", "9233", "ours-batched", "--var", "ORIGIN_BATCH_MAX:100");
const peerState = join(state, "peer");
execFileSync("npx", ["wrangler", "kv", "key", "put", "campaign:bench", JSON.stringify(CAMPAIGN),
  "--binding", "CAMPAIGNS", "--local", "--persist-to", peerState, "-c", "benches/peer/wrangler.toml"], { stdio: "ignore" });
const peerServer = start(["-c", "benches/peer/wrangler.toml", "--port", "8791", "--persist-to", peerState, "--var", `CLICK_SIGNING_KEY:${KEY}`], "peer");
await ready(OURS);
await ready(PEER);
await ready(OURS_BATCH);

const click = mintClick(KEY, { campaign: "bench", time: Math.floor(Date.now() / 1000) - 60 });
for (const base of [OURS, OURS_BATCH]) {
  const put = await fetch(`${base}/v1/campaigns/bench`, { method: "PUT", headers: { authorization: `Bearer ${ADMIN}` }, body: JSON.stringify(CAMPAIGN) });
  if (!put.ok) throw new Error(`PUT campaign: ${put.status} ${await put.text()}`);
  const created = await fetch(`${base}/postback?click_id=${click}`);
  if (created.status !== 200) throw new Error(`creating the conversion: ${created.status} ${await created.text()}`);
}

// New conversions: one click, a fresh action_id per request (per thread,
// per run: each round's requests must be new conversions too).
let luaFiles = 0;
function newConversions() {
  const lua = join(state, `new-${++luaFiles}.lua`);
  writeFileSync(lua, `
local n = 0
local id = 0
function setup(thread) id = id + 1; thread:set("tid", id) end
function request()
  n = n + 1
  return wrk.format("GET", "/postback?click_id=${click}&action_id=run${luaFiles}-t" .. tid .. "-" .. n)
end
`);
  return lua;
}

// Warm both isolates and caches. Both answer each paired route the same
// way — status, headers and body, byte for byte: the same contract.
const answer = async (res) => [res.status, ...[...res.headers].filter(([name]) => !["content-length", "date"].includes(name)).flat(), await res.text()].join("\n");
for (const path of ["/healthz", `/postback?click_id=${click}&goal=nope`]) {
  const answers = {};
  for (const base of [OURS, PEER]) for (let i = 0; i < 50; i++) answers[base] = await answer(await fetch(`${base}${path}`, { headers: { "accept-encoding": "identity" } }));
  if (answers[OURS] !== answers[PEER]) throw new Error(`the peer's answer to ${path} differs from ours:\n${answers[PEER]}\n\n${answers[OURS]}`);
}

// Ours and the peer side by side: each pair of routes runs back to back,
// so both see the same machine; the ratios ours ÷ peer are taken per round,
// then their median.
const routes = [
  ["ours", "floor: GET /healthz", () => wrk(`${OURS}/healthz`, null, ourServer)],
  ["js peer", "floor: GET /healthz", () => wrk(`${PEER}/healthz`, null, peerServer)],
  ["ours", "edge rejection (goal_not_found, campaign cached)", () => wrk(`${OURS}/postback?click_id=${click}&goal=nope`, null, ourServer)],
  ["js peer", "edge rejection (goal_not_found, campaign cached)", () => wrk(`${PEER}/postback?click_id=${click}&goal=nope`, null, peerServer)],
  ["ours", "update answered by the Durable Object (status_same)", () => wrk(`${OURS}/postback?click_id=${click}`, null, ourServer)],
  ["ours", "new conversion, deliveries to the origin running", () => wrk(`${OURS}/`, newConversions(), ourServer)],
  ["ours", "new conversion, the origin holding deliveries", () => held(() => wrk(`${OURS}/`, newConversions(), ourServer))],
  ["ours", "new conversion, deliveries in batches (ORIGIN_BATCH_MAX=100)", () => wrk(`${OURS_BATCH}/`, newConversions(), batchServer)],
];
const [OURS_FLOOR, PEER_FLOOR, OURS_EDGE, PEER_EDGE, , NEW, NEW_HELD, NEW_BATCHED] = routes.keys();

// The object's own work for a new conversion, apart from delivering it:
// the origin takes each delivery and answers none while the route runs
// (the object's fetches wait, then time out and are retried once it
// answers again), so the object sends a batch every ORIGIN_TIMEOUT_MS at
// most instead of keeping up.
async function held(run) {
  origin.setMode("hang");
  try {
    return await run();
  } finally {
    origin.setMode("ok");
  }
}

// New conversions leave deliveries to the origin running after wrk stops;
// the next round starts once the outbox is empty, so that work is not
// charged to whichever route comes next.
async function outboxDrained() {
  const empty = async (base) => {
    const res = await fetch(`${base}/v1/outbox`, { headers: { authorization: `Bearer ${ADMIN}` } });
    return res.ok && (await res.json()).waiting === 0;
  };
  for (let i = 0; i < 600; i++) {
    try {
      if ((await empty(OURS)) && (await empty(OURS_BATCH))) return;
    } catch {
      // wrangler's proxy closes idle connections: ask again.
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  console.error("the outbox did not drain in 5 minutes; going on");
}

// A route's log is written after it ends (the isolate's window, then the
// queue consumer's batch wait and its R2 writes): without waiting for that
// work, it is charged to whichever route comes next (it once made our
// /healthz floor look half as fast as the edge rejection after it). Each
// route starts once both servers have been idle for a second, at least
// 2.5 s after the one before (the two 1 s waits above).
async function settled() {
  await new Promise((r) => setTimeout(r, 2500));
  const busy = () => groupCpuSeconds(ourServer.pid) + groupCpuSeconds(peerServer.pid) + groupCpuSeconds(batchServer.pid);
  for (let i = 0; i < 60; i++) {
    const before = busy();
    await new Promise((r) => setTimeout(r, 1000));
    if (busy() - before < 0.05) return;
  }
  console.error("the servers did not settle in a minute; going on");
}

// BENCH_EDGE_ONLY=1 runs the four routes that pair ours with the peer.
const measured = process.env.BENCH_EDGE_ONLY ? routes.slice(0, 4) : routes;
const runs = routes.map(() => []);
for (let round = 0; round < ROUNDS; round++) {
  for (const [i, [, , run]] of measured.entries()) {
    await settled();
    runs[i].push(await run());
  }
  await outboxDrained();
}
const middle = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const median = (results) => results.find((r) => r.rps === middle(results.map((x) => x.rps)));
const rows = measured.map(([who, route], i) => [who, route, median(runs[i]), middle(runs[i].map((r) => r.cpuUs))]);
const floors = { ours: rows[OURS_FLOOR][2].rps, "js peer": rows[PEER_FLOOR][2].rps };
const perRound = (i, j, key = "rps") => middle(runs[i].map((r, k) => r[key] / runs[j][k][key]));

console.log(`\nload benchmark: wrk -t2 -c${CONNECTIONS} -d${DURATION}s per route, median of ${ROUNDS} rounds, wrangler dev on 127.0.0.1`);
console.log("(CPU: the server's processes — npx, wrangler, workerd — per request, median of the rounds; wrk's own is not in it)\n");
console.log("worker   route                                                  req/s     p50 ms   p99 ms   × floor   CPU µs/req");
for (const [who, route, r, cpu] of rows) {
  console.log(`${who.padEnd(8)} ${route.padEnd(54)} ${r.rps.toFixed(0).padStart(7)} ${r.p50.toFixed(2).padStart(9)} ${r.p99.toFixed(2).padStart(8)} ${(r.rps / floors[who]).toFixed(2).padStart(9)} ${cpu.toFixed(0).padStart(12)}`);
}
console.log("\nreq/s in each round:");
measured.forEach(([who, route], i) => console.log(`  ${who.padEnd(8)} ${route.padEnd(54)} ${runs[i].map((r) => r.rps.toFixed(0).padStart(6)).join(" ")}`));
console.log(`\nours ÷ js peer, median of the rounds' ratios: edge rejection ${perRound(OURS_EDGE, PEER_EDGE).toFixed(2)}×, /healthz ${perRound(OURS_FLOOR, PEER_FLOOR).toFixed(2)}×`);
console.log(`server CPU per request, ours ÷ js peer: edge rejection ${perRound(OURS_EDGE, PEER_EDGE, "cpuUs").toFixed(2)}×, /healthz ${perRound(OURS_FLOOR, PEER_FLOOR, "cpuUs").toFixed(2)}×`);
const newTarget = runs[NEW].length
  ? `, new conversion ≥ 0.5× floor (${perRound(NEW, OURS_FLOOR).toFixed(2)} with its delivery; ${perRound(NEW_BATCHED, OURS_FLOOR).toFixed(2)} with deliveries in batches; ${perRound(NEW_HELD, OURS_FLOOR).toFixed(2)} with the origin holding deliveries)`
  : "";
console.log(`targets: edge rejection ≥ 0.95× floor (${perRound(OURS_EDGE, OURS_FLOOR).toFixed(2)})${newTarget}`);
const status = rows.map(([who, route, r]) => `${who} ${route}: ${r.non2xx} non-2xx`).join("; ");
console.log(`(answers other than 2xx, expected on rejection routes: ${status})`);
if ([...runs[NEW], ...runs[NEW_HELD], ...runs[NEW_BATCHED]].some((r) => r.non2xx > 0)) console.log("WARNING: some new conversions were refused; that route's figure is not of new conversions alone");
origin.close();
await stopServers();
process.exit(0);
