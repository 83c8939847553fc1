// Secrets stay secret, and junk cannot make objects.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { ADMIN_TOKEN, CLICK_SIGNING_KEY, ORIGIN_SECRET, startWorker, stateDir, testClick } from "./support/worker.mjs";
import { campaign, freshId } from "./support/campaigns.mjs";
import { eventually } from "./support/wait.mjs";

function sqliteFiles(dir) {
  let n = 0;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) n += sqliteFiles(path);
    else if (name.endsWith(".sqlite") && name !== "metadata.sqlite") n += 1; // one per object
  }
  return n;
}

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
      const before = sqliteFiles(join(dir, "do"));
      for (let i = 0; i < 20; i++) {
        const res = await worker.postback({ click_id: testClick({ campaign: freshId("ghost") }) });
        assert.equal(res.json.error.code, "campaign_not_found");
      }
      await eventually(async () => (await worker.admin("/v1/logs/postbacks?code=campaign_not_found")).json.entries.length >= 20, { what: "junk logged" });
      assert.equal(sqliteFiles(join(dir, "do")), before, "an unknown campaign got a Durable Object");
      assert.equal(before, 2, "one object for the campaign, one for the unattributed log");
    } finally {
      await worker.dispose();
    }
  });
});
