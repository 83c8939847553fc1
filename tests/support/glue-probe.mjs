// A worker that reports what js/entry.mjs relies on in worker-build's
// output (build/index.js), for tests/glue.test.mjs.
import RustWorker, { CampaignObject as RustCampaign, UnattributedLog as RustUnattributed } from "../../build/index.js";
import { CampaignObject, UnattributedLog } from "../../js/entry.mjs";

/** The methods our class forwards that the Rust class lacks. */
function missing(Ours, Rust) {
  const forwarded = Object.getOwnPropertyNames(Ours.prototype).filter((m) => m !== "constructor");
  return { forwarded, missing: forwarded.filter((m) => typeof Rust?.prototype?.[m] !== "function") };
}

export default {
  async fetch(request, env, ctx) {
    const found = { defaultExportIsAClass: typeof RustWorker === "function" };
    const worker = new RustWorker(ctx, env);
    found.fetch = typeof worker.fetch === "function";
    found.queue = typeof worker.queue === "function";
    found.crashAnswer = typeof worker.crashAnswer === "function";
    const crash = worker.crashAnswer();
    const crashed = new Response(crash.body, crash.init);
    found.crashStatus = crashed.status;
    found.crashBody = await crashed.text();
    found.crashContentType = crashed.headers.get("content-type");
    const health = await worker.fetch(new Request("http://localhost/healthz"));
    found.health = [health.status, await health.text()];
    found.campaignObject = missing(CampaignObject, RustCampaign);
    found.unattributedLog = missing(UnattributedLog, RustUnattributed);
    return Response.json(found);
  },
};
