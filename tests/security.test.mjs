// Secrets stay secret, and junk cannot make objects.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { ADMIN_TOKEN, CLICK_SIGNING_KEY, ORIGIN_SECRET, startWorker, stateDir, storedObjects, testClick } from "./support/worker.mjs";
import { campaign, freshId } from "./support/campaigns.mjs";
import { eventually } from "./support/wait.mjs";

describe("security", () => {
  test("no answer carries a secret", async () => {
    const worker = await startWorker();
    try {
      const c = campaign({ secure_code: "campaign-secure-code" });
      await worker.putCampaign(c);
      const click = await worker.click(c.id);
      const requests = [
        `/postback?click_id=${click}&secure=campaign-secure-code`,
        `/postback?click_id=${click}&secure=wrong`,
        `/postback?click_id=${click}&secure=campaign-secure-code&goal=x`,
        `/postback/check?click_id=${click}&secure=campaign-secure-code`,
        `/postback?click_id=forged&secure=campaign-secure-code`,
        `/postback?click_id=${click}&sum=%zz&secure=campaign-secure-code`,
        "/postback?click_id=" + testClick({ campaign: freshId() }),
        "/click?campaign_id=" + c.id + "&partner_id=77",
        "/v1/campaigns",
        "/v1/logs/postbacks",
        "/logs/postbacks",
        "/v1/outbox",
        "/nope",
      ];
      const seen = [];
      for (const path of requests) {
        const anonymous = await worker.fetch(path);
        const admin = await worker.admin(path);
        for (const res of [anonymous, admin]) {
          seen.push(res.text, JSON.stringify([...res.headers]));
        }
      }
      await eventually(async () => (await worker.admin("/v1/logs/postbacks")).json.entries.length >= 6, { what: "log rows" });
      seen.push((await worker.admin("/v1/logs/postbacks?limit=500")).text, (await worker.admin("/logs/postbacks")).text);
      const all = seen.join("\n");
      for (const secret of [ADMIN_TOKEN, CLICK_SIGNING_KEY, ORIGIN_SECRET, ORIGIN_SECRET.slice(6)]) {
        assert.ok(!all.includes(secret), `a response contains ${secret.slice(0, 8)}…`);
      }
      // The postback's secure parameter is shown only redacted in logs.
      const logs = (await worker.admin("/v1/logs/postbacks?limit=500")).text;
      assert.ok(!logs.includes("campaign-secure-code"));
    } finally {
      await worker.dispose();
    }
  });

  test("postbacks for unknown campaigns never create a Durable Object", async () => {
    const dir = stateDir();
    const worker = await startWorker({ persist: dir });
    try {
      const c = campaign();
      await worker.putCampaign(c);
      const ok = await worker.postback({ click_id: await worker.click(c.id) });
      assert.equal(ok.status, 200);
      await worker.postback({ click_id: "forged" }); // makes the one unattributed log object
      await eventually(async () => (await worker.admin("/v1/logs/postbacks")).json.entries.length >= 2, { what: "two log rows" });
      const before = storedObjects(dir);
      for (let i = 0; i < 20; i++) {
        const res = await worker.postback({ click_id: testClick({ campaign: freshId("ghost") }) });
        assert.equal(res.json.error.code, "campaign_not_found");
      }
      await eventually(async () => (await worker.admin("/v1/logs/postbacks?code=campaign_not_found")).json.entries.length >= 20, { what: "junk logged" });
      assert.equal(storedObjects(dir), before, "an unknown campaign got a Durable Object");
      assert.equal(before, 2, "one object for the campaign, one for the unattributed log");
      // An operator's reads of an id no postback reached answer empty and
      // leave nothing behind.
      const ghost = freshId("ghost");
      const stats = await worker.admin(`/v1/campaigns/${ghost}/stats`);
      assert.equal(stats.status, 200, stats.text);
      assert.equal(stats.json.conversions, 0);
      assert.equal(stats.json.rows_written, 0);
      assert.equal((await worker.admin(`/v1/outbox/retry?campaign_id=${ghost}`, { method: "POST" })).json.requeued, 0);
      const lookup = await worker.admin(`/v1/conversions/${ok.json.conversion_id.replace(c.id, ghost)}`);
      assert.equal(lookup.json.error?.code, "conversion_not_found", lookup.text);
      // (The runtime may open an empty database for the object it ran:
      // no table, no row, nothing billed.)
      const withTables = execFileSync("python3", ["-c", `
import sqlite3, sys
print(sum(1 for p in sys.argv[1:] if sqlite3.connect(p).execute(
    "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND substr(name, 1, 4) <> '_cf_'").fetchone()[0] > 0))
`, ...sqliteFiles(join(dir, "do"))], { encoding: "utf8" });
      assert.equal(Number(withTables), before, "an operator's read wrote a Durable Object's storage");
      // The campaign's own object still answers what it holds.
      assert.equal((await worker.admin(`/v1/campaigns/${c.id}/stats`)).json.conversions, 1);
    } finally {
      await worker.dispose();
    }
  });
});

/** Every Durable Object's database under `dir`. */
function sqliteFiles(dir) {
  return readdirSync(dir, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith(".sqlite") && !f.endsWith("metadata.sqlite"))
    .map((f) => join(dir, f));
}

/** A body of `bytes` bytes, streamed in 64 KiB chunks (chunked: no length). */
function chunkedBody(bytes) {
  let left = bytes;
  const chunk = new Uint8Array(64 * 1024).fill(0x61);
  return new ReadableStream({
    pull(controller) {
      if (left <= 0) return controller.close();
      const n = Math.min(left, chunk.length);
      controller.enqueue(chunk.subarray(0, n));
      left -= n;
    },
  });
}

describe("bounds and unreadable input", () => {
  test("a 32 MiB chunked body is refused while it is read, and the worker keeps serving", async () => {
    const worker = await startWorker();
    try {
      const c = campaign();
      await worker.putCampaign(c);
      const send = async (path, headers) => {
        try {
          return await worker.fetch(path, { method: path === "/postback" ? "POST" : "PUT", headers, body: chunkedBody(32 * 1024 * 1024), duplex: "half" });
        } catch (error) {
          return { status: "closed", error };
        }
      };
      const postback = await send("/postback", { "content-type": "application/x-www-form-urlencoded" });
      assert.ok(postback.status === 400 || postback.status === "closed", `answered ${postback.status}`);
      if (postback.status === 400) {
        assert.equal(postback.json.error.code, "bad_request");
        assert.equal(postback.json.error.detail.parameter, "body");
      }
      const config = await send(`/v1/campaigns/${c.id}`, { authorization: `Bearer ${ADMIN_TOKEN}` });
      assert.ok(config.status === 400 || config.status === "closed", `answered ${config.status}`);
      if (config.status === 400) assert.equal(config.json.error.field, "(config)");
      const health = await worker.fetch("/healthz");
      assert.equal(health.status, 200);
      assert.equal(health.text, "ok");
      // And a postback right after is served whole.
      const ok = await worker.postback({ click_id: await worker.click(c.id) });
      assert.equal(ok.status, 200, ok.text);
    } finally {
      await worker.dispose();
    }
  });

  test("a JSON name given twice with different values is a bad request", async () => {
    const worker = await startWorker();
    try {
      const c = campaign();
      await worker.putCampaign(c);
      const click = await worker.click(c.id);
      const res = await worker.fetch("/postback", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: `{"click_id":"${click}","goal":"1","goal":"purchase"}`,
      });
      assert.equal(res.status, 400, res.text);
      assert.equal(res.json.error.code, "bad_request");
      assert.equal(res.json.error.parameter, "goal");
      // The same value twice is one parameter.
      const same = await worker.fetch("/postback", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: `{"click_id":"${click}","goal":"1","goal":"1"}`,
      });
      assert.equal(same.status, 200, same.text);
    } finally {
      await worker.dispose();
    }
  });

  test("an unreadable query on an admin route is 400, never 'no parameters'", async () => {
    const worker = await startWorker();
    try {
      const c = campaign();
      await worker.putCampaign(c);
      const retry = await worker.admin("/v1/outbox/retry?campaign_id=%zz", { method: "POST" });
      assert.equal(retry.status, 400, retry.text);
      assert.equal(retry.json.error.parameter, "campaign_id");
      for (const path of ["/v1/outbox?x=%zz", "/v1/campaigns?x=%zz", `/v1/campaigns/${c.id}?x=%zz`, "/v1/logs/postbacks?code=%zz"]) {
        const res = await worker.admin(path);
        assert.equal(res.status, 400, `${path}: ${res.text}`);
      }
      // Without the token, the token is what is missing.
      assert.equal((await worker.fetch("/v1/outbox/retry?campaign_id=%zz", { method: "POST" })).status, 401);
    } finally {
      await worker.dispose();
    }
  });
});
