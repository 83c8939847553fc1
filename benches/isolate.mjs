// The in-isolate benchmark (`make bench`): what one request costs inside a
// warm isolate, ours beside the plain-JS peer, free of everything around
// it (under the load benchmark the whole machine spends about 1 ms of CPU
// per request, wrangler's proxy and wrk included, against tens of
// microseconds of either worker's own: that flattens its ratios). One Miniflare runs a harness module next to both workers; a
// request to `/loop?who=…&n=…&path=…` makes n requests to that worker's
// fetch handler in turn, in the isolate, and each figure is the time of
// such a loop less an empty one, per request, median of the rounds.
// Ours includes everything it does for a postback: our log entry for each
// edge rejection, batched and written to the R2 bucket once a second
// (the peer logs nothing).
import { Miniflare } from "miniflare";
import { performance } from "node:perf_hooks";
import { mintClick } from "../tests/support/click.mjs";
import { CAMPAIGN, KEY, MINIFLARE_OPTIONS, esModule, ourModules } from "./campaign.mjs";

const N = Number(process.env.ISOLATE_REQUESTS ?? 20000);
const ROUNDS = Number(process.env.ISOLATE_ROUNDS ?? 9);

const HARNESS = `
import ours, { CampaignObject } from "./js/entry.mjs";
import peer from "./benches/peer/worker.js";
export { CampaignObject };
const workers = { ours, peer, none: null };
export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    const worker = workers[url.searchParams.get("who")];
    const n = Number(url.searchParams.get("n"));
    const target = "http://localhost" + url.searchParams.get("path");
    let statuses = "";
    for (let i = 0; i < n; i++) {
      if (!worker) continue;
      const res = await worker.fetch(new Request(target), env, ctx);
      const body = await res.text();
      if (i === 0) statuses = [res.status, ...[...res.headers].flat(), body].join("\\n");
    }
    return new Response(statuses);
  },
};
`;

const mf = new Miniflare({
  ...MINIFLARE_OPTIONS,
  modules: [esModule("harness.mjs", HARNESS), ...ourModules(), esModule("benches/peer/worker.js")],
});
await (await mf.getKVNamespace("CAMPAIGNS")).put(`campaign:${CAMPAIGN.id}`, JSON.stringify(CAMPAIGN));
const click = mintClick(KEY, { campaign: CAMPAIGN.id, time: Math.floor(Date.now() / 1000) - 60 });

async function loop(who, n, path) {
  const started = performance.now();
  const res = await mf.dispatchFetch(`http://localhost/loop?who=${who}&n=${n}&path=${encodeURIComponent(path)}`);
  const [status, ...body] = (await res.text()).split("\n");
  return { ms: performance.now() - started, status, body: body.join("\n") };
}

const ROUTES = [
  ["/healthz", "/healthz", "200"],
  ["edge rejection (goal_not_found, campaign cached)", `/postback?click_id=${click}&goal=nope`, "404"],
];
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

// Warm both workers (compiled code, caches, the click key). Both answer
// each route the same way — headers and body, byte for byte: the same
// contract.
for (const [route, path] of ROUTES) {
  const [ours, peer] = [await loop("ours", 2000, path), await loop("peer", 2000, path)];
  if (ours.body !== peer.body) {
    throw new Error(`${route}: the peer's answer differs from ours:\n${peer.body}\n\n${ours.body}`);
  }
}

// Ours and the peer alternate within each round, so that both see the
// same machine; the ratio is the median of the rounds' ratios.
const results = {};
for (const [route, path, expected] of ROUTES) {
  const perRequest = { ours: [], peer: [] };
  const ratios = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const who of ["ours", "peer"]) {
      const empty = await loop("none", N, path);
      const { ms, status } = await loop(who, N, path);
      if (status !== expected) throw new Error(`${who} ${route}: status ${status}, expected ${expected}`);
      perRequest[who].push(((ms - empty.ms) * 1000) / N);
    }
    ratios.push(perRequest.ours[round] / perRequest.peer[round]);
  }
  results[route] = { ours: median(perRequest.ours), peer: median(perRequest.peer), ratio: median(ratios) };
}
await mf.dispose();

console.log(`\nin-isolate benchmark: ${N} requests per loop, median of ${ROUNDS} rounds, one warm Miniflare isolate\n`);
console.log("route                                                µs/request ours   µs/request peer   ours ÷ peer");
for (const [route] of ROUTES) {
  const { ours, peer, ratio } = results[route];
  console.log(`${route.padEnd(52)} ${ours.toFixed(1).padStart(16)} ${peer.toFixed(1).padStart(17)} ${ratio.toFixed(2).padStart(12)}×`);
}
console.log("(each column the median of its rounds; the ratio the median of the rounds' ratios)");
