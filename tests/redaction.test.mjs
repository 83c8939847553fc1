// The secure code leaves through no way out: answers, the log (JSON and
// page), deliveries and the console, however an advertiser spells,
// encodes, repeats or misplaces it.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ORIGIN_SECRET, startWorker } from "./support/worker.mjs";
import { campaign } from "./support/campaigns.mjs";
import { eventually } from "./support/wait.mjs";
import { startOrigin } from "../scripts/origin.mjs";

const CODE = "TOPSECRET42";

describe("secure code redaction", () => {
  test("the secure code is absent from every way out, for every shape it was sent in", async () => {
    const origin = await startOrigin({ secret: ORIGIN_SECRET, quiet: true });
    const printed = [];
    const worker = await startWorker({ bindings: { ORIGIN_URL: origin.url }, console: printed });
    try {
      const c = campaign({ secure_code: CODE });
      await worker.putCampaign(c);
      const click = await worker.click(c.id);
      let n = 0;
      const action = () => `order-${++n}`;
      // [what is sent, the status it answers]
      const queries = [
        [`secure=${CODE}&action_id=${action()}`, 200],
        [`SECURE=${CODE}`, 403],
        [`Secure=${CODE}`, 403],
        [`secure%00=${CODE}`, 403],
        [`se%63ure=${CODE}`, 200],
        [`%2573ecure=${CODE}`, 403],
        [`secure%5B%5D=${CODE}`, 403],
        [`token=${CODE}`, 403],
        [`token=%54OPSECRET42`, 403],
        [`secure=${CODE}&goal=${CODE}`, 404],
        [`secure=${CODE}&comment=${CODE}&action_id=${action()}`, 200],
        [`secure=${CODE}&ref=https%3A%2F%2Fshop.example%2F%3Fsecure%3D${CODE}&action_id=${action()}`, 200],
        [`%73ecure=${CODE}&sum=%zz`, 400],
        [`secure=${CODE}&secure=other`, 400],
        [`note=${CODE}&sum=%zz`, 400],
        [`secure=TOP%zzSECRET42`, 400],
      ];
      const answers = [];
      for (const [query, status] of queries) {
        const res = await worker.fetch(`/postback?click_id=${click}&${query}`);
        assert.equal(res.status, status, `${query}: ${res.text}`);
        answers.push(res.text);
      }
      const json = (body) => ({ method: "POST", headers: { "content-type": "application/json" }, body });
      const bodies = [
        [json(`{"click_id":"${click}","\\u0073ecure":"${CODE}","action_id":"${action()}"}`), 200],
        [json(`{"click_id":"${click}","SECURE":"${CODE}"}`), 403],
        [json(`{"click_id":"${click}","secure":"${CODE}","secure":"other"}`), 400],
        [json(`{"click_id":"${click}","secure":"${CODE}","user_id":"${CODE}","action_id":"${action()}"}`), 200],
        [{ method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `click_id=${click}&Secure=${CODE}` }, 403],
      ];
      for (const [init, status] of bodies) {
        const res = await worker.fetch("/postback", init);
        assert.equal(res.status, status, `${init.body}: ${res.text}`);
        answers.push(res.text);
      }
      const sent = queries.length + bodies.length;
      // Every one of them is logged, under its campaign when it names one.
      const log = await eventually(async () => {
        const res = await worker.admin("/v1/logs/postbacks?limit=500");
        return res.json.entries.length >= sent && res;
      }, { what: `${sent} log entries` });
      const campaignLog = await worker.admin(`/v1/logs/postbacks?limit=500&campaign_id=${c.id}`);
      assert.ok(campaignLog.json.entries.length >= sent - 1, "unreadable postbacks with a genuine click are the campaign's");
      const page = await worker.admin("/logs/postbacks?limit=500");
      assert.equal(page.status, 200);
      await eventually(() => origin.received.length >= 5, { what: "deliveries of the accepted conversions" });
      const deliveries = origin.received.map((r) => JSON.stringify(r.raw));
      assert.ok(log.text.includes("[redacted]"), "the log shows where the code was");
      const outs = { answers, log: [log.text, campaignLog.text], page: [page.text], deliveries, console: printed };
      for (const [way, texts] of Object.entries(outs)) {
        for (const text of texts) assert.ok(!text.includes(CODE), `the secure code in ${way}: ${text.slice(0, 400)}`);
      }
    } finally {
      await worker.dispose();
      await origin.close();
    }
  });
});
