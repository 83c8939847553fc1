// Where one request's time goes inside a warm isolate: a V8 CPU profile of
// the in-isolate benchmark's loop (benches/loop.mjs), taken over workerd's
// inspector (Miniflare's `inspectorPort`, the Chrome DevTools Protocol's
// `Profiler` domain over a WebSocket), for `/healthz` and an edge rejection
// (`goal_not_found`, campaign cached), ours and the plain-JS peer. Not part
// of `make bench`: run it by hand, `node benches/profile.mjs`.
//
// Every sample is put in one part of the request by its stack: the first
// part of PARTS, in their order, that some frame of the stack matches
// (so an allocation inside the log entry's serialization counts for the
// log entry, and only what nothing more specific claims falls to the
// general parts at the end): the harness's own loop
// (making the Request, reading the answer's body), the JavaScript glue
// (js/entry.mjs, worker-build's generated bindings), the crossings into
// and out of wasm and the futures executor, reading the Request, our Rust
// by what it does, building the Response, the garbage collector. Figures
// are µs per request (a part's samples' time ÷ the loop's requests) and the
// part's share of the request's busy time (idle left out); the loop's
// baseline (`who=none`) is not subtracted, so the harness's own part is
// what both workers pay alike.
//
// With BENCH_BASELINE=dir (benches/loop.mjs) another version is profiled
// in the same run as `base`: the breakdown before and after a change.
//
// PROFILE_REQUESTS (default 20000) requests a profile, PROFILE_INTERVAL_US
// (default 25) between samples; PROFILE_TOP=n lists the n functions with
// the most self time for each profile too; PROFILE_JSON=dir writes each
// profile as a .cpuprofile file, which Chrome's DevTools open.
import WebSocket from "ws";
import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { BASELINE, loop, routes, start, warm } from "./loop.mjs";

const N = Number(process.env.PROFILE_REQUESTS ?? 20000);
const INTERVAL = Number(process.env.PROFILE_INTERVAL_US ?? 25);
const TOP = Number(process.env.PROFILE_TOP ?? 0);

/** A free TCP port on 127.0.0.1. */
function freePort() {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// The parts of a request, each a test on one frame (`name` the function,
// `file` the script's last path segment, `wasm` whether it is our
// module's), most specific first. A sample goes to the first part that
// some frame of its stack matches; what a script calls natively (a
// constructor, TextDecoder) has no frame of its own worth naming, so it
// counts for the script function that called it.
const ours = (pattern) => (f) => f.wasm && pattern.test(f.name);
const imported = (pattern) => (f) => f.file === "index.js" && /^__wbg_/.test(f.name) && pattern.test(f.name);
const PARTS = [
  ["garbage collector", (f) => f.name === "(garbage collector)"],
  ["runtime, unattributed ((program))", (f) => f.name === "(program)"],
  // Out of the request: the log's timer and queue send, after the answer.
  ["log: the batch's send to the queue (after the answer)", ours(/log_queue::send|RawMessageBuilder|Delay/)],
  // Building the Response: the imports that make it, and ours that fill them.
  ["Response: building it", (f) => imported(/_new_with_opt_str_and_init|_new_277c|_set_bcb0|_set_status|_set_headers|_new_cd43|Response/)(f) || ours(/shell::response|response_parts|shell::respond/)(f)],
  ["Request: reading its URL, method, headers", imported(/__wbg_url_|__wbg_method_|__wbg_headers_|__wbg_get_556/)],
  // Our Rust, by what it does.
  ["Rust: click id HMAC (sha2, hmac)", ours(/sha2|hmac|digest|ClickKeys|Click::verify|click::/)],
  ["Rust: log entry (draft, entry, serialization, batch)", ours(/log::|log_queue|LogDraft|LogEntry|LoggedParams|BatchWriter|refused.*entry/)],
  ["Rust: the reply (body, headers)", ours(/reply::|Reply|refused_body|catalog::/)],
  ["Rust: cached campaign lookup", ours(/campaigns::load|campaign::cache|CampaignCache/)],
  ["Rust: parsing and the edge's checks", ours(/params|Params|postback::Postback|edge::|route::|Aliases|ids::/)],
  ["Rust: the handler and its future", ours(/shell::postback|shell::handle|shell::fetch|shell::serve|shell::guarded/)],
  ["crossing: wasm-bindgen futures executor", (f) => (f.wasm && /js_sys::futures|wasm_bindgen_futures|future_to_promise|spawn_local/.test(f.name)) || imported(/queueMicrotask|_then_|_resolve_|_new_typed/)(f) || f.name === "queueMicrotask"],
  ["Rust: allocator, copies, std", (f) => f.wasm],
  ["crossing: js-to-wasm / wasm-to-js wrappers", (f) => /^(js-to-wasm|wasm-to-js)/.test(f.name)],
  ["crossing: other imports (time, randomness, strings)", imported(/./)],
  ["JS glue: worker-build's bindings (entrypoint proxy, string passing)", (f) => f.file === "index.js"],
  ["JS glue: js/entry.mjs (crash guard, Promise.race)", (f) => f.file === "entry.mjs"],
  ["peer: building the Response (Response.json)", (f) => f.file === "worker.js" && f.name === "reject"],
  ["peer: click id HMAC (WebCrypto, base64)", (f) => f.file === "worker.js" && /verifyClick|b64urlToBytes/.test(f.name)],
  ["peer: cached campaign lookup", (f) => f.file === "worker.js" && f.name === "loadCampaign"],
  ["peer: routing, URL parsing, checks", (f) => f.file === "worker.js"],
  ["harness: its loop (new Request, res.text())", (f) => f.file === "harness.mjs"],
];
const OTHER = "other (no script on the stack)";

function frameOf(node) {
  const { functionName, url } = node.callFrame;
  return { name: functionName, file: url.split("/").pop(), wasm: url.startsWith("wasm://") };
}

/** µs per request for each part of one profile, and its busy total. */
function breakdown(profile, requests) {
  const nodes = new Map(profile.nodes.map((n) => [n.id, { ...n, frame: frameOf(n) }]));
  for (const n of nodes.values()) for (const child of n.children ?? []) nodes.get(child).parent = n.id;
  const parts = new Map();
  const self = new Map();
  let busy = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const us = profile.timeDeltas[i + 1] ?? 0;
    const leaf = nodes.get(profile.samples[i]);
    if (leaf.frame.name === "(idle)" || leaf.frame.name === "(root)") continue;
    busy += us;
    const stack = [];
    for (let n = leaf; n; n = nodes.get(n.parent)) stack.push(n.frame);
    const part = PARTS.find(([, test]) => stack.some(test))?.[0] ?? OTHER;
    parts.set(part, (parts.get(part) ?? 0) + us);
    const key = `${leaf.frame.name} (${leaf.frame.file || "native"})`;
    self.set(key, (self.get(key) ?? 0) + us);
  }
  const perRequest = (us) => us / requests;
  return {
    busy: perRequest(busy),
    parts: new Map([...parts].map(([k, v]) => [k, perRequest(v)])),
    top: [...self].sort((a, b) => b[1] - a[1]).slice(0, TOP).map(([k, v]) => [k, perRequest(v)]),
  };
}

const WHO = BASELINE ? ["base", "ours", "peer"] : ["ours", "peer"];
const port = await freePort();
const mf = await start({ inspectorPort: port });
const ROUTES = routes();
await warm(mf, ROUTES);

const targets = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
const target = targets.find((t) => t.id === "core:user:");
const ws = new WebSocket(target.webSocketDebuggerUrl);
await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
let lastId = 0;
const waiting = new Map();
ws.on("message", (data) => {
  const message = JSON.parse(data);
  waiting.get(message.id)?.(message);
  waiting.delete(message.id);
});
const send = (method, params = {}) =>
  new Promise((resolve) => {
    const id = ++lastId;
    waiting.set(id, resolve);
    ws.send(JSON.stringify({ id, method, params }));
  });

await send("Profiler.enable");
await send("Profiler.setSamplingInterval", { interval: INTERVAL });
const results = [];
for (const [route, path] of ROUTES) {
  for (const who of WHO) {
    await loop(mf, who, 2000, path); // the same state as the profiled loop
    await send("Profiler.start");
    const { ms } = await loop(mf, who, N, path);
    const { result } = await send("Profiler.stop");
    if (process.env.PROFILE_JSON) {
      const name = `${who}-${route.split(" ")[0].replace(/\W/g, "")}.cpuprofile`;
      writeFileSync(`${process.env.PROFILE_JSON}/${name}`, JSON.stringify(result.profile));
    }
    results.push({ route, who, wall: (ms * 1000) / N, ...breakdown(result.profile, N) });
  }
}
ws.close();
await mf.dispose();

console.log(`\nCPU profile of the in-isolate loop: ${N} requests a profile, a sample every ${INTERVAL} µs; µs per request (share of busy time)\n`);
for (const [route] of ROUTES) {
  const rs = WHO.map((who) => results.find((r) => r.route === route && r.who === who));
  const peer = rs.at(-1);
  console.log(`${route}, busy µs per request (÷ peer's): ${rs.map((r) => `${r.who} ${r.busy.toFixed(1)} (${(r.busy / peer.busy).toFixed(2)}×)`).join(", ")}`);
  console.log(`loop wall time per request: ${rs.map((r) => `${r.who} ${r.wall.toFixed(1)} µs`).join(", ")}`);
  console.log(`| part | ${WHO.map((who) => `${who} µs | ${who} share`).join(" | ")} |`);
  console.log(`|---|${WHO.map(() => "---:|---:").join("|")}|`);
  const names = [...PARTS.map(([name]) => name), OTHER].filter((n) => rs.some((r) => r.parts.has(n)));
  for (const name of names) {
    const cell = (r) => (r.parts.has(name) ? [r.parts.get(name).toFixed(2), `${((r.parts.get(name) / r.busy) * 100).toFixed(0)}%`] : ["–", "–"]);
    console.log(`| ${name} | ${rs.map((r) => cell(r).join(" | ")).join(" | ")} |`);
  }
  for (const r of TOP ? rs : []) {
    console.log(`\n${r.who}, the ${TOP} functions with the most self time (µs per request):`);
    for (const [fn, us] of r.top) console.log(`${us.toFixed(2).padStart(7)}  ${fn.slice(0, 140)}`);
  }
  console.log();
}
