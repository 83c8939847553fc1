// What a rejection says (SPEC §4a): every code answers `error.detail`, the
// facts an advertiser needs to fix an integration, and the log keeps it.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startWorker, testClick } from "./support/worker.mjs";
import { campaign, freshId } from "./support/campaigns.mjs";
import { eventually } from "./support/wait.mjs";

describe("rejection details", () => {
  let worker;
  const time = () => Math.floor(Date.now() / 1000) - 60;
  before(async () => {
    worker = await startWorker();
  });
  after(() => worker.dispose());

  /** A rejection's code, its catalog message and its detail. */
  async function refused(res, code) {
    assert.equal(res.json?.error?.code, code, res.text);
    assert.ok(res.json.error.message.length > 0);
    return res.json.error.detail;
  }

  test("edge refusals say which campaign, code, status, partner and goal", async () => {
    const c = campaign({ secure_code: "s3cr3t", allowed_ips: ["203.0.113.0/24"] });
    await worker.putCampaign(c);
    const click = testClick({ campaign: c.id, time: time() });
    const from = (ip) => ({ headers: { "cf-connecting-ip": ip } });
    const ghost = freshId("ghost");
    assert.deepEqual(await refused(await worker.postback({ click_id: click, campaign_id: ghost }), "campaign_not_found"), {
      campaign_id: ghost,
    });
    const elsewhere = campaign();
    await worker.putCampaign(elsewhere);
    assert.deepEqual(await refused(await worker.postback({ click_id: click, campaign_id: elsewhere.id }), "campaign_mismatch"), {
      campaign_id: elsewhere.id,
      click_campaign_id: c.id,
    });
    const inside = "203.0.113.9";
    assert.deepEqual(await refused(await worker.fetch(`/postback?click_id=${click}`, from(inside)), "secure_code_invalid"), {
      problem: "missing",
    });
    const mismatch = await worker.fetch(`/postback?click_id=${click}&secure=guess`, from(inside));
    assert.deepEqual(await refused(mismatch, "secure_code_invalid"), { problem: "mismatch" });
    assert.ok(!mismatch.text.includes("s3cr3t"), "never the expected code");
    assert.deepEqual(await refused(await worker.fetch(`/postback?click_id=${click}&secure=s3cr3t`, from("198.51.100.7")), "secure_code_invalid"), {
      problem: "address_not_allowed",
      address: "198.51.100.7",
    });
    const goals = await refused(await worker.fetch(`/postback?click_id=${click}&secure=s3cr3t&goal=refund`, from(inside)), "goal_not_found");
    assert.deepEqual(goals, { goal: "refund", goals: ["1", "purchase"] });

    const paused = campaign({ status: "paused" });
    await worker.putCampaign(paused);
    assert.deepEqual(await refused(await worker.postback({ click_id: testClick({ campaign: paused.id }) }), "campaign_not_active"), {
      campaign_status: "paused",
    });
    const closed = campaign({ privacy: "private", approved_partners: ["81"] });
    await worker.putCampaign(closed);
    assert.deepEqual(await refused(await worker.postback({ click_id: testClick({ campaign: closed.id }) }), "campaign_privacy_error"), {
      privacy: "private",
      partner_id: "77",
    });
    assert.deepEqual(await refused(await worker.postback({ click_id: "forged" }), "click_not_found"), { problem: "malformed" });
    assert.deepEqual(await refused(await worker.postback({ click_id: click, sum: "12,50" }), "bad_request"), {
      parameter: "sum",
      problem: (await worker.postback({ click_id: click, sum: "12,50" })).json.error.detail.problem,
    });
  });

  test("the object's refusals say the window, the payout rule, the cap and the conversion", async () => {
    const c = campaign({
      min_time_to_action: 30,
      max_time_to_action: 86400,
      timezone: "America/New_York",
      payouts: [{ goal: "1", countries: ["DE"], amount: "1.00" }, { goal: "purchase", percent: "10" }],
      caps: [{ goals: ["1"], period: "day", type: "conversions", value: 1 }],
    });
    await worker.putCampaign(c);
    const now = Math.floor(Date.now() / 1000);
    const soon = await refused(await worker.postback({ click_id: testClick({ campaign: c.id, time: now - 3 }) }), "wrong_time_to_action");
    assert.ok(soon.seconds_since_click >= 3 && soon.seconds_since_click < 30, JSON.stringify(soon));
    assert.equal(soon.min_time_to_action, 30);
    assert.equal(soon.max_time_to_action, 86400);
    assert.deepEqual(
      await refused(await worker.postback({ click_id: testClick({ campaign: c.id, time: now - 60, country: "FR" }) }), "payouts_not_found"),
      { goal: "1", country: "FR", partner_id: "77" },
    );
    const first = testClick({ campaign: c.id, time: now - 60 });
    assert.equal((await worker.postback({ click_id: first, status: "approved" })).status, 200);
    const capped = await refused(await worker.postback({ click_id: testClick({ campaign: c.id, time: now - 60 }) }), "cap_reached");
    assert.deepEqual(capped.cap, { goals: ["1"], period: "day", type: "conversions", value: 1, per_partner: false });
    assert.equal(capped.used, "1");
    // The next local midnight in New York, with its offset.
    assert.match(capped.resets_at, /^\d{4}-\d\d-\d\dT00:00:00-0[45]:00$/);
    assert.ok(Date.parse(capped.resets_at) > Date.now());
    const same = await refused(await worker.postback({ click_id: first, status: "approved" }), "status_same");
    assert.equal(same.conversion_status, "approved");
    assert.match(same.conversion_id, new RegExp(`^cv_${c.id}_`));
    assert.ok(Date.parse(same.updated_at) <= Date.now());
    const final = await refused(await worker.postback({ click_id: first, status: "declined" }), "status_confirmed");
    assert.equal(final.conversion_status, "approved");
    // The log keeps each entry's detail.
    const entry = await eventually(async () => {
      const log = await worker.admin(`/v1/logs/postbacks?campaign_id=${c.id}&code=cap_reached`);
      return log.json.entries[0];
    }, { what: "the cap_reached entry" });
    assert.deepEqual(entry.detail, capped);
    assert.equal(entry.partner_id, "77");
    assert.equal(entry.country, "DE");
  });

  test("a failure says a retry is safe", async () => {
    const id = freshId("broken");
    await (await worker.mf.getKVNamespace("CAMPAIGNS")).put(`campaign:${id}`, "{ not json");
    const res = await worker.postback({ click_id: testClick({ campaign: id }) });
    assert.equal(res.status, 503);
    assert.deepEqual(await refused(res, "internal_error"), { retry: true });
  });
});
