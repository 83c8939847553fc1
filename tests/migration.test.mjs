// Upgrading a deployment: the previous release (built as it shipped, in
// tests/fixtures/previous-release/) writes its campaign objects, its
// bucket and its outbox marks in its own layout; this version starts on
// the same storage and carries on. Nothing its users relied on is lost:
// conversions still dedupe and move, caps still count what was counted,
// waiting deliveries go out once, the log still shows and counts every
// entry, attributed or not.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Miniflare } from "miniflare";
import { join } from "node:path";
import { ADMIN_TOKEN, CLICK_SIGNING_KEY, ORIGIN_SECRET, WORKER_SCRIPT, startWorker, stateDir, testClick } from "./support/worker.mjs";
import { campaign } from "./support/campaigns.mjs";
import { eventually } from "./support/wait.mjs";
import { startOrigin } from "../scripts/origin.mjs";

/** The previous release on `persist`, bound as its wrangler.toml bound it. */
async function startPreviousRelease(persist, bindings) {
  const mf = new Miniflare({
    ...WORKER_SCRIPT,
    scriptPath: "tests/fixtures/previous-release/entry.mjs",
    kvNamespaces: ["CAMPAIGNS"],
    r2Buckets: ["LOGS"],
    durableObjects: { CAMPAIGN: { className: "CampaignObject", useSQLite: true } },
    cf: false,
    kvPersist: join(persist, "kv"),
    durableObjectsPersist: join(persist, "do"),
    r2Persist: join(persist, "r2"),
    bindings: { ADMIN_TOKEN, CLICK_SIGNING_KEY, ORIGIN_SECRET, ...bindings },
  });
  await mf.ready;
  const fetch = async (path, init = {}) => {
    const res = await mf.dispatchFetch(`http://localhost${path}`, { redirect: "manual", ...init });
    const text = await res.text();
    return { status: res.status, text, json: text.startsWith("{") ? JSON.parse(text) : undefined };
  };
  const admin = (path, init = {}) => fetch(path, { ...init, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  return {
    dispose: () => mf.dispose(),
    fetch,
    admin,
    postback: (params) => fetch(`/postback?${new URLSearchParams(params)}`),
    putCampaign: (c) => admin(`/v1/campaigns/${c.id}`, { method: "PUT", body: JSON.stringify(c) }),
  };
}

describe("upgrading from the previous release", () => {
  test("conversions, caps, waiting deliveries and the log carry over", { timeout: 180_000 }, async () => {
    const dir = stateDir();
    const origin = await startOrigin({ secret: ORIGIN_SECRET, quiet: true });
    origin.setMode("fail");
    const c = campaign({ caps: [{ goals: [], period: "all", type: "conversions", value: 3 }] });
    const time = Math.floor(Date.now() / 1000) - 60;
    const clicks = [0, 1, 2, 3].map(() => testClick({ campaign: c.id, time }));
    const before = {};
    // Retries a second apart: what waits is due again when this version starts.
    const retries = { ORIGIN_URL: origin.url, OUTBOX_RETRY_BASE_MS: "1000" };
    const old = await startPreviousRelease(dir, retries);
    try {
      assert.equal((await old.putCampaign(c)).status, 200);
      // Three conversions, the cap's three: one pending, two approved.
      const made = [];
      for (const [i, status] of ["pending", "approved", "approved"].entries()) {
        const res = await old.postback({ click_id: clicks[i], status, comment: `order ${i}` });
        assert.equal(res.status, 200, res.text);
        made.push(res.json.conversion_id);
      }
      before.ids = made;
      // Refused at the edge: one for the campaign, one that names none.
      assert.equal((await old.postback({ click_id: clicks[3], goal: "nope" })).json.error.code, "goal_not_found");
      assert.equal((await old.postback({ goal: "1" })).json.error.code, "click_id_missing");
      // The origin refuses everything: the three messages wait.
      await eventually(async () => {
        const res = await old.admin("/v1/outbox");
        return res.json?.campaigns?.some((x) => x.campaign_id === c.id && x.waiting >= 3);
      }, { what: "three deliveries waiting in the previous release" });
      // Its log has them all, once flushed.
      before.log = await eventually(async () => {
        const res = await old.admin("/v1/logs/postbacks?limit=100");
        return res.json?.entries?.length === 5 && res.json;
      }, { what: "the previous release's five entries" });
      before.lookup = (await old.admin(`/v1/conversions/${made[0]}`)).json;
    } finally {
      await old.dispose();
    }

    origin.setMode("ok");
    const worker = await startWorker({ persist: dir, bindings: retries });
    try {
      // The waiting messages go out, once each, under the ids they had.
      await eventually(() => new Set(origin.received.map((m) => m.id)).size >= 3, { what: "the waiting deliveries" });
      assert.deepEqual(
        [...new Set(origin.received.map((m) => m.body.data.id))].sort(),
        [...before.ids].sort(),
      );
      assert.equal(origin.received.filter((m) => m.body.data.id === before.ids[0]).length, 1);
      await eventually(async () => (await worker.admin(`/v1/campaigns/${c.id}/stats`)).json.outbox === 0, { what: "the outbox empty" });
      assert.equal((await worker.admin("/v1/outbox")).json.campaigns.length, 0, "no mark left behind");

      // Conversions dedupe and move as before; the cap counts the three.
      const same = await worker.postback({ click_id: clicks[0] });
      assert.equal(same.json.error?.code, "status_same", same.text);
      assert.equal(same.json.error.detail.conversion_id, before.ids[0]);
      const confirmed = await worker.postback({ click_id: clicks[1], status: "declined" });
      assert.equal(confirmed.json.error?.code, "status_confirmed", confirmed.text);
      const approved = await worker.postback({ click_id: clicks[0], status: "approved" });
      assert.equal(approved.status, 200, approved.text);
      assert.equal(approved.json.conversion_id, before.ids[0]);
      const over = await worker.postback({ click_id: clicks[3] });
      assert.equal(over.json.error?.code, "cap_reached", over.text);
      const update = await eventually(() => origin.received.find((m) => m.body.type === "conversion.updated"), { what: "the update delivered" });
      assert.equal(update.body.data.fields.comment, "order 0", "the pending record carried over whole");

      // A conversion the previous release made is found by its id.
      const lookup = await worker.admin(`/v1/conversions/${before.ids[0]}`);
      assert.equal(lookup.status, 200, lookup.text);
      assert.equal(lookup.json.conversion_id ?? lookup.json.id, before.lookup.conversion_id ?? before.lookup.id);
      assert.equal(lookup.json.status, "approved");

      // The log: the previous release's five entries and this version's
      // four, newest first, counted together, filters as before.
      const log = await eventually(async () => {
        const res = await worker.admin("/v1/logs/postbacks?limit=100");
        return res.json.entries.length === 9 && res.json;
      }, { what: "nine entries" });
      const oldIds = new Set(before.log.entries.map((e) => e.id));
      assert.equal(log.entries.filter((e) => oldIds.has(e.id)).length, 5, "every earlier entry, once");
      assert.deepEqual(log.entries.map((e) => e.id), [...log.entries.map((e) => e.id)].sort().reverse());
      assert.deepEqual(log.counts, { accepted: 4, goal_not_found: 1, click_id_missing: 1, status_same: 1, status_confirmed: 1, cap_reached: 1 });
      const mine = (await worker.admin(`/v1/logs/postbacks?campaign_id=${c.id}&limit=100`)).json;
      assert.equal(mine.entries.length, 8, "all but the unattributed one");
      assert.equal(mine.counts.click_id_missing, undefined);
      const missing = (await worker.admin("/v1/logs/postbacks?code=click_id_missing")).json;
      assert.equal(missing.entries.length, 1);
      assert.equal(missing.entries[0].id, before.log.entries.find((e) => e.code === "click_id_missing").id);
      const history = (await worker.admin(`/v1/logs/postbacks?conversion_id=${before.ids[0]}`)).json;
      assert.equal(history.entries.length, 3, "created, refused as the same, approved");
    } finally {
      await worker.dispose();
      await origin.close();
    }
  });
});
