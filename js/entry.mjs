// The worker's entry (wrangler's `main`): worker-build's output in build/,
// with two things it does not give.
//
// 1. The Durable Objects as classes the runtime can call over RPC: only a
//    class that extends DurableObject can be, so each wraps its Rust object
//    and forwards the methods it lists (src/shell/campaign_object,
//    src/shell/unattributed_log), each taking and answering JSON text.
// 2. A guard for a Rust panic. A panic traps the wasm; worker-build's entry
//    then makes a fresh instance for the next request, but the requests in
//    flight would get the runtime's bare 500 page or, when the trap happens
//    inside a future, no answer at all. The guard answers each of them 500
//    with the catalog's `internal_error` JSON, which tells an advertiser's
//    client to retry.
//
// It uses only what worker-build exports: the default entrypoint class
// (constructed with ctx and env, as the runtime would) with its `fetch` and
// `queue` handlers and our own `crashAnswer` export, and the object
// classes. tests/glue.test.mjs fails if that changes.
import { DurableObject } from "cloudflare:workers";
import RustWorker, {
  CampaignObject as RustCampaignObject,
  UnattributedLog as RustUnattributedLog,
} from "../build/index.js";

/** A class the runtime calls over RPC, forwarding `methods` to the Rust object. */
function objectClass(Rust, methods) {
  class Forwarding extends DurableObject {
    constructor(ctx, env) {
      super(ctx, env);
      this.rust = new Rust(ctx, env);
    }
  }
  for (const name of methods) {
    Forwarding.prototype[name] = function (...args) {
      return this.rust[name](...args);
    };
  }
  return Forwarding;
}

/** A campaign's object: submit, outboxStatus, outboxRetry, conversion, stats, legacyLog; and its alarm. */
export const CampaignObject = objectClass(RustCampaignObject, [
  "submit",
  "outboxStatus",
  "outboxRetry",
  "conversion",
  "stats",
  "legacyLog",
  "alarm",
]);

/** The log of postbacks that name no valid campaign: write, query. */
export const UnattributedLog = objectClass(RustUnattributedLog, ["write", "query"]);

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

/**
 * The guard's answer to a trap caught by a caller, and the same for the
 * requests in flight, which the trap took too; any other error is the
 * runtime's to report.
 */
function crashed(error) {
  if (!(error instanceof WebAssembly.RuntimeError)) throw error;
  console.error("postback-edge: the worker crashed:", error);
  trapped(error);
  return internalError();
}

/** An answer that waits, raced against a trap while it does. */
async function awaited(answer) {
  let fail;
  const panicked = new Promise((resolve) => {
    fail = () => resolve(internalError());
  });
  inFlight.add(fail);
  try {
    return await Promise.race([answer, panicked]);
  } catch (error) {
    return crashed(error);
  } finally {
    inFlight.delete(fail);
  }
}

export default {
  // Most answers are ready at once: the Rust handler then answers a
  // Response, not a Promise of one (src/shell/mod.rs), and a trap while it
  // runs throws here. Only an answer that waits needs a callback in
  // `inFlight`, for a trap in a microtask, where no caller sees it.
  fetch(request, env, ctx) {
    let answer;
    try {
      const worker = new RustWorker(ctx, env);
      crash ??= worker.crashAnswer();
      answer = worker.fetch(request);
    } catch (error) {
      return crashed(error);
    }
    return answer instanceof Response ? answer : awaited(answer);
  },

  /** The log queue's batches (src/shell/log_consumer.rs). */
  async queue(batch, env, ctx) {
    return new RustWorker(ctx, env).queue(batch);
  },
};
