// Scoped tokens (advertisers, support staff): made by the admin, shown once,
// stored as a hash; they read only their campaigns' log, conversions and
// outbox, and nothing else; revoked at once.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startWorker } from "./support/worker.mjs";
import { campaign } from "./support/campaigns.mjs";
import { eventually } from "./support/wait.mjs";

describe("scoped tokens", () => {
  let worker;
  let mine;
  let theirs;
  let acme; // the token's answer when made
  let conversionId;
  let theirConversionId;
  before(async () => {
    worker = await startWorker();
    mine = campaign();
    theirs = campaign();
    await worker.putCampaign(mine);
    await worker.putCampaign(theirs);
    const made = await worker.admin("/v1/tokens", {
      method: "POST",
      body: JSON.stringify({ name: "acme", campaigns: [mine.id] }),
    });
    assert.equal(made.status, 201, made.text);
    acme = made.json;
    const accepted = await worker.postback({ click_id: await worker.click(mine.id) });
    conversionId = accepted.json.conversion_id;
    theirConversionId = (await worker.postback({ click_id: await worker.click(theirs.id) })).json.conversion_id;
    await worker.postback({ click_id: "forged" }); // unattributed: the admin's only
    await eventually(async () => (await worker.admin("/v1/logs/postbacks")).json.entries.length >= 3, { what: "three entries" });
  });
  after(() => worker.dispose());

  const as = (token, path, init = {}) =>
    worker.fetch(path, { ...init, headers: { authorization: `Bearer ${token}`, ...(init.headers ?? {}) } });

  test("made once: name, scope and the token, which is never shown again", async () => {
    assert.equal(acme.name, "acme");
    assert.deepEqual(acme.campaigns, [mine.id]);
    assert.match(acme.token, /^pet_[A-Za-z0-9_-]{43}$/);
    const list = await worker.admin("/v1/tokens");
    assert.equal(list.status, 200);
    assert.deepEqual(list.json.tokens, [{ name: "acme", campaigns: [mine.id] }]);
    assert.ok(!list.text.includes(acme.token.slice(4)), "the list never shows a token");
    // The store keeps a hash: no KV value holds the token.
    const kv = await worker.mf.getKVNamespace("CAMPAIGNS");
    for (const { name } of (await kv.list({ prefix: "token:" })).keys) {
      assert.ok(!name.includes(acme.token.slice(4)));
      assert.ok(!(await kv.get(name)).includes(acme.token.slice(4)));
    }
  });

  test("a name is unique, and a bad request names what is wrong", async () => {
    const again = await worker.admin("/v1/tokens", { method: "POST", body: JSON.stringify({ name: "acme", campaigns: "*" }) });
    assert.equal(again.status, 409);
    for (const [body, parameter] of [
      [{ name: "x", campaigns: [] }, "campaigns"],
      [{ name: "a b", campaigns: "*" }, "name"],
      [{ name: "x", campaigns: "*", admin: true }, "admin"],
    ]) {
      const res = await worker.admin("/v1/tokens", { method: "POST", body: JSON.stringify(body) });
      assert.equal(res.status, 400, res.text);
      assert.equal(res.json.error.detail.parameter, parameter);
    }
  });

  test("reads its campaigns' log only; a filter naming another campaign is 403", async () => {
    const own = await as(acme.token, "/v1/logs/postbacks");
    assert.equal(own.status, 200, own.text);
    assert.ok(own.json.entries.length >= 1);
    assert.ok(own.json.entries.every((e) => e.campaign_id === mine.id), JSON.stringify(own.json.entries));
    assert.equal(own.json.counts.click_not_found, undefined, "no unattributed entries");
    assert.equal((await as(acme.token, `/v1/logs/postbacks?campaign_id=${mine.id}`)).status, 200);
    const other = await as(acme.token, `/v1/logs/postbacks?campaign_id=${theirs.id}`);
    assert.equal(other.status, 403);
    assert.equal(other.json.error.code, "forbidden");
    // A conversion id names its campaign: another campaign's is refused too.
    assert.equal((await as(acme.token, `/v1/logs/postbacks?conversion_id=${theirConversionId}`)).status, 403);
    const exported = await as(acme.token, "/v1/logs/postbacks?format=ndjson");
    assert.equal(exported.status, 200);
    const lines = exported.text.trim().split("\n").map((l) => JSON.parse(l));
    assert.ok(lines.length >= 1 && lines.every((e) => e.campaign_id === mine.id));
  });

  test("reads its conversions and outbox, not another campaign's", async () => {
    const own = await as(acme.token, `/v1/conversions/${conversionId}`);
    assert.equal(own.status, 200, own.text);
    assert.equal(own.json.conversion_id, conversionId);
    assert.equal((await as(acme.token, `/v1/conversions/${theirConversionId}`)).status, 403);
    const outbox = await as(acme.token, "/v1/outbox");
    assert.equal(outbox.status, 200);
    assert.ok(outbox.json.campaigns.every((c) => c.campaign_id === mine.id), outbox.text);
    const all = await worker.admin("/v1/outbox");
    assert.ok(all.json.campaigns.some((c) => c.campaign_id === theirs.id), "the admin sees every campaign");
  });

  test("anything but reading is 403", async () => {
    for (const [method, path, body] of [
      ["GET", "/v1/campaigns"],
      ["GET", `/v1/campaigns/${mine.id}`],
      ["PUT", `/v1/campaigns/${mine.id}`, JSON.stringify(mine)],
      ["DELETE", `/v1/campaigns/${mine.id}`],
      ["GET", `/v1/campaigns/${mine.id}/stats`],
      ["POST", "/v1/outbox/retry"],
      ["GET", "/v1/tokens"],
      ["POST", "/v1/tokens", JSON.stringify({ name: "mine-too", campaigns: "*" })],
      ["DELETE", "/v1/tokens/acme"],
    ]) {
      const res = await as(acme.token, path, { method, body });
      assert.equal(res.status, 403, `${method} ${path}: ${res.text}`);
    }
    assert.equal((await worker.admin(`/v1/campaigns/${mine.id}`)).status, 200, "nothing was deleted");
  });

  test("opens the log page as HTTP Basic's password", async () => {
    const basic = Buffer.from(`advertiser:${acme.token}`).toString("base64");
    const page = await worker.fetch("/logs/postbacks", { headers: { authorization: `Basic ${basic}` } });
    assert.equal(page.status, 200);
    assert.match(page.text, new RegExp(mine.id));
    assert.ok(!page.text.includes(theirs.id));
    const refused = await worker.fetch(`/logs/postbacks?campaign_id=${theirs.id}`, { headers: { authorization: `Basic ${basic}` } });
    assert.equal(refused.status, 403);
    assert.match(refused.headers.get("content-type"), /text\/html/, "the page answers its errors as a page");
  });

  test("a token for every campaign reads all campaigns, still nothing unattributed", async () => {
    const star = await worker.admin("/v1/tokens", { method: "POST", body: JSON.stringify({ name: "support", campaigns: "*" }) });
    assert.equal(star.status, 201);
    const log = await as(star.json.token, "/v1/logs/postbacks");
    const campaigns = new Set(log.json.entries.map((e) => e.campaign_id));
    assert.ok(campaigns.has(mine.id) && campaigns.has(theirs.id));
    assert.ok(log.json.entries.every((e) => e.campaign_id), "no entry without a campaign");
    assert.equal((await worker.admin("/v1/tokens/support", { method: "DELETE" })).status, 200);
  });

  test("revoked at once; an unknown token is 401", async () => {
    const made = await worker.admin("/v1/tokens", { method: "POST", body: JSON.stringify({ name: "short-lived", campaigns: [mine.id] }) });
    assert.equal((await as(made.json.token, "/v1/logs/postbacks")).status, 200);
    const deleted = await worker.admin("/v1/tokens/short-lived", { method: "DELETE" });
    assert.equal(deleted.status, 200);
    assert.equal((await as(made.json.token, "/v1/logs/postbacks")).status, 401);
    assert.equal((await worker.admin("/v1/tokens/short-lived", { method: "DELETE" })).status, 404);
    assert.equal((await as(`pet_${"A".repeat(43)}`, "/v1/logs/postbacks")).status, 401);
    assert.deepEqual((await worker.admin("/v1/tokens")).json.tokens.map((t) => t.name), ["acme"]);
  });
});
