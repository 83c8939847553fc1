// What a postback costs the operator, counted where it happens: the SQLite
// rows a campaign object writes (its stats answer sums its SQL cursors'
// counters, and the alarms it set, each billed as a row), and the R2
// objects the log writes. docs/COST.md turns these into a bill.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { ORIGIN_SECRET, deployedLogTimings, startWorker, stateDir, testClick } from "./support/worker.mjs";
import { campaign, freshId } from "./support/campaigns.mjs";
import { eventually, inParallel, sleep } from "./support/wait.mjs";
import { startOrigin } from "../scripts/origin.mjs";

/** The billable rows an object's stats count: rows written, and alarms set. */
const billed = (s) => s.rows_written + s.alarms_set;

describe("rows an object writes", () => {
  test("a new conversion costs at most 4 rows, its delivery and its forgetting included", { timeout: 240_000 }, async () => {
    const dir = stateDir();
    const origin = await startOrigin({ secret: ORIGIN_SECRET, quiet: true });
    // A cap, so that the conversions count (their counts ride in their rows).
    const c = campaign({ dedupe_window_days: 1, caps: [{ goals: [], period: "month", type: "conversions", value: 1_000_000 }] });
    const time = Math.floor(Date.now() / 1000) - 60;
    let worker = await startWorker({ persist: dir, bindings: { ORIGIN_URL: origin.url } });
    let made;
    try {
      await worker.putCampaign(c);
      const stats = async () => (await worker.admin(`/v1/campaigns/${c.id}/stats`)).json;
      assert.equal((await worker.postback({ click_id: testClick({ campaign: c.id, time }), status: "approved" })).status, 200);
      const before = await eventually(async () => {
        const s = await stats();
        return s.outbox === 0 && s;
      }, { what: "the first delivery" });
      await inParallel(1000, 8, async (i) => {
        const res = await worker.postback({ click_id: testClick({ campaign: c.id, time }), status: "approved", action_id: `order-${i}` });
        assert.equal(res.status, 200, res.text);
      });
      const after = await eventually(async () => {
        const s = await stats();
        return s.outbox === 0 && s;
      }, { ms: 60_000, what: "every delivery" });
      assert.equal(origin.received.length, 1001);
      made = billed(after) - billed(before);
      console.log(`# new conversion, delivered: ${(made / 1000).toFixed(2)} rows written each (${after.alarms_set - before.alarms_set} alarms for 1,000)`);
    } finally {
      await worker.dispose();
    }
    // Two days later, as far as the rows say: past their window.
    const objects = join(dir, "do", "-CampaignObject");
    const files = readdirSync(objects).filter((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite").map((f) => join(objects, f));
    execFileSync("python3", ["-c", `
import sqlite3, sys
for path in sys.argv[1:]:
    db = sqlite3.connect(path)
    db.execute("UPDATE known SET updated_at = updated_at - 2 * 86400")
    db.commit()
`, ...files]);
    worker = await startWorker({ persist: dir, bindings: { ORIGIN_URL: origin.url } });
    try {
      const stats = async () => (await worker.admin(`/v1/campaigns/${c.id}/stats`)).json;
      const before = await stats();
      assert.equal(before.conversions, 1001);
      // Each postback lets the object forget a batch; a repeat writes
      // nothing of its own (it is a new conversion here: its click's old
      // conversion is forgotten, so it is counted with the rest).
      const click = testClick({ campaign: c.id, time });
      await eventually(async () => {
        await worker.postback({ click_id: click, action_id: "probe" });
        return (await stats()).conversions <= 1;
      }, { ms: 60_000, what: "the 1,001 forgotten" });
      const forgot = await eventually(async () => {
        const s = await stats();
        return s.outbox === 0 && s;
      }, { what: "the probe delivered" });
      // The probe conversion's own rows: one inserted, one delivered, its alarm.
      const forgetting = billed(forgot) - billed(before) - 3;
      console.log(`# forgetting: ${(forgetting / 1001).toFixed(2)} rows written per conversion`);
      const each = (made + forgetting) / 1000;
      console.log(`# new conversion, delivered and forgotten: ${each.toFixed(2)} rows written each`);
      assert.ok(each <= 4, `${each} rows per conversion`);
    } finally {
      await worker.dispose();
      await origin.close();
    }
  });

  test("a status update costs at most 3 rows with its delivery, a repeat none", { timeout: 240_000 }, async () => {
    const origin = await startOrigin({ secret: ORIGIN_SECRET, quiet: true });
    const worker = await startWorker({ bindings: { ORIGIN_URL: origin.url } });
    try {
      const c = campaign();
      await worker.putCampaign(c);
      const time = Math.floor(Date.now() / 1000) - 60;
      const clicks = Array.from({ length: 1000 }, () => testClick({ campaign: c.id, time }));
      const stats = async () => (await worker.admin(`/v1/campaigns/${c.id}/stats`)).json;
      const delivered = (n) => eventually(async () => {
        const s = await stats();
        return s.outbox === 0 && origin.received.length >= n && s;
      }, { ms: 60_000, what: `${n} deliveries` });
      await inParallel(1000, 8, async (i) => assert.equal((await worker.postback({ click_id: clicks[i] })).status, 200));
      const pending = await delivered(1000);
      await inParallel(1000, 8, async (i) => {
        const res = await worker.postback({ click_id: clicks[i], status: "approved" });
        assert.equal(res.status, 200, res.text);
      });
      const approved = await delivered(2000);
      const update = (billed(approved) - billed(pending)) / 1000;
      console.log(`# status update, delivered: ${update.toFixed(2)} rows written each`);
      assert.ok(update <= 3, `${update} rows per update`);
      await inParallel(1000, 8, async (i) => {
        const res = await worker.postback({ click_id: clicks[i], status: "approved" });
        assert.equal(res.json.error.code, "status_same");
      });
      const repeated = await stats();
      assert.equal(billed(repeated) - billed(approved), 0, "a repeat writes nothing");
      assert.ok(repeated.rows_read > approved.rows_read, "it reads");
    } finally {
      await worker.dispose();
      await origin.close();
    }
  });
});

describe("alarms an object sets", () => {
  test("a quiet campaign's conversions a second apart share the deployed delivery alarm", { timeout: 60_000 }, async () => {
    const origin = await startOrigin({ secret: ORIGIN_SECRET, quiet: true });
    // The deployed delay (the worker's default): no DELIVERY_DELAY_MS.
    const worker = await startWorker({ bindings: { ORIGIN_URL: origin.url, DELIVERY_DELAY_MS: "" } });
    try {
      const c = campaign();
      await worker.putCampaign(c);
      const time = Math.floor(Date.now() / 1000) - 60;
      const stats = async () => (await worker.admin(`/v1/campaigns/${c.id}/stats`)).json;
      const before = await stats();
      for (let i = 0; i < 4; i++) {
        const res = await worker.postback({ click_id: testClick({ campaign: c.id, time }) });
        assert.equal(res.status, 200, res.text);
        await sleep(1000);
      }
      const after = await eventually(async () => {
        const s = await stats();
        return s.outbox === 0 && s;
      }, { what: "the four delivered" });
      assert.equal(origin.received.length, 4);
      const alarms = after.alarms_set - before.alarms_set;
      console.log(`# four conversions a second apart: ${alarms} alarm(s) set`);
      assert.equal(alarms, 1, "one alarm delivers the four");
    } finally {
      await worker.dispose();
      await origin.close();
    }
  });
});

describe("objects the log writes", () => {
  test("1,000 postbacks over 500 campaigns in 10 s cost at most 50 R2 writes", { timeout: 180_000 }, async () => {
    const timings = deployedLogTimings();
    const worker = await startWorker({ bindings: timings.bindings, queueConsumers: timings.queueConsumers });
    try {
      const ids = [];
      await inParallel(500, 8, async () => {
        const c = campaign({ id: freshId("p") });
        await worker.putCampaign(c);
        ids.push(c.id);
      });
      const time = Math.floor(Date.now() / 1000) - 60;
      const started = Date.now();
      await inParallel(1000, 8, async (i) => {
        // Spread over the ten seconds, as traffic comes.
        const due = started + i * 10;
        if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
        const goal = i % 2 ? "nope" : "1";
        const res = await worker.postback({ click_id: testClick({ campaign: ids[i % 500], time }), goal });
        assert.ok(res.status === 200 || res.status === 404, res.text);
      });
      const seconds = (Date.now() - started) / 1000;
      const bucket = await worker.mf.getR2Bucket("LOGS");
      const listed = await eventually(async () => {
        const res = await worker.admin("/v1/logs/postbacks?limit=1");
        const total = Object.values(res.json.counts).reduce((a, b) => a + b, 0);
        return total === 1000 && (await bucket.list({ limit: 1000 }));
      }, { ms: 60_000, what: "1,000 entries" });
      // Every write makes an object of its own (a chunk's key comes from
      // its entries): the objects are the writes.
      const writes = listed.objects.length;
      console.log(`# ${writes} R2 writes for 1,000 postbacks over 500 campaigns in ${seconds.toFixed(1)} s: ${(writes / 1000).toFixed(3)} per postback`);
      assert.ok(writes <= 50, `${writes} writes`);
      assert.ok(listed.objects.every((o) => o.key.startsWith("log/")));
    } finally {
      await worker.dispose();
    }
  });

  test("a batch the queue hands over twice is stored once", { timeout: 60_000 }, async () => {
    const printed = [];
    // Every message is handed to the consumer a second time after it was
    // written, as the platform may.
    const worker = await startWorker({ console: printed, bindings: { LOG_QUEUE_REDELIVER: "first" } });
    try {
      const c = campaign();
      await worker.putCampaign(c);
      const time = Math.floor(Date.now() / 1000) - 60;
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 10; i++) {
          await worker.postback({ click_id: testClick({ campaign: c.id, time }), goal: i % 2 ? "nope" : "1", n: `${round}-${i}` });
        }
        await worker.postback({ click_id: "forged", n: `${round}-unattributed` });
        await new Promise((r) => setTimeout(r, 400));
      }
      await eventually(() => printed.join("").includes("were stored already"), { what: "a redelivered batch seen" });
      await new Promise((r) => setTimeout(r, 3000));
      const res = await worker.admin("/v1/logs/postbacks?limit=500");
      const ns = res.json.entries.map((e) => e.params.n);
      assert.equal(ns.length, 33, JSON.stringify(ns));
      assert.equal(new Set(ns).size, 33, "no entry twice");
      const total = Object.values(res.json.counts).reduce((a, b) => a + b, 0);
      assert.equal(total, 33, "counted once each");
    } finally {
      await worker.dispose();
    }
  });
});
