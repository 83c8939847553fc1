// The peer to beat: a plain JavaScript Worker doing the same edge checks on
// the same campaign config, the way a user would write it by hand. Only the
// stateless edge is modelled (no Durable Object); the load benchmark
// compares its edge-rejection route with ours.

const MESSAGES = {
  click_id_missing: [400, "Click ID is missing"],
  click_not_found: [404, "Click not found"],
  campaign_not_found: [404, "Campaign not found"],
  campaign_mismatch: [409, "Campaign mismatch"],
  secure_code_invalid: [403, "Secure code is not valid"],
  campaign_not_active: [409, "Campaign is not active"],
  campaign_privacy_error: [403, "Campaign privacy error"],
  goal_not_found: [404, "Goal not found in campaign"],
};

let keyPromise;
const cache = new Map();

function reject(code) {
  const [status, message] = MESSAGES[code];
  return Response.json({ status: "rejected", error: { code, message } }, { status });
}

function b64urlToBytes(text) {
  const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

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
    partner: dec.decode(payload.subarray(12 + (lens >> 4), 12 + (lens >> 4) + (lens & 15))),
  };
}

async function loadCampaign(id, env) {
  const hit = cache.get(id);
  if (hit && Date.now() - hit.at < 5000) return hit.campaign;
  const campaign = await env.CAMPAIGNS.get(`campaign:${id}`, "json");
  cache.set(id, { at: Date.now(), campaign });
  return campaign;
}

export default {
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
  },
};
