// The worker's entry (wrangler's `main`): worker-build's output in build/,
// with two things it does not give.
//
// 1. The campaign object as a class the runtime can call over RPC: only a
//    class that extends DurableObject can be, so this one wraps the Rust
//    object and forwards each of its methods (src/shell/campaign_object).
// 2. A guard for a Rust panic. A panic traps the wasm; worker-build's entry
//    then makes a fresh instance for the next request, but the requests in
//    flight would get the runtime's bare 500 page or, when the trap happens
//    inside a future, no answer at all. The guard answers each of them 500
//    with the catalog's `internal_error` JSON, which tells an advertiser's
//    client to retry.
//
// It uses only what worker-build exports: the default entrypoint class
// (constructed with ctx and env, as the runtime would) with its `fetch` and
// our own `crashAnswer` export, and the CampaignObject class.
// tests/glue.test.mjs fails if that changes.
import { DurableObject } from "cloudflare:workers";
import RustWorker, { CampaignObject as RustCampaignObject } from "../build/index.js";

export class CampaignObject extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.rust = new RustCampaignObject(ctx, env);
  }

  /** A postback's `Submission` (JSON) → its `Verdict` (JSON). */
  submit(submission, dryRun) {
    return this.rust.submit(submission, dryRun);
  }

  /** A chunk of log entries: its meta's fields, the entries (a JSON array), the bound. */
  writeLog(firstId, lastId, campaign, count, codes, entries, bound) {
    return this.rust.writeLog(firstId, lastId, campaign, count, codes, entries, bound);
  }

  /** A `LogQuery`'s fields → a `LogPage` (JSON). */
  queryLog(campaignId, code, clickId, actionId, conversionId, partnerId, sinceId, before, limit) {
    return this.rust.queryLog(campaignId, code, clickId, actionId, conversionId, partnerId, sinceId, before, limit);
  }

  /** What waits for the origin (JSON). */
  outboxStatus() {
    return this.rust.outboxStatus();
  }

  /** Parked deliveries back in the queue: how many. */
  outboxRetry() {
    return this.rust.outboxRetry();
  }

  /** The conversion with this id as the object knows it (JSON, or "null"). */
  conversion(id) {
    return this.rust.conversion(id);
  }

  /** What the object holds: conversions, pending ones, outbox rows, database bytes (JSON). */
  stats() {
    return this.rust.stats();
  }

  alarm() {
    return this.rust.alarm();
  }
}

// The catalog's internal_error answer (body, status and headers), taken
// from the wasm while it is healthy: after a trap nothing can be asked of it.
let crash;

function internalError() {
  return new Response(crash.body, crash.init);
}

// One callback per request in flight. A trap inside a future happens in a
// microtask, where no caller sees it: the runtime reports it as an uncaught
// error, and since a trap takes the whole instance, none of the requests in
// flight will be answered: the guard answers them all.
const inFlight = new Set();
function trapped(error) {
  if (!(error instanceof WebAssembly.RuntimeError)) return;
  for (const fail of inFlight) fail();
  inFlight.clear();
}
addEventListener("error", (event) => trapped(event.error));
addEventListener("unhandledrejection", (event) => trapped(event.reason));

export default {
  async fetch(request, env, ctx) {
    let fail;
    const panicked = new Promise((resolve) => {
      fail = () => resolve(internalError());
    });
    inFlight.add(fail);
    try {
      const worker = new RustWorker(ctx, env);
      crash ??= worker.crashAnswer();
      return await Promise.race([worker.fetch(request), panicked]);
    } catch (error) {
      if (!(error instanceof WebAssembly.RuntimeError)) throw error;
      console.error("postback-edge: the worker crashed:", error);
      return internalError();
    } finally {
      inFlight.delete(fail);
    }
  },
};
