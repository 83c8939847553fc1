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

// The catalog's internal_error, by its number (`Reply::numbered`, whose
// tests hold it to this one), taken from the wasm while it is healthy:
// after a crash it cannot be asked.
const INTERNAL_ERROR = 1;
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
// marks them with (src/reply.rs, PRESETS): ready `Headers`, which a
// Response copies faster than it reads an object's properties (an object
// literal costs it twice as much as a `Headers`, a list of pairs four times).
const PRESETS = {
  j: new Headers({ "content-type": "application/json; charset=utf-8", "cache-control": "no-store" }),
  t: new Headers({ "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" }),
  h: new Headers({ "content-type": "text/html; charset=utf-8", "cache-control": "no-store" }),
};

function crashResponse(error) {
  console.error("postback-edge: the worker crashed:", error);
  return new Response(crashBody, { status: 500, headers: PRESETS.j });
}

/**
 * A Rust answer in `Reply::to_wire`'s form (src/reply.rs) as a Response's
 * body and init: the status in three digits, then a preset's letter and
 * the body, or one `\nname: value` line per header, an empty line, the body.
 */
function parts(wire) {
  const status = Number(wire.slice(0, 3));
  const preset = PRESETS[wire[3]];
  if (preset) return { body: wire.slice(4), init: { status, headers: preset } };
  const end = wire.indexOf("\n\n");
  const headers = new Headers();
  for (const line of wire.slice(4, end).split("\n")) {
    const colon = line.indexOf(": ");
    headers.append(line.slice(0, colon), line.slice(colon + 2));
  }
  return { body: wire.slice(end + 2), init: { status, headers } };
}

// The answers that are the same on every request (a catalog rejection,
// /healthz) come from Rust as their number (`Reply::same_every_time`):
// their parts are asked for once per isolate, and kept. A postback refused
// at the edge then crosses from the wasm as a number, not as its body.
const numbered = [];
const numberedParts = (number) => (numbered[number] ??= parts(Wasm.prototype.numberedAnswer(number)));

/** The Response for Rust's answer: its number, or its wire string. */
function toResponse(answer) {
  const { body, init } = typeof answer === "number" ? numberedParts(answer) : parts(answer);
  return new Response(body, init);
}

export default {
  async fetch(request, env, ctx) {
    // The glue's own per-call wrappers (a Proxy per instance and per
    // method call) are skipped: the guard does their one job, the reset
    // after a crash.
    if (initState.criticalError) new Wasm(ctx, env);
    crashBody ??= numberedParts(INTERNAL_ERROR).body;
    let answer;
    try {
      // The answer when Rust found it without waiting for anything (most
      // postbacks), else a Promise of it.
      answer = callRust.call({ env, ctx }, request);
      if (!(answer instanceof Promise)) return toResponse(answer);
    } catch (error) {
      return crashed(error);
    }
    let fail;
    const panicked = new Promise((resolve) => {
      fail = () => resolve(crashResponse("panic"));
    });
    inFlight.add(fail);
    try {
      const settled = await Promise.race([answer, panicked]);
      return settled instanceof Response ? settled : toResponse(settled);
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
