// The worker's entry: the wasm worker that worker-build writes to build/,
// behind a guard. A Rust panic traps the wasm and the instance is reset for
// the next request; the requests in flight would get the runtime's bare
// 500 page, or, when the trap happens inside a future, no answer at all.
// The guard answers each of them 500 with the catalog's `internal_error`
// JSON, which tells an advertiser's client to retry.
import { DurableObject, WorkerEntrypoint } from "cloudflare:workers";
import Wasm, { CampaignObject as WasmCampaignObject } from "../build/index.js";

// The campaign object: the Rust object behind a class the runtime can call
// over RPC (only classes that extend DurableObject can be), which the edge
// does for every postback. RPC skips an HTTP request and response on both
// sides of the hop.
export class CampaignObject extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.object = new WasmCampaignObject(ctx, env);
  }

  /** One of the object's routes (see src/shell/campaign_object/mod.rs). */
  call(target, body) {
    return this.object.call(target, body);
  }

  fetch(request) {
    return this.object.fetch(request);
  }

  alarm() {
    return this.object.alarm();
  }
}

// Taken from the wasm while it is healthy: after a crash it cannot be asked.
let crashBody;

// One callback per request in flight; the Rust panic hook calls
// `__postbackEdgeCrashed` (src/shell/platform.rs), which fails them all:
// a crash takes the whole instance, so none of them will be answered.
const inFlight = new Set();
globalThis.__postbackEdgeCrashed = () => {
  for (const fail of inFlight) fail();
  inFlight.clear();
};

function crashResponse(error) {
  console.error("postback-edge: the worker crashed:", error);
  return new Response(crashBody, {
    status: 500,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" },
  });
}

export default class PostbackEdge extends WorkerEntrypoint {
  async fetch(request) {
    // worker-build's entrypoint class: its methods reset a crashed
    // instance before they run; `crashAnswer` is the Rust export.
    const worker = new Wasm(this.ctx, this.env);
    crashBody ??= worker.crashAnswer();
    let fail;
    const crashed = new Promise((resolve) => {
      fail = () => resolve(crashResponse("panic"));
    });
    inFlight.add(fail);
    try {
      return await Promise.race([worker.fetch(request), crashed]);
    } catch (error) {
      return crashResponse(error);
    } finally {
      inFlight.delete(fail);
    }
  }
}
