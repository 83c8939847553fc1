var __defProp = Object.defineProperty;
var __name = (target, value) => __defProp(target, "name", { value, configurable: true });

// worker.js
var MESSAGES = {
  click_id_missing: [400, "Click ID is missing"],
  click_not_found: [404, "Click not found"],
  campaign_not_found: [404, "Campaign not found"],
  campaign_mismatch: [409, "Campaign mismatch"],
  secure_code_invalid: [403, "Secure code is not valid"],
  campaign_not_active: [409, "Campaign is not active"],
  campaign_privacy_error: [403, "Campaign privacy error"],
  goal_not_found: [404, "Goal not found in campaign"]
};
var keyPromise;
var cache = /* @__PURE__ */ new Map();
function reject(code) {
  const [status, message] = MESSAGES[code];
  return Response.json({ status: "rejected", error: { code, message } }, { status });
}
__name(reject, "reject");
function b64urlToBytes(text) {
  const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}
__name(b64urlToBytes, "b64urlToBytes");
async function verifyClick(token, env) {
  keyPromise ??= crypto.subtle.importKey("raw", new TextEncoder().encode(env.CLICK_SIGNING_KEY), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  let bytes;
  try {
    bytes = b64urlToBytes(token);
  } catch {
    return null;
  }
  if (bytes.length < 26 || token.length > 64) return null;
  const payload = bytes.subarray(0, bytes.length - 12);
  const tag = bytes.subarray(bytes.length - 12);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", await keyPromise, payload));
  let diff = 0;
  for (let i = 0; i < 12; i++) diff |= mac[i] ^ tag[i];
  if (diff !== 0 || payload[0] !== 1) return null;
  const view = new DataView(payload.buffer, payload.byteOffset);
  const lens = payload[11];
  const dec = new TextDecoder();
  return {
    time: view.getUint32(1),
    country: dec.decode(payload.subarray(5, 7)),
    campaign: dec.decode(payload.subarray(12, 12 + (lens >> 4))),
    partner: dec.decode(payload.subarray(12 + (lens >> 4), 12 + (lens >> 4) + (lens & 15)))
  };
}
__name(verifyClick, "verifyClick");
async function loadCampaign(id, env) {
  const hit = cache.get(id);
  if (hit && Date.now() - hit.at < 5e3) return hit.campaign;
  const campaign = await env.CAMPAIGNS.get(`campaign:${id}`, "json");
  cache.set(id, { at: Date.now(), campaign });
  return campaign;
}
__name(loadCampaign, "loadCampaign");
var worker_default = {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/healthz") return new Response("ok");
    if (url.pathname !== "/postback") return new Response("not found", { status: 404 });
    const p = url.searchParams;
    const clickId = p.get("click_id") ?? p.get("clickid");
    if (!clickId) return reject("click_id_missing");
    const click = await verifyClick(clickId, env);
    if (!click) return reject("click_not_found");
    const campaignId = p.get("campaign_id") ?? p.get("offer_id") ?? click.campaign;
    const campaign = await loadCampaign(campaignId, env);
    if (!campaign) return reject("campaign_not_found");
    if (campaign.id !== click.campaign) return reject("campaign_mismatch");
    if (campaign.secure_code && p.get("secure") !== campaign.secure_code) return reject("secure_code_invalid");
    if (campaign.status !== "active") return reject("campaign_not_active");
    if (campaign.privacy !== "public" && !(campaign.approved_partners ?? []).includes(click.partner)) return reject("campaign_privacy_error");
    const wanted = (p.get("goal") ?? campaign.default_goal ?? "").toLowerCase();
    const goal = campaign.goals.find((g) => g.id.toLowerCase() === wanted);
    if (!goal) return reject("goal_not_found");
    return Response.json({ status: "accepted", goal: goal.id });
  }
};

// ../../node_modules/wrangler/templates/middleware/middleware-ensure-req-body-drained.ts
var drainBody = /* @__PURE__ */ __name(async (request, env, _ctx, middlewareCtx) => {
  try {
    return await middlewareCtx.next(request, env);
  } finally {
    try {
      if (request.body !== null && !request.bodyUsed) {
        const reader = request.body.getReader();
        while (!(await reader.read()).done) {
        }
      }
    } catch (e) {
      console.error("Failed to drain the unused request body.", e);
    }
  }
}, "drainBody");
var middleware_ensure_req_body_drained_default = drainBody;

// ../../node_modules/wrangler/templates/middleware/middleware-miniflare3-json-error.ts
function reduceError(e) {
  return {
    name: e?.name,
    message: e?.message ?? String(e),
    stack: e?.stack,
    cause: e?.cause === void 0 ? void 0 : reduceError(e.cause)
  };
}
__name(reduceError, "reduceError");
var jsonError = /* @__PURE__ */ __name(async (request, env, _ctx, middlewareCtx) => {
  try {
    return await middlewareCtx.next(request, env);
  } catch (e) {
    const error = reduceError(e);
    return Response.json(error, {
      status: 500,
      headers: { "MF-Experimental-Error-Stack": "true" }
    });
  }
}, "jsonError");
var middleware_miniflare3_json_error_default = jsonError;

// .wrangler/tmp/bundle-a7tmad/middleware-insertion-facade.js
var __INTERNAL_WRANGLER_MIDDLEWARE__ = [
  middleware_ensure_req_body_drained_default,
  middleware_miniflare3_json_error_default
];
var middleware_insertion_facade_default = worker_default;

// ../../node_modules/wrangler/templates/middleware/common.ts
var __facade_middleware__ = [];
function __facade_register__(...args) {
  __facade_middleware__.push(...args.flat());
}
__name(__facade_register__, "__facade_register__");
function __facade_invokeChain__(request, env, ctx, dispatch, middlewareChain) {
  const [head, ...tail] = middlewareChain;
  const middlewareCtx = {
    dispatch,
    next(newRequest, newEnv) {
      return __facade_invokeChain__(newRequest, newEnv, ctx, dispatch, tail);
    }
  };
  return head(request, env, ctx, middlewareCtx);
}
__name(__facade_invokeChain__, "__facade_invokeChain__");
function __facade_invoke__(request, env, ctx, dispatch, finalMiddleware) {
  return __facade_invokeChain__(request, env, ctx, dispatch, [
    ...__facade_middleware__,
    finalMiddleware
  ]);
}
__name(__facade_invoke__, "__facade_invoke__");

// .wrangler/tmp/bundle-a7tmad/middleware-loader.entry.ts
var __Facade_ScheduledController__ = class ___Facade_ScheduledController__ {
  constructor(scheduledTime, cron, noRetry) {
    this.scheduledTime = scheduledTime;
    this.cron = cron;
    this.#noRetry = noRetry;
  }
  static {
    __name(this, "__Facade_ScheduledController__");
  }
  #noRetry;
  noRetry() {
    if (!(this instanceof ___Facade_ScheduledController__)) {
      throw new TypeError("Illegal invocation");
    }
    this.#noRetry();
  }
};
function wrapExportedHandler(worker) {
  if (__INTERNAL_WRANGLER_MIDDLEWARE__ === void 0 || __INTERNAL_WRANGLER_MIDDLEWARE__.length === 0) {
    return worker;
  }
  for (const middleware of __INTERNAL_WRANGLER_MIDDLEWARE__) {
    __facade_register__(middleware);
  }
  const fetchDispatcher = /* @__PURE__ */ __name(function(request, env, ctx) {
    if (worker.fetch === void 0) {
      throw new Error("Handler does not export a fetch() function.");
    }
    return worker.fetch(request, env, ctx);
  }, "fetchDispatcher");
  return {
    ...worker,
    fetch(request, env, ctx) {
      const dispatcher = /* @__PURE__ */ __name(function(type, init) {
        if (type === "scheduled" && worker.scheduled !== void 0) {
          const controller = new __Facade_ScheduledController__(
            Date.now(),
            init.cron ?? "",
            () => {
            }
          );
          return worker.scheduled(controller, env, ctx);
        }
      }, "dispatcher");
      return __facade_invoke__(request, env, ctx, dispatcher, fetchDispatcher);
    }
  };
}
__name(wrapExportedHandler, "wrapExportedHandler");
function wrapWorkerEntrypoint(klass) {
  if (__INTERNAL_WRANGLER_MIDDLEWARE__ === void 0 || __INTERNAL_WRANGLER_MIDDLEWARE__.length === 0) {
    return klass;
  }
  for (const middleware of __INTERNAL_WRANGLER_MIDDLEWARE__) {
    __facade_register__(middleware);
  }
  return class extends klass {
    #fetchDispatcher = /* @__PURE__ */ __name((request, env, ctx) => {
      this.env = env;
      this.ctx = ctx;
      if (super.fetch === void 0) {
        throw new Error("Entrypoint class does not define a fetch() function.");
      }
      return super.fetch(request);
    }, "#fetchDispatcher");
    #dispatcher = /* @__PURE__ */ __name((type, init) => {
      if (type === "scheduled" && super.scheduled !== void 0) {
        const controller = new __Facade_ScheduledController__(
          Date.now(),
          init.cron ?? "",
          () => {
          }
        );
        return super.scheduled(controller);
      }
    }, "#dispatcher");
    fetch(request) {
      return __facade_invoke__(
        request,
        this.env,
        this.ctx,
        this.#dispatcher,
        this.#fetchDispatcher
      );
    }
  };
}
__name(wrapWorkerEntrypoint, "wrapWorkerEntrypoint");
var WRAPPED_ENTRY;
if (typeof middleware_insertion_facade_default === "object") {
  WRAPPED_ENTRY = wrapExportedHandler(middleware_insertion_facade_default);
} else if (typeof middleware_insertion_facade_default === "function") {
  WRAPPED_ENTRY = wrapWorkerEntrypoint(middleware_insertion_facade_default);
}
var middleware_loader_entry_default = WRAPPED_ENTRY;
export {
  __INTERNAL_WRANGLER_MIDDLEWARE__,
  middleware_loader_entry_default as default
};
//# sourceMappingURL=worker.js.map
