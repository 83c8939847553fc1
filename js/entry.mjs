// The worker's entry: the wasm worker that worker-build writes to build/,
// behind a guard. A Rust panic traps the wasm and the instance is reset for
// the next request; the requests in flight would get the runtime's bare
// 500 page, or, when the trap happens inside a future, no answer at all.
// The guard answers each of them 500 with the catalog's `internal_error`
// JSON, which tells an advertiser's client to retry.
import { DurableObject } from "cloudflare:workers";
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

  alarm() {
    return this.object.alarm();
  }
}

// worker-build's glue: its entrypoint class, whose `fetch` calls the Rust
// export with `this.env` and `this.ctx` (src/shell/mod.rs), and the state
// it shares with the `worker` crate: `criticalError` set means the wasm
// instance trapped, and constructing the class makes a fresh one.
const callRust = Wasm.prototype.fetch;
const initState = globalThis.__worker_init_state;

// Taken from the wasm while it is healthy: after a crash it cannot be asked.
let crashBody;

// One callback per request in flight. A Rust panic traps the wasm (the
// release build aborts at once, scripts/build.sh); when that happens inside
// a future, it is in a microtask, where no caller sees it: the runtime
// reports it as an uncaught error, and the guard fails every request in
// flight, since a crash takes the whole instance and none of them will be
// answered. (worker-build's glue listens too, and marks the instance for a
// reset.)
const inFlight = new Set();
function onUncaught(error) {
  if (!(error instanceof WebAssembly.RuntimeError)) return;
  initState.criticalError = true;
  for (const fail of inFlight) fail();
  inFlight.clear();
}
addEventListener("error", (event) => onUncaught(event.error));
addEventListener("unhandledrejection", (event) => onUncaught(event.reason));

// The header sets of nearly every answer, by the letter `Reply::to_wire`
// marks them with (src/reply.rs, PRESETS): ready objects, copied by each
// Response instead of parsed from the answer.
const PRESETS = {
  j: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" },
  t: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" },
  h: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" },
};

function crashResponse(error) {
  console.error("postback-edge: the worker crashed:", error);
  return new Response(crashBody, { status: 500, headers: PRESETS.j });
}

/**
 * The Rust answer (`Reply::to_wire`, src/reply.rs): the status in three
 * digits, then a preset's letter and the body, or one `\nname: value` line
 * per header, an empty line, the body. The headers go to the Response as
 * an object: workerd takes one several times faster than a list of pairs.
 */
function toResponse(wire) {
  const status = Number(wire.slice(0, 3));
  const preset = PRESETS[wire[3]];
  if (preset) return new Response(wire.slice(4), { status, headers: preset });
  const end = wire.indexOf("\n\n");
  const lines = wire.slice(4, end).split("\n");
  const headers = {};
  for (const line of lines) {
    const colon = line.indexOf(": ");
    headers[line.slice(0, colon)] = line.slice(colon + 2);
  }
  return new Response(wire.slice(end + 2), { status, headers });
}

export default {
  async fetch(request, env, ctx) {
    // The glue's own per-call wrappers (a Proxy per instance and per
    // method call) are skipped: the guard does their one job, the reset
    // after a crash.
    if (initState.criticalError) new Wasm(ctx, env);
    crashBody ??= Wasm.prototype.crashAnswer();
    let answer;
    try {
      // A string when Rust answered without waiting for anything (most
      // postbacks), else a Promise of one.
      answer = callRust.call({ env, ctx }, request);
      if (typeof answer === "string") return toResponse(answer);
    } catch (error) {
      return crashed(error);
    }
    let fail;
    const panicked = new Promise((resolve) => {
      fail = () => resolve(crashResponse("panic"));
    });
    inFlight.add(fail);
    try {
      const wire = await Promise.race([answer, panicked]);
      return typeof wire === "string" ? toResponse(wire) : wire;
    } catch (error) {
      return crashed(error);
    } finally {
      inFlight.delete(fail);
    }
  },
};

function crashed(error) {
  if (error instanceof WebAssembly.RuntimeError) initState.criticalError = true;
  return crashResponse(error);
}
