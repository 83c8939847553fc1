// GET /click: a signed click id, and the landing URL with its macros.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { CLICK_SIGNING_KEY, startWorker } from "./support/worker.mjs";
import { campaign } from "./support/campaigns.mjs";
import { keyId } from "./support/click.mjs";

describe("clicks", () => {
  let worker;
  let c;
  before(async () => {
    worker = await startWorker();
    c = campaign();
    await worker.putCampaign(c);
  });
  after(() => worker.dispose());

  test("redirects to the landing URL with macros filled", async () => {
    const res = await worker.fetch(`/click?campaign_id=${c.id}&partner_id=77&sub1=a%20b%26c`);
    assert.equal(res.status, 302);
    const location = new URL(res.headers.get("location"));
    assert.equal(location.origin + location.pathname, "https://shop.example/");
    assert.equal(location.searchParams.get("p"), "77");
    assert.equal(location.searchParams.get("s1"), "a b&c");
    const cid = location.searchParams.get("cid");
    assert.match(cid, /^[A-Za-z0-9_-]{1,64}$/);
  });

  test("the click id is the documented format, verifiable with the key", async () => {
    const res = await worker.fetch(`/click?campaign_id=${c.id}&partner_id=77`, { cf: { country: "fr" } });
    const cid = new URL(res.headers.get("location")).searchParams.get("cid");
    const bytes = Buffer.from(cid, "base64url");
    const payload = bytes.subarray(0, bytes.length - 12);
    const tag = bytes.subarray(bytes.length - 12);
    const expected = createHmac("sha256", CLICK_SIGNING_KEY).update(payload).digest().subarray(0, 12);
    assert.deepEqual(tag, expected);
    assert.equal(payload[0], 0x80 | keyId(CLICK_SIGNING_KEY), "the format byte names the signing key");
    const time = payload.readUInt32BE(1);
    assert.ok(Math.abs(time - Date.now() / 1000) < 60, "click time is now");
    assert.equal(payload.subarray(5, 7).toString("ascii"), "FR", "request.cf.country, upper-cased");
    const lens = payload[11];
    const campaignId = payload.subarray(12, 12 + (lens >> 4)).toString("ascii");
    const partnerId = payload.subarray(12 + (lens >> 4)).toString("ascii");
    assert.equal(campaignId, c.id);
    assert.equal(partnerId, "77");
  });

  test("two clicks are two ids", async () => {
    const a = await worker.click(c.id);
    const b = await worker.click(c.id);
    assert.notEqual(a, b);
  });

  test("refusals", async () => {
    const code = async (path) => (await worker.fetch(path)).json.error.code;
    assert.equal(await code(`/click?partner_id=77`), "bad_request");
    assert.equal(await code(`/click?campaign_id=${c.id}`), "bad_request");
    assert.equal(await code(`/click?campaign_id=nope&partner_id=77`), "campaign_not_found");
    const paused = campaign({ status: "paused" });
    await worker.putCampaign(paused);
    assert.equal(await code(`/click?campaign_id=${paused.id}&partner_id=77`), "campaign_not_active");
    const priv = campaign({ privacy: "private" });
    await worker.putCampaign(priv);
    assert.equal(await code(`/click?campaign_id=${priv.id}&partner_id=5`), "campaign_privacy_error");
  });
});
