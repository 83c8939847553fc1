// A worker that reports what js/entry.mjs relies on in worker-build's
// output (build/index.js), for tests/glue.test.mjs.
import RustWorker, { CampaignObject } from "../../build/index.js";

const OBJECT_METHODS = ["submit", "writeLog", "queryLog", "outboxStatus", "outboxRetry", "stats", "alarm"];

export default {
  async fetch(request, env, ctx) {
    const found = { defaultExportIsAClass: typeof RustWorker === "function" };
    const worker = new RustWorker(ctx, env);
    found.fetch = typeof worker.fetch === "function";
    found.crashAnswer = typeof worker.crashAnswer === "function";
    const crash = worker.crashAnswer();
    const crashed = new Response(crash.body, crash.init);
    found.crashStatus = crashed.status;
    found.crashBody = await crashed.text();
    found.crashContentType = crashed.headers.get("content-type");
    const health = await worker.fetch(new Request("http://localhost/healthz"));
    found.health = [health.status, await health.text()];
    found.campaignObjectMethods = OBJECT_METHODS.filter((m) => typeof CampaignObject?.prototype?.[m] === "function");
    return Response.json(found);
  },
};
