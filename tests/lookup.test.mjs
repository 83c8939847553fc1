// GET /v1/conversions/{id}: a conversion as its object knows it (status,
// revision, delivery state) with its log entries; and what stays when a
// campaign is deleted.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { ORIGIN_SECRET, startWorker } from "./support/worker.mjs";
import { campaign } from "./support/campaigns.mjs";
import { eventually } from "./support/wait.mjs";
import { startOrigin } from "../scripts/origin.mjs";

describe("conversion lookup", () => {
  let origin;
  let worker;
  let c;
  before(async () => {
    origin = await startOrigin({ secret: ORIGIN_SECRET, quiet: true });
    origin.setMode("fail");
    worker = await startWorker({ bindings: { ORIGIN_URL: origin.url, OUTBOX_RETRY_BASE_MS: "200", ORIGIN_TIMEOUT_MS: "1000" } });
    c = campaign();
    await worker.putCampaign(c);
  });
  after(async () => {
    await worker.dispose();
    await origin.close();
  });

  const lookup = (id) => worker.admin(`/v1/conversions/${id}`);

  test("new, updated, then delivered, with its log entries", async () => {
    const click = await worker.click(c.id);
    const created = await worker.postback({ click_id: click, action_id: "order-1", sum: "20" });
    assert.equal(created.status, 200, created.text);
    const id = created.json.conversion_id;

    const fresh = await lookup(id);
    assert.equal(fresh.status, 200, fresh.text);
    assert.equal(fresh.json.conversion_id, id);
    assert.equal(fresh.json.campaign_id, c.id);
    assert.equal(fresh.json.status, "pending");
    assert.equal(fresh.json.revision, 1);
    assert.equal(fresh.json.delivery, "waiting", "the origin fails");
    assert.equal(fresh.json.conversion.action_id, "order-1", "pending: the whole record");
    assert.equal(fresh.json.conversion.payout, "0.50");
    assert.equal(fresh.json.outbox.length, 1);

    assert.equal((await worker.postback({ click_id: click, action_id: "order-1", status: "approved" })).status, 200);
    assert.equal((await worker.postback({ click_id: click, action_id: "order-1", status: "approved" })).status, 409);
    const updated = await lookup(id);
    assert.equal(updated.json.status, "approved");
    assert.equal(updated.json.revision, 2);
    assert.equal(updated.json.conversion.status, "approved", "final: the record from its message");
    assert.equal(updated.json.outbox.length, 2);

    origin.setMode("ok");
    await eventually(async () => (await lookup(id)).json.delivery === "delivered", { what: "delivered" });
    const delivered = await lookup(id);
    assert.deepEqual(delivered.json.outbox, []);
    assert.equal(delivered.json.status, "approved");
    // The accepted postbacks and the refused repeat, newest first.
    await eventually(async () => (await lookup(id)).json.log.length >= 3, { what: "three log entries" });
    const log = (await lookup(id)).json.log;
    assert.deepEqual(log.map((e) => e.code ?? "accepted"), ["status_same", "accepted", "accepted"]);
    assert.ok(log.every((e) => e.conversion_id === id));
  });

  test("an id no object knows is 404; one that names no campaign too", async () => {
    const unknown = await lookup(`cv_${c.id}_AAAAAAAAAAAAAAAA`);
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json.error.code, "conversion_not_found");
    assert.equal((await lookup("nonsense")).status, 404);
    assert.equal((await worker.fetch(`/v1/conversions/cv_${c.id}_AAAAAAAAAAAAAAAA`)).status, 401);
  });

  test("a deleted campaign's log and conversions stay readable; re-created, it continues them", async () => {
    const d = campaign();
    await worker.putCampaign(d);
    const click = await worker.click(d.id);
    const id = (await worker.postback({ click_id: click })).json.conversion_id;
    assert.equal((await worker.admin(`/v1/campaigns/${d.id}`, { method: "DELETE" })).status, 200);

    const refused = await worker.postback({ click_id: click });
    assert.equal(refused.json.error.code, "campaign_not_found");
    assert.equal((await lookup(id)).json.status, "pending");
    await eventually(async () => (await worker.admin(`/v1/logs/postbacks?campaign_id=${d.id}`)).json.entries.length >= 2, { what: "the log" });

    await worker.putCampaign(d);
    const again = await worker.postback({ click_id: click });
    assert.equal(again.status, 409, again.text);
    assert.equal(again.json.error.code, "status_same", "the conversion was remembered");
    assert.equal(again.json.error.detail.conversion_id, id);
  });
});
