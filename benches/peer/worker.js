// The peer to beat: a plain JavaScript Worker doing the same edge checks on
// the same campaign config, the way a user would write it by hand, and
// answering the same contract (SPEC §4's rejected body, and our headers:
// an answer no cache may keep, since a cached refusal would swallow the
// advertiser's retry). Only the stateless
// edge is modelled (no Durable Object, no postbacks log); the load benchmark
// compares its edge-rejection route with ours.

// SPEC §2 and §4: each edge rejection's status, message, reason and fix,
// the texts of our catalog (src/catalog.rs): a user replacing us answers
// the same contract. The benchmarks check that the bodies match ours byte
// for byte.
const MESSAGES = {
  click_id_missing: [400, "Click ID is missing",
    "The postback has no click_id (or clickid) parameter, or it is empty.",
    "Pass the click id you received on the landing URL back as click_id, e.g. /postback?click_id={click_id}."],
  click_not_found: [404, "Click not found",
    "The click id was not issued by this system: it is malformed, truncated or its signature does not verify.",
    "Send the click id exactly as it arrived on your landing URL, without trimming, re-encoding or substituting it."],
  campaign_not_found: [404, "Campaign not found",
    "No campaign exists with the campaign_id (or offer_id) of the postback, or with the campaign the click was made for.",
    "Check the campaign_id in your postback URL against the campaign in the partner dashboard, or leave it out: the click id carries its campaign."],
  campaign_mismatch: [409, "Campaign mismatch",
    "The postback's campaign_id differs from the campaign the click was made for.",
    "Send the campaign_id of the campaign the click came from, or leave campaign_id out: the click id carries its campaign."],
  secure_code_invalid: [403, "Secure code is not valid",
    "The campaign requires a secure postback code and the postback's secure parameter is missing or wrong, or it came from an address the campaign does not allow.",
    "Add secure=<your campaign's secure code> to the postback URL and send it from one of the campaign's allowed server addresses."],
  campaign_not_active: [409, "Campaign is not active",
    "The campaign is paused or disabled, so it accepts no conversions.",
    "Ask the platform operator to reactivate the campaign, then resend the postback."],
  campaign_privacy_error: [403, "Campaign privacy error",
    "The campaign is private or premoderated and the partner of the click is not approved for it.",
    "Ask the platform operator to approve the partner for this campaign; conversions from unapproved partners are not counted."],
  goal_not_found: [404, "Goal not found in campaign",
    "The goal of the postback (or the campaign's default goal, when none is given) is not one of the campaign's goals.",
    "Send goal=<one of the campaign's goal ids>; goal ids are matched without regard to case."],
};

// Our answers' headers (the benchmarks check that both workers send the same).
const JSON_HEADERS = { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" };
const TEXT_HEADERS = { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" };

let keyPromise;
const cache = new Map();

// The facts behind a rejection (`error.detail`), as ours answers them.
function reject(code, detail) {
  const [status, message, reason, fix] = MESSAGES[code];
  const error = detail ? { code, detail, fix, message, reason } : { code, fix, message, reason };
  return Response.json({ error, status: "rejected" }, { status, headers: JSON_HEADERS });
}

function b64urlToBytes(text) {
  const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

let keyIdPromise;

async function verifyClick(token, env) {
  keyPromise ??= crypto.subtle.importKey("raw", new TextEncoder().encode(env.CLICK_SIGNING_KEY), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  // The format byte names the key: 0x80 | its id (docs/REFERENCE.md, "Click ids").
  keyIdPromise ??= crypto.subtle
    .digest("SHA-256", new TextEncoder().encode("postback-edge click key id" + env.CLICK_SIGNING_KEY))
    .then((d) => 0x80 | (new Uint8Array(d)[0] & 0x7f));
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
  if (diff !== 0 || (payload[0] !== 1 && payload[0] !== (await keyIdPromise))) return null;
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
    if (url.pathname === "/healthz") return new Response("ok", { headers: TEXT_HEADERS });
    if (url.pathname !== "/postback") return new Response("not found", { status: 404, headers: TEXT_HEADERS });
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
    if (!goal) return reject("goal_not_found", { goal: p.get("goal") ?? campaign.default_goal ?? null, goals: campaign.goals.map((g) => g.id) });
    return Response.json({ status: "accepted", goal: goal.id }, { headers: JSON_HEADERS });
  },
};
