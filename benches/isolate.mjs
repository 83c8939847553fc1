// The in-isolate benchmark (`make bench`): what one request costs inside a
// warm isolate, ours beside the plain-JS peer, free of everything around
// it (under the load benchmark the whole machine spends about 1 ms of CPU
// per request, wrangler's proxy and wrk included, against tens of
// microseconds of either worker's own: that flattens its ratios). One
// Miniflare runs a harness module next to both workers (benches/loop.mjs);
// each figure is the time of a loop of requests to one worker's fetch
// handler, in the isolate, less an empty loop's, per request, median of
// the rounds. Ours includes everything it does for a postback: its log
// entry for each edge rejection, batched and sent to the log queue (the
// peer logs nothing; the queue's consumer is an invocation of its own).
//
// BENCH_BASELINE=dir runs another version (its js/entry.mjs and build/)
// beside ours as `base`, and prints ours ÷ base too: how a change is
// judged, in one run.
import { BASELINE, loop, routes, start, warm } from "./loop.mjs";

// Many short rounds rather than a few long ones: the machine's load moves
// within seconds, and a median of many rounds' ratios ignores its spikes.
const N = Number(process.env.ISOLATE_REQUESTS ?? 5000);
const ROUNDS = Number(process.env.ISOLATE_ROUNDS ?? 21);
const WHO = BASELINE ? ["ours", "peer", "base"] : ["ours", "peer"];

const ROUTES = routes();
const expected = { "/healthz": "200" };
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const mf = await start();
await warm(mf, ROUTES);

// The workers alternate within each round, each round in another order,
// so that all see the same machine; a ratio is the median of the rounds'
// ratios.
const results = {};
for (const [route, path, status] of ROUTES) {
  const perRequest = Object.fromEntries(WHO.map((who) => [who, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const who of [...WHO.slice(round % WHO.length), ...WHO.slice(0, round % WHO.length)]) {
      const empty = await loop(mf, "none", N, path);
      const { ms, status: got } = await loop(mf, who, N, path);
      if (got !== status) throw new Error(`${who} ${route}: status ${got}, expected ${status}`);
      perRequest[who].push(((ms - empty.ms) * 1000) / N);
    }
  }
  const ratio = (a, b) => median(perRequest[a].map((x, i) => x / perRequest[b][i]));
  results[route] = {
    us: Object.fromEntries(WHO.map((who) => [who, median(perRequest[who])])),
    vsPeer: ratio("ours", "peer"),
    vsBase: BASELINE ? ratio("ours", "base") : null,
    baseVsPeer: BASELINE ? ratio("base", "peer") : null,
  };
}
await mf.dispose();

console.log(`\nin-isolate benchmark: ${N} requests per loop, median of ${ROUNDS} rounds, one warm Miniflare isolate\n`);
const head = ["route".padEnd(50), "µs ours", "µs peer", ...(BASELINE ? ["µs base"] : []), "ours ÷ peer", ...(BASELINE ? ["base ÷ peer", "ours ÷ base"] : [])];
console.log(head.join("  "));
for (const [route] of ROUTES) {
  const r = results[route];
  const cells = [
    route.padEnd(50),
    ...WHO.map((who) => r.us[who].toFixed(1).padStart(7)),
    `${r.vsPeer.toFixed(2)}×`.padStart(11),
    ...(BASELINE ? [`${r.baseVsPeer.toFixed(2)}×`.padStart(11), `${r.vsBase.toFixed(2)}×`.padStart(11)] : []),
  ];
  console.log(cells.join("  "));
}
console.log("(each µs column the median of its rounds; each ratio the median of the rounds' ratios)");
const [health, rejection] = ROUTES.map(([route]) => results[route].vsPeer);
const verdict = (ratio, target) => `${ratio.toFixed(2)}× (≤ ${target.toFixed(1)}×: ${ratio <= target ? "met" : "not met"})`;
console.log(`targets, ours ÷ peer: edge rejection ${verdict(rejection, 1.0)}, /healthz ${verdict(health, 1.2)}`);
