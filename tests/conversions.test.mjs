// The campaign Durable Object over HTTP: the status machine, conversion
// identity, dry runs, exact caps under concurrency, and persistence.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startWorker, stateDir, testClick } from "./support/worker.mjs";
import { campaign } from "./support/campaigns.mjs";

function assertAccepted(res, status) {
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.status, "accepted");
  assert.equal(res.json.conversion_status, status);
}

/** The campaign and identity-key bytes of `cv_{campaign}_{16 characters}`, without the creation time. */
function conversionKey(id) {
  const match = /^cv_(.+)_([A-Za-z0-9_-]{16})$/.exec(id);
  assert.ok(match, `a conversion id: ${id}`);
  return [match[1], Buffer.from(match[2], "base64url").subarray(0, 8).toString("hex")];
}

function assertRejected(res, httpStatus, code, message) {
  assert.equal(res.status, httpStatus, res.text);
  assert.equal(res.json.error.code, code);
  assert.equal(res.json.error.message, message);
}

describe("conversions", () => {
  let worker;
  before(async () => {
    worker = await startWorker();
  });
  after(() => worker.dispose());

  async function fresh(overrides = {}) {
    const c = campaign(overrides);
    await worker.putCampaign(c);
    return c;
  }

  test("pending, then approved; same status twice; change after approval", async () => {
    const c = await fresh();
    const click = await worker.click(c.id);
    const created = await worker.postback({ click_id: click });
    assertAccepted(created, "pending");
    const same = await worker.postback({ click_id: click, status: "pending" });
    assertRejected(same, 409, "status_same", "Conversion status is the same as received");
    const approved = await worker.postback({ click_id: click, status: "1" });
    assertAccepted(approved, "approved");
    assert.equal(approved.json.conversion_id, created.json.conversion_id);
    assertRejected(await worker.postback({ click_id: click, status: "approved" }), 409, "status_same", "Conversion status is the same as received");
    assertRejected(await worker.postback({ click_id: click, status: "declined" }), 409, "status_confirmed", "Conversion status is confirmed");
  });

  test("every status word and number creates and moves conversions", async () => {
    const c = await fresh();
    for (const [sent, expected] of [["2", "pending"], ["approved", "approved"], ["3", "declined"], ["rejected", "declined"], ["5", "hold"], ["HOLD", "hold"]]) {
      assertAccepted(await worker.postback({ click_id: await worker.click(c.id), status: sent }), expected);
    }
  });

  test("action_id identifies a conversion whatever the click", async () => {
    const c = await fresh();
    const first = await worker.postback({ click_id: await worker.click(c.id), action_id: "order-1" });
    assertAccepted(first, "pending");
    const reused = await worker.postback({ click_id: await worker.click(c.id), action_id: "order-1" });
    assertRejected(reused, 409, "status_same", "Conversion status is the same as received");
    const approvedElsewhere = await worker.postback({ click_id: await worker.click(c.id), action_id: "order-1", status: "approved" });
    assertAccepted(approvedElsewhere, "approved");
    assert.equal(approvedElsewhere.json.conversion_id, first.json.conversion_id);
    // Another goal with the same action id is another conversion.
    assertAccepted(await worker.postback({ click_id: await worker.click(c.id), action_id: "order-1", goal: "purchase", sum: "5" }), "pending");
  });

  test("wrong_time_to_action, too soon and too late; late updates still apply", async () => {
    const c = await fresh({ min_time_to_action: 30, max_time_to_action: 3600 });
    const now = Math.floor(Date.now() / 1000);
    const tooSoon = testClick({ campaign: c.id, time: now - 5 });
    assertRejected(await worker.postback({ click_id: tooSoon }), 422, "wrong_time_to_action", "Wrong time to action");
    const tooLate = testClick({ campaign: c.id, time: now - 7200 });
    assertRejected(await worker.postback({ click_id: tooLate }), 422, "wrong_time_to_action", "Wrong time to action");
    const inWindow = testClick({ campaign: c.id, time: now - 60 });
    assertAccepted(await worker.postback({ click_id: inWindow }), "pending");

    // The same conversion's status update after the window closed applies.
    const open = await fresh({ max_time_to_action: 3600 });
    const old = testClick({ campaign: open.id, time: now - 60 });
    assertAccepted(await worker.postback({ click_id: old }), "pending");
    await worker.putCampaign({ ...open, max_time_to_action: 10 });
    assertAccepted(await worker.postback({ click_id: old, status: "approved" }), "approved");
  });

  test("payouts_not_found when no rule matches goal, country and partner", async () => {
    const c = await fresh({ payouts: [{ goal: "1", countries: ["DE"], partners: ["77"], amount: "1" }] });
    const now = Math.floor(Date.now() / 1000) - 60;
    assertRejected(await worker.postback({ click_id: testClick({ campaign: c.id, country: "US", time: now }) }), 422, "payouts_not_found", "Campaign payouts not found");
    assertRejected(await worker.postback({ click_id: testClick({ campaign: c.id, partner: "78", time: now }) }), 422, "payouts_not_found", "Campaign payouts not found");
    assertAccepted(await worker.postback({ click_id: testClick({ campaign: c.id, time: now }) }), "pending");
  });

  test("a dry run leaves no trace: the same postback then counts as new", async () => {
    const c = await fresh({ caps: [{ period: "all", type: "conversions", value: 1 }] });
    const click = await worker.click(c.id);
    const check = await worker.postback({ click_id: click }, "/postback/check");
    assertAccepted(check, "pending");
    assert.equal(check.json.dry_run, true);
    const again = await worker.postback({ click_id: click }, "/postback/check");
    assertAccepted(again, "pending");
    const real = await worker.postback({ click_id: click });
    assertAccepted(real, "pending");
    assert.equal(real.json.dry_run, undefined);
    // The id carries its creation second, so the real postback, a second
    // later, may name another id; the conversion's key is the same.
    assert.deepEqual(conversionKey(real.json.conversion_id), conversionKey(check.json.conversion_id));
    // Now the dry run sees what is stored: its id, the cap full, the status same.
    const update = await worker.postback({ click_id: click, status: "approved" }, "/postback/check");
    assertAccepted(update, "approved");
    assert.equal(update.json.conversion_id, real.json.conversion_id);
    assertRejected(await worker.postback({ click_id: click }, "/postback/check"), 409, "status_same", "Conversion status is the same as received");
    const other = await worker.click(c.id);
    assertRejected(await worker.postback({ click_id: other }, "/postback/check"), 409, "cap_reached", "Campaign cap is reached, conversion is rejected");
  });

  test("dry runs run the edge checks too", async () => {
    const c = await fresh({ secure_code: "s" });
    const res = await worker.postback({ click_id: await worker.click(c.id) }, "/postback/check");
    assertRejected(res, 403, "secure_code_invalid", "Secure code is not valid");
  });

  test("200 concurrent postbacks against a cap of 50 admit exactly 50", async () => {
    const c = await fresh({ caps: [{ period: "day", type: "conversions", value: 50 }] });
    const time = Math.floor(Date.now() / 1000) - 60;
    const clicks = Array.from({ length: 200 }, () => testClick({ campaign: c.id, time }));
    const results = await Promise.all(clicks.map((click_id) => worker.postback({ click_id })));
    const byStatus = {};
    for (const r of results) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
    assert.deepEqual(byStatus, { 200: 50, 409: 150 }, JSON.stringify(byStatus));
    assert.ok(results.filter((r) => r.status === 409).every((r) => r.json.error.code === "cap_reached"));
  });

  test("budget caps count payouts in decimal; per-partner caps count each partner", async () => {
    const c = await fresh({
      payouts: [{ goal: "1", amount: "0.10" }],
      caps: [
        { period: "month", type: "budget", value: "0.30" },
        { period: "all", type: "conversions", value: 2, per_partner: true },
      ],
    });
    const time = Math.floor(Date.now() / 1000) - 60;
    const post = (partner) => worker.postback({ click_id: testClick({ campaign: c.id, partner, time }) });
    assertAccepted(await post("a"), "pending");
    assertAccepted(await post("a"), "pending");
    assertRejected(await post("a"), 409, "cap_reached", "Campaign cap is reached, conversion is rejected");
    assertAccepted(await post("b"), "pending");
    // 0.10 × 3 = 0.30 exactly: the budget is now full for everyone.
    assertRejected(await post("c"), 409, "cap_reached", "Campaign cap is reached, conversion is rejected");
  });

  test("a raised cap applies to the next postback", async () => {
    const c = await fresh({ caps: [{ period: "day", type: "conversions", value: 1 }] });
    assertAccepted(await worker.postback({ click_id: await worker.click(c.id) }), "pending");
    assertRejected(await worker.postback({ click_id: await worker.click(c.id) }), 409, "cap_reached", "Campaign cap is reached, conversion is rejected");
    await worker.putCampaign({ ...c, caps: [{ period: "day", type: "conversions", value: 2 }] });
    assertAccepted(await worker.postback({ click_id: await worker.click(c.id) }), "pending");
  });
});

describe("persistence", () => {
  test("state survives disposing Miniflare and starting again on the same storage", async () => {
    const dir = stateDir();
    const c = campaign({ caps: [{ period: "all", type: "conversions", value: 1 }] });
    let worker = await startWorker({ persist: dir });
    let click;
    try {
      await worker.putCampaign(c);
      click = await worker.click(c.id);
      assertAccepted(await worker.postback({ click_id: click }), "pending");
    } finally {
      await worker.dispose();
    }
    worker = await startWorker({ persist: dir });
    try {
      assertRejected(await worker.postback({ click_id: click }), 409, "status_same", "Conversion status is the same as received");
      assertAccepted(await worker.postback({ click_id: click, status: "approved" }), "approved");
      assertRejected(await worker.postback({ click_id: await worker.click(c.id) }), 409, "cap_reached", "Campaign cap is reached, conversion is rejected");
    } finally {
      await worker.dispose();
    }
  });
});
