// What the in-isolate benchmark and the profiler share: one Miniflare that
// runs a harness module next to our worker and the plain-JS peer, with the
// bench campaign in KV. A request to `/loop?who=…&n=…&path=…` makes n
// requests to that worker's fetch handler in turn, inside the isolate, and
// answers the first one's status, headers and body; `who=none` runs the
// same loop doing nothing, the baseline a figure is measured against.
import { Miniflare } from "miniflare";
import { performance } from "node:perf_hooks";
import { mintClick } from "../tests/support/click.mjs";
import { CAMPAIGN, KEY, MINIFLARE_OPTIONS, esModule, ourModules, versionModules } from "./campaign.mjs";

// With BENCH_BASELINE=dir (a directory holding another version's
// js/entry.mjs and build/), that version runs beside ours as `base`: a
// change is measured against what it changes in one run, on one machine.
// BENCH_OURS=dir takes ours from such a directory too, instead of the
// working tree's, so that any two versions can be compared.
export const BASELINE = process.env.BENCH_BASELINE;
const OURS = process.env.BENCH_OURS;

// Ours sends its log entries to the log queue, in batches, as deployed;
// the harness drops the batches it receives: the queue's consumer is an
// invocation of its own, not part of any postback's answer.
const harness = () => `
import ours, { CampaignObject, UnattributedLog } from "./js/entry.mjs";
import peer from "./benches/peer/worker.js";
${BASELINE ? 'import base from "./base/js/entry.mjs";' : "const base = null;"}
export { CampaignObject, UnattributedLog };
const workers = { ours, peer, base, none: null };
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
  queue() {},
};
`;

/** The routes both workers answer alike: name, path, status. */
export function routes() {
  const click = mintClick(KEY, { campaign: CAMPAIGN.id, time: Math.floor(Date.now() / 1000) - 60 });
  return [
    ["/healthz", "/healthz", "200"],
    ["edge rejection (goal_not_found, campaign cached)", `/postback?click_id=${click}&goal=nope`, "404"],
  ];
}

/** The baseline's modules, under base/ (none without BENCH_BASELINE). */
const baseModules = () => (BASELINE ? versionModules(BASELINE, "base/") : []);

/** The harness's Miniflare, the campaign seeded; `options` adds to it (an inspector port). */
export async function start(options = {}) {
  const mf = new Miniflare({
    ...MINIFLARE_OPTIONS,
    ...options,
    modules: [esModule("harness.mjs", harness()), ...(OURS ? versionModules(OURS, "") : ourModules()), esModule("benches/peer/worker.js"), ...baseModules()],
  });
  await (await mf.getKVNamespace("CAMPAIGNS")).put(`campaign:${CAMPAIGN.id}`, JSON.stringify(CAMPAIGN));
  return mf;
}

/** One loop of `n` requests to `who`: its wall time, and the first answer. */
export async function loop(mf, who, n, path) {
  const started = performance.now();
  const res = await mf.dispatchFetch(`http://localhost/loop?who=${who}&n=${n}&path=${encodeURIComponent(path)}`);
  const [status, ...body] = (await res.text()).split("\n");
  return { ms: performance.now() - started, status, body: body.join("\n") };
}

/** Warms both workers on every route, and checks that they answer alike, byte for byte. */
export async function warm(mf, routeList) {
  for (const [route, path] of routeList) {
    const ours = await loop(mf, "ours", 2000, path);
    for (const other of BASELINE ? ["peer", "base"] : ["peer"]) {
      const { body } = await loop(mf, other, 2000, path);
      if (body !== ours.body) throw new Error(`${route}: ${other}'s answer differs from ours:\n${body}\n\n${ours.body}`);
    }
  }
}
