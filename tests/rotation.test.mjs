// Every secret rotates without losing a click, a postback or a delivery:
// click signing keys, origin secrets and admin tokens each list one or more.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { startWorker, stateDir } from "./support/worker.mjs";
import { keyId, mintClick } from "./support/click.mjs";
import { campaign } from "./support/campaigns.mjs";
import { eventually } from "./support/wait.mjs";
import { startOrigin } from "../scripts/origin.mjs";

/** Two click keys with different key ids (one pair in 128 shares one). */
function twoKeys() {
  const a = `key-a-${randomBytes(8).toString("hex")}`;
  let b;
  do b = `key-b-${randomBytes(8).toString("hex")}`;
  while (keyId(b) === keyId(a));
  return [a, b];
}

const whsec = () => `whsec_${randomBytes(32).toString("base64")}`;

/** The format byte of a click id: 0x80 | key id, or 1 for the one-key format. */
const formatByte = (clickId) => Buffer.from(clickId, "base64url")[0];

describe("rotating secrets", () => {
  test("a click converts across a key rotation, and answers unknown_key once its key is removed", async () => {
    const dir = stateDir();
    const [A, B] = twoKeys();
    const c = campaign();
    const start = (keys) => startWorker({ persist: dir, bindings: { CLICK_SIGNING_KEY: keys } });

    let worker = await start(A);
    let clickA, legacyA;
    try {
      await worker.putCampaign(c);
      clickA = await worker.click(c.id);
      assert.equal(formatByte(clickA), 0x80 | keyId(A), "the click id names its key");
      // An id of the earlier one-key format, as minted before this version.
      legacyA = mintClick(A, { campaign: c.id, unkeyed: true });
    } finally {
      await worker.dispose();
    }

    // B added in front: B signs, A still verifies.
    worker = await start(`${B} ${A}`);
    let clickB;
    try {
      const a = await worker.postback({ click_id: clickA });
      assert.equal(a.status, 200, a.text);
      const legacy = await worker.postback({ click_id: legacyA });
      assert.equal(legacy.status, 200, legacy.text);
      clickB = await worker.click(c.id);
      assert.equal(formatByte(clickB), 0x80 | keyId(B));
    } finally {
      await worker.dispose();
    }

    // A removed: B's clicks convert, A's name a key nobody lists.
    worker = await start(B);
    try {
      const b = await worker.postback({ click_id: clickB });
      assert.equal(b.status, 200, b.text);
      const a = await worker.postback({ click_id: clickA, goal: "purchase" });
      assert.equal(a.status, 404, a.text);
      assert.equal(a.json.error.code, "click_not_found");
      assert.equal(a.json.error.message, "Click not found");
      assert.equal(a.json.error.detail.problem, "unknown_key");
      const legacy = await worker.postback({ click_id: legacyA, goal: "purchase" });
      assert.equal(legacy.json.error.code, "click_not_found");
      assert.equal(legacy.json.error.detail.problem, "bad_signature", "a one-key id names no key");
      const forged = await worker.postback({ click_id: "forged" });
      assert.equal(forged.json.error.detail.problem, "malformed");
      // The log says why, too.
      const entry = await eventually(async () => {
        const log = await worker.admin("/v1/logs/postbacks?code=click_not_found");
        return log.json.entries.find((e) => e.click_id === clickA);
      }, { what: "the unknown key's log entry" });
      assert.deepEqual(entry.detail, { problem: "unknown_key" });
    } finally {
      await worker.dispose();
    }
  });

  test("a delivery under two origin secrets verifies with the standardwebhooks library using either alone", async () => {
    const [A, B] = [whsec(), whsec()];
    const origin = await startOrigin({ secret: `${A} ${B}`, quiet: true });
    const worker = await startWorker({ bindings: { ORIGIN_SECRET: `${B} ${A}`, ORIGIN_URL: origin.url } });
    try {
      const c = campaign();
      await worker.putCampaign(c);
      const click = await worker.click(c.id);
      assert.equal((await worker.postback({ click_id: click })).status, 200);
      assert.equal((await worker.postback({ click_id: click, status: "approved" })).status, 200);
      await eventually(() => origin.received.length >= 2, { what: "two deliveries" });
      for (const { raw } of origin.received) {
        assert.equal(raw.headers["webhook-signature"].split(" ").length, 2, "one signature per secret");
        for (const secret of [A, B]) {
          const payload = new Webhook(secret).verify(raw.body, raw.headers);
          assert.ok(payload.data.id.startsWith("cv_"));
        }
        assert.throws(() => new Webhook(whsec()).verify(raw.body, raw.headers), /signature/i);
      }
    } finally {
      await worker.dispose();
      await origin.close();
    }
  });

  test("each listed admin token has full access, and nothing else does", async () => {
    const worker = await startWorker({ bindings: { ADMIN_TOKEN: "token-new\ntoken-old" } });
    try {
      const as = (authorization, path = "/v1/campaigns", init = {}) =>
        worker.fetch(path, { ...init, headers: { authorization, ...(init.headers ?? {}) } });
      for (const token of ["token-new", "token-old"]) {
        assert.equal((await as(`Bearer ${token}`)).status, 200, token);
        const basic = `Basic ${Buffer.from(`ops:${token}`).toString("base64")}`;
        assert.equal((await as(basic, "/logs/postbacks")).status, 200, token);
        const c = campaign();
        const put = await as(`Bearer ${token}`, `/v1/campaigns/${c.id}`, { method: "PUT", body: JSON.stringify(c) });
        assert.equal(put.status, 200, put.text);
      }
      for (const wrong of ["Bearer token-new token-old", "Bearer token-newtoken-old", "Bearer token", "Bearer "]) {
        assert.equal((await as(wrong)).status, 401, wrong);
      }
    } finally {
      await worker.dispose();
    }
  });
});
