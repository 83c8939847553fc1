// The campaign admin API: the token, validation before any write, CRUD.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { ADMIN_TOKEN, startWorker } from "./support/worker.mjs";
import { campaign } from "./support/campaigns.mjs";

describe("admin API", () => {
  let worker;
  before(async () => {
    worker = await startWorker();
  });
  after(() => worker.dispose());

  test("401 without the token, with a wrong one, or with another scheme", async () => {
    const c = campaign();
    const cases = [
      {},
      { authorization: "Bearer wrong" },
      { authorization: `Token ${ADMIN_TOKEN}` },
      { authorization: `Basic ${Buffer.from(`${ADMIN_TOKEN}:x`).toString("base64")}` },
    ];
    for (const headers of cases) {
      for (const [method, path] of [
        ["GET", "/v1/campaigns"],
        ["GET", `/v1/campaigns/${c.id}`],
        ["PUT", `/v1/campaigns/${c.id}`],
        ["DELETE", `/v1/campaigns/${c.id}`],
      ]) {
        const body = method === "PUT" ? JSON.stringify(c) : undefined;
        const res = await worker.fetch(path, { method, headers, body });
        assert.equal(res.status, 401, `${method} ${path} with ${JSON.stringify(headers)}`);
        assert.equal(res.json.error.code, "unauthorized");
      }
    }
    // Nothing was written by the refused PUTs.
    assert.equal((await worker.admin(`/v1/campaigns/${c.id}`)).status, 404);
  });

  test("HTTP Basic with the token as password is accepted (for browsers)", async () => {
    const basic = Buffer.from(`operator:${ADMIN_TOKEN}`).toString("base64");
    const res = await worker.fetch("/v1/campaigns", { headers: { authorization: `Basic ${basic}` } });
    assert.equal(res.status, 200);
  });

  test("put, get, list, delete", async () => {
    const c = campaign();
    const put = await worker.admin(`/v1/campaigns/${c.id}`, { method: "PUT", body: JSON.stringify(c) });
    assert.equal(put.status, 200, put.text);
    const got = await worker.admin(`/v1/campaigns/${c.id}`);
    assert.equal(got.status, 200);
    assert.deepEqual(got.json, c);
    const list = await worker.admin("/v1/campaigns");
    assert.ok(list.json.campaigns.includes(c.id), list.text);
    const del = await worker.admin(`/v1/campaigns/${c.id}`, { method: "DELETE" });
    assert.equal(del.status, 200);
    assert.equal((await worker.admin(`/v1/campaigns/${c.id}`)).status, 404);
    assert.equal((await worker.admin(`/v1/campaigns/${c.id}`, { method: "DELETE" })).status, 404);
    assert.ok(!(await worker.admin("/v1/campaigns")).json.campaigns.includes(c.id));
  });

  test("an invalid config is refused, naming the field, and not written", async () => {
    const cases = [
      [{ colour: "red" }, "colour"],
      [{ status: "sleeping" }, "status"],
      [{ privacy: "secret" }, "privacy"],
      [{ timezone: "Mars/Olympus" }, "timezone"],
      [{ caps: [{ period: "day", type: "conversions", value: -1 }] }, "caps[0].value"],
      [{ caps: [{ period: "day", type: "budget", value: "-5.00" }] }, "caps[0].value"],
      [{ caps: [{ period: "fortnight", type: "budget", value: "5" }] }, "caps[0].period"],
      [{ payouts: [{ goal: "refund", amount: "1" }] }, "payouts[0].goal"],
      [{ payouts: [{ goal: "1", amount: 1.2 }] }, "payouts[0].amount"],
      [{ default_goal: "9" }, "default_goal"],
      [{ landing_url: "https://shop.example/" }, "landing_url"],
    ];
    for (const [overrides, field] of cases) {
      const c = campaign(overrides);
      const res = await worker.admin(`/v1/campaigns/${c.id}`, { method: "PUT", body: JSON.stringify(c) });
      assert.equal(res.status, 400, `${field}: ${res.text}`);
      assert.equal(res.json.error.code, "invalid_config");
      assert.equal(res.json.error.field, field, res.text);
      assert.equal((await worker.admin(`/v1/campaigns/${c.id}`)).status, 404, `${field} config was written`);
    }
    const notJson = await worker.admin("/v1/campaigns/x1", { method: "PUT", body: "{" });
    assert.equal(notJson.status, 400);
    const c = campaign();
    const wrongPath = await worker.admin("/v1/campaigns/other", { method: "PUT", body: JSON.stringify(c) });
    assert.equal(wrongPath.status, 400);
    assert.equal(wrongPath.json.error.field, "id");
    assert.equal((await worker.admin("/v1/campaigns/other")).status, 404);
  });

  test("an update replaces the config and applies at once in this isolate", async () => {
    const c = campaign();
    await worker.putCampaign(c);
    const click = await worker.click(c.id);
    await worker.putCampaign({ ...c, status: "paused" });
    const res = await worker.postback({ click_id: click });
    assert.equal(res.status, 409);
    assert.equal(res.json.error.code, "campaign_not_active");
  });
});
