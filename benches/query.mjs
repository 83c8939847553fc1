// The log query benchmark (`make bench`): a query costs what it reads, not
// the number of campaigns. The log holds the postbacks of CAMPAIGNS
// campaigns (edge rejections, logged under their campaign, and a few
// hundred conversions of the first); a page unfiltered and a page of the
// first campaign alone are timed in turns, the same worker, the same
// bucket. Prints their medians, the ratio unfiltered ÷ filtered (target
// ≤ 2×), and how many chunks the bucket holds.
import { performance } from "node:perf_hooks";
import { ADMIN_TOKEN, startWorker, testClick } from "../tests/support/worker.mjs";
import { campaign } from "../tests/support/campaigns.mjs";
import { eventually, inParallel } from "../tests/support/wait.mjs";

const CAMPAIGNS = Number(process.env.QUERY_CAMPAIGNS ?? 1000);
const ROUNDS = Number(process.env.QUERY_ROUNDS ?? 15);
const PAGE = 100;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const worker = await startWorker();
try {
  const ids = Array.from({ length: CAMPAIGNS }, (_, i) => `q${String(i).padStart(5, "0")}`);
  await inParallel(ids.length, 8, (i) => worker.putCampaign(campaign({ id: ids[i] })));
  const time = Math.floor(Date.now() / 1000) - 60;
  // Two refusals for every campaign, and 200 conversions of the first: both
  // pages below are full.
  const sent = 2 * CAMPAIGNS + 200;
  await inParallel(sent, 8, async (i) => {
    const id = i < 2 * CAMPAIGNS ? ids[i % CAMPAIGNS] : ids[0];
    const goal = i < 2 * CAMPAIGNS ? "nope" : "1";
    const res = await worker.postback({ click_id: testClick({ campaign: id, time }), goal });
    if (res.status !== 200 && res.status !== 404) throw new Error(`postback: ${res.status} ${res.text}`);
  });
  await eventually(
    async () => {
      const res = await worker.admin("/v1/logs/postbacks?limit=1");
      return Object.values(res.json.counts).reduce((a, b) => a + b, 0) === sent;
    },
    { ms: 60_000, what: "every entry readable" },
  );

  // Straight to Miniflare: the tests' contract check stays out of the time.
  const timed = async (path) => {
    const started = performance.now();
    const res = await worker.mf.dispatchFetch(`http://localhost${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const body = await res.json();
    const ms = performance.now() - started;
    if (res.status !== 200 || body.entries.length !== PAGE) throw new Error(`${path}: ${res.status}, ${body.entries?.length} entries`);
    return ms;
  };
  const unfilteredPath = `/v1/logs/postbacks?limit=${PAGE}`;
  const filteredPath = `/v1/logs/postbacks?limit=${PAGE}&campaign_id=${ids[0]}`;
  await timed(unfilteredPath);
  await timed(filteredPath);
  const unfiltered = [];
  const filtered = [];
  for (let round = 0; round < ROUNDS; round++) {
    unfiltered.push(await timed(unfilteredPath));
    filtered.push(await timed(filteredPath));
  }
  const bucket = await worker.mf.getR2Bucket("LOGS");
  const chunks = (await bucket.list({ prefix: "log/", limit: 1000 })).objects.length;
  const ratio = median(unfiltered) / median(filtered);
  console.log(`\nlog query: a page of ${PAGE} over ${CAMPAIGNS} campaigns' ${sent} entries (${chunks} chunks), median of ${ROUNDS}`);
  console.log(`  unfiltered               ${median(unfiltered).toFixed(1).padStart(7)} ms`);
  console.log(`  one campaign             ${median(filtered).toFixed(1).padStart(7)} ms`);
  console.log(`  unfiltered ÷ one campaign ${ratio.toFixed(2).padStart(6)}×   target ≤ 2×: ${ratio <= 2 ? "met" : "not met"}`);
} finally {
  await worker.dispose();
}
