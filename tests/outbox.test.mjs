// Origin delivery over a real HTTP origin on 127.0.0.1: signed and keyed,
// retried through failures, nothing lost across restarts.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { ORIGIN_SECRET, startWorker, stateDir, storedObjects, testClick } from "./support/worker.mjs";
import { campaign } from "./support/campaigns.mjs";
import { eventually, sleep } from "./support/wait.mjs";
import { Webhook } from "standardwebhooks";
import { startOrigin } from "../scripts/origin.mjs";

const FAST_RETRIES = { OUTBOX_RETRY_BASE_MS: "300", ORIGIN_TIMEOUT_MS: "1000" };

async function setup({ persist, origin } = {}) {
  origin = origin ?? (await startOrigin({ secret: ORIGIN_SECRET, quiet: true }));
  const worker = await startWorker({ persist, bindings: { ORIGIN_URL: origin.url, ...FAST_RETRIES } });
  return { origin, worker };
}

/** Posts `n` new conversions to campaign `c`; all must be accepted. */
async function convert(worker, c, n) {
  const time = Math.floor(Date.now() / 1000) - 60;
  const ids = [];
  for (let i = 0; i < n; i++) {
    const res = await worker.postback({ click_id: testClick({ campaign: c.id, time }) });
    assert.equal(res.status, 200, res.text);
    ids.push(res.json.conversion_id);
  }
  return ids;
}

/** Campaign `c`'s line of `GET /v1/outbox`; undefined when nothing waits. */
async function outboxOf(worker, c) {
  const res = await worker.admin("/v1/outbox");
  return res.json.campaigns.find((x) => x.campaign_id === c.id);
}

function deliveredConversionIds(origin) {
  return new Set(origin.received.map((r) => r.body.data.id));
}

describe("origin delivery", () => {
  test("conversions and status changes arrive signed, keyed and in Standard Webhooks form", async () => {
    const { origin, worker } = await setup();
    try {
      const c = campaign();
      await worker.putCampaign(c);
      const click = await worker.click(c.id);
      const created = await worker.postback({ click_id: click, comment: "first", secure: "not-a-secret-here" });
      assert.equal(created.status, 200, created.text);
      assert.equal((await worker.postback({ click_id: click, status: "approved" })).status, 200);
      await eventually(() => origin.received.length >= 2, { what: "two deliveries" });
      const [first, second] = origin.received;
      assert.equal(first.body.type, "conversion.created");
      assert.equal(second.body.type, "conversion.updated");
      assert.equal(first.body.data.id, created.json.conversion_id);
      assert.equal(first.body.data.status, "pending");
      assert.equal(second.body.data.status, "approved");
      assert.equal(first.body.data.payout, "0.50", "decimal as a string");
      assert.equal(first.body.data.fields.comment, "first");
      assert.ok(!JSON.stringify(first.body).includes("not-a-secret-here"), "secure is never delivered");
      assert.equal(first.idempotencyKey, first.id, "Idempotency-Key is the webhook-id");
      assert.notEqual(first.id, second.id, "each message has its own id");
      // The origin verified every signature (it answers 401 otherwise, and
      // nothing would be recorded); check one by hand too.
      assert.match(first.id, /^msg_cv_/);
    } finally {
      await worker.dispose();
      await origin.close();
    }
  });

  test("with ORIGIN_BATCH_MAX, conversions arrive in fewer requests, each signed, each item with its own id and identity", async () => {
    const origin = await startOrigin({ secret: ORIGIN_SECRET, quiet: true });
    const worker = await startWorker({ bindings: { ORIGIN_URL: origin.url, ORIGIN_BATCH_MAX: "100", ...FAST_RETRIES } });
    try {
      const c = campaign();
      await worker.putCampaign(c);
      const time = Math.floor(Date.now() / 1000) - 60;
      const answers = await Promise.all(
        Array.from({ length: 60 }, (_, i) => worker.postback({ click_id: testClick({ campaign: c.id, time }), action_id: `order-${i}` })),
      );
      assert.ok(answers.every((a) => a.status === 200));
      const items = () => origin.received.flatMap((r) => (r.body.type === "conversion.batch" ? r.body.data : [r.body]));
      await eventually(() => items().length >= 60, { what: "60 conversions delivered" });
      assert.ok(origin.received.length < 60 / 2, `${origin.received.length} requests for 60 conversions`);
      const batches = origin.received.filter((r) => r.body.type === "conversion.batch");
      assert.ok(batches.length > 0, "some requests carry several conversions");
      for (const batch of batches) {
        // The official verifier takes the batch as it came (the origin
        // answered 401 otherwise, and it would not be recorded).
        assert.doesNotThrow(() => new Webhook(ORIGIN_SECRET).verify(batch.raw.body, batch.raw.headers));
        assert.equal(batch.idempotencyKey, batch.id);
        assert.match(batch.id, /^batch_/);
        for (const item of batch.body.data) {
          assert.match(item.id, /^msg_cv_/, "each item has its own message id, an origin dedupes on");
          assert.equal(item.type, "conversion.created");
          assert.ok(item.data.identity, "and its conversion's identity");
        }
      }
      assert.deepEqual(
        items().map((i) => i.data.id).sort(),
        answers.map((a) => a.json.conversion_id).sort(),
        "each conversion once",
      );
    } finally {
      await worker.dispose();
      await origin.close();
    }
  });

  test("a pending conversion whose message was delivered still changes status, and a restart keeps it so", async () => {
    const dir = stateDir();
    const origin = await startOrigin({ secret: ORIGIN_SECRET, quiet: true });
    let { worker } = await setup({ persist: dir, origin });
    try {
      const c = campaign();
      await worker.putCampaign(c);
      const clicks = [await worker.click(c.id), await worker.click(c.id)];
      for (const click of clicks) {
        assert.equal((await worker.postback({ click_id: click, comment: "kept" })).status, 200);
      }
      await eventually(() => origin.received.length >= 2, { what: "both deliveries" });
      await eventually(async () => (await worker.admin(`/v1/campaigns/${c.id}/stats`)).json.outbox === 0, { what: "the outbox empty" });
      const same = await worker.postback({ click_id: clicks[0] });
      assert.equal(same.json.error?.code, "status_same", same.text);
      const approved = await worker.postback({ click_id: clicks[0], status: "approved" });
      assert.equal(approved.status, 200, approved.text);
      await worker.dispose();
      ({ worker } = await setup({ persist: dir, origin }));
      const held = await worker.postback({ click_id: clicks[1], status: "hold" });
      assert.equal(held.status, 200, held.text);
      await eventually(() => origin.received.length >= 4, { what: "both updates" });
      const updates = origin.received.filter((m) => m.body.type === "conversion.updated");
      assert.deepEqual(updates.map((m) => m.body.data.status).sort(), ["approved", "hold"]);
      assert.ok(updates.every((m) => m.body.data.fields.comment === "kept"), "the update carries the whole record");
    } finally {
      await worker.dispose();
      await origin.close();
    }
  });

  test("a forged signature is refused by the origin's verifier", async () => {
    const { verifySignature } = await import("../scripts/origin.mjs");
    const body = '{"a":1}';
    const timestamp = Math.floor(Date.now() / 1000);
    const key = Buffer.from(ORIGIN_SECRET.slice("whsec_".length), "base64");
    const good = createHmac("sha256", key).update(`msg_1.${timestamp}.${body}`).digest("base64");
    const headers = { "webhook-id": "msg_1", "webhook-timestamp": String(timestamp), "webhook-signature": `v1,${good}` };
    assert.equal(verifySignature(ORIGIN_SECRET, headers, body), null);
    assert.notEqual(verifySignature(ORIGIN_SECRET, headers, '{"a":2}'), null);
    assert.notEqual(verifySignature(ORIGIN_SECRET, { ...headers, "webhook-id": "msg_2" }, body), null);
  });

  test("with the origin answering 500, postbacks are accepted and delivered once it recovers", async () => {
    const { origin, worker } = await setup();
    try {
      origin.setMode("fail");
      const c = campaign();
      await worker.putCampaign(c);
      const ids = await convert(worker, c, 5);
      const waiting = await eventually(async () => {
        const mine = await outboxOf(worker, c);
        return mine && mine.last_error ? mine : null;
      }, { what: "an outbox error to show" });
      assert.equal(waiting.waiting, 5);
      assert.match(waiting.last_error, /500/);
      assert.ok(waiting.max_attempts >= 1);
      assert.equal(origin.received.length, 0);
      origin.setMode("ok");
      await eventually(() => ids.every((id) => deliveredConversionIds(origin).has(id)), { what: "all five delivered" });
      await eventually(async () => !(await outboxOf(worker, c)), { what: "the outbox to empty" });
    } finally {
      await worker.dispose();
      await origin.close();
    }
  });

  test("with the origin hanging, attempts time out and retry; new postbacks are not blocked", async () => {
    const { origin, worker } = await setup();
    try {
      origin.setMode("hang");
      const c = campaign();
      await worker.putCampaign(c);
      const started = Date.now();
      const ids = await convert(worker, c, 3);
      assert.ok(Date.now() - started < 5000, "postbacks answer without waiting for the origin");
      await eventually(async () => {
        const mine = await outboxOf(worker, c);
        return mine?.last_error?.match(/timed out|abort/i);
      }, { what: "a timeout to be recorded" });
      origin.setMode("ok");
      await eventually(() => ids.every((id) => deliveredConversionIds(origin).has(id)), { what: "delivery after the hang" });
    } finally {
      await worker.dispose();
      await origin.close();
    }
  });

  test("with the origin down, nothing is lost; it all arrives when it comes up", async () => {
    const first = await startOrigin({ secret: ORIGIN_SECRET, quiet: true });
    const port = new URL(first.url).port;
    await first.close();
    const worker = await startWorker({ bindings: { ORIGIN_URL: first.url, ...FAST_RETRIES } });
    let origin;
    try {
      const c = campaign();
      await worker.putCampaign(c);
      const ids = await convert(worker, c, 4);
      await sleep(800);
      origin = await startOrigin({ port: Number(port), secret: ORIGIN_SECRET, quiet: true });
      await eventually(() => ids.every((id) => deliveredConversionIds(origin).has(id)), { what: "delivery once up" });
    } finally {
      await worker.dispose();
      await origin?.close();
    }
  });

  test("parked messages stay, are shown, and come back on POST /v1/outbox/retry", async () => {
    const origin = await startOrigin({ secret: ORIGIN_SECRET, quiet: true });
    // Retried for 1 ms only: the first failed attempt parks a message.
    const worker = await startWorker({
      bindings: { ORIGIN_URL: origin.url, ...FAST_RETRIES, OUTBOX_RETRY_FOR_MS: "1" },
    });
    try {
      origin.setMode("fail");
      const c = campaign();
      await worker.putCampaign(c);
      const ids = await convert(worker, c, 3);
      const parked = await eventually(async () => {
        const mine = await outboxOf(worker, c);
        return mine && mine.parked === 3 ? mine : null;
      }, { what: "three parked messages" });
      assert.equal(parked.waiting, 3, "parked messages stay in the outbox");
      assert.match(parked.last_error, /500/);
      origin.setMode("ok");
      await sleep(500);
      assert.equal(origin.received.length, 0, "parked messages are not retried by themselves");

      assert.equal((await worker.fetch("/v1/outbox/retry", { method: "POST" })).status, 401);
      assert.equal((await worker.admin("/v1/outbox/retry")).status, 405);
      const bad = await worker.admin("/v1/outbox/retry?campaign_id=no%20such", { method: "POST" });
      assert.equal(bad.status, 400, bad.text);
      assert.equal(bad.json.error.parameter, "campaign_id");
      const retry = await worker.admin(`/v1/outbox/retry?campaign_id=${c.id}`, { method: "POST" });
      assert.equal(retry.status, 200, retry.text);
      assert.equal(retry.json.requeued, 3);
      assert.deepEqual(retry.json.campaigns, [{ campaign_id: c.id, requeued: 3 }]);
      await eventually(() => ids.every((id) => deliveredConversionIds(origin).has(id)), { what: "all three delivered" });
      await eventually(async () => !(await outboxOf(worker, c)), { what: "the outbox to empty" });
      const again = await worker.admin("/v1/outbox/retry", { method: "POST" });
      assert.equal(again.json.requeued, 0, "nothing left to bring back");
    } finally {
      await worker.dispose();
      await origin.close();
    }
  });

  test("no row is lost across a restart on the same storage; duplicates share their key", async () => {
    const dir = stateDir();
    const origin = await startOrigin({ secret: ORIGIN_SECRET, quiet: true });
    origin.setMode("fail");
    let { worker } = await setup({ persist: dir, origin });
    const c = campaign();
    let ids;
    try {
      await worker.putCampaign(c);
      ids = await convert(worker, c, 6);
      await sleep(500);
    } finally {
      await worker.dispose();
    }
    origin.setMode("ok");
    ({ worker } = await setup({ persist: dir, origin }));
    try {
      await eventually(() => ids.every((id) => deliveredConversionIds(origin).has(id)), { what: "delivery after restart" });
      // Every message id carries one body, however often it arrived.
      const byKey = new Map();
      for (const r of origin.received) {
        const seen = byKey.get(r.idempotencyKey);
        if (seen) assert.deepEqual(r.body, seen, "a duplicate differs from its first delivery");
        byKey.set(r.idempotencyKey, r.body);
      }
      assert.equal(new Set([...byKey.values()].map((b) => b.data.id)).size, 6);
    } finally {
      await worker.dispose();
      await origin.close();
    }
  });

  test("GET /v1/outbox asks only the campaigns whose deliveries wait, whatever the number of campaigns", async () => {
    const dir = stateDir();
    const origin = await startOrigin({ secret: ORIGIN_SECRET, quiet: true });
    origin.setMode("fail");
    const { worker } = await setup({ persist: dir, origin });
    try {
      const idle = Array.from({ length: 30 }, () => campaign());
      for (const c of idle) await worker.putCampaign(c);
      const c = campaign();
      await worker.putCampaign(c);
      await convert(worker, c, 2);
      await eventually(async () => (await outboxOf(worker, c))?.waiting === 2, { what: "the failed deliveries listed" });
      const before = storedObjects(dir);
      const listed = await worker.admin("/v1/outbox");
      assert.deepEqual(listed.json.campaigns.map((x) => x.campaign_id), [c.id]);
      assert.equal(listed.json.waiting, 2);
      assert.equal(storedObjects(dir), before, "no idle campaign's object was made or woken");
      origin.setMode("ok");
      await eventually(async () => (await worker.admin("/v1/outbox")).json.campaigns.length === 0, { what: "the outbox drained and unlisted" });
      assert.equal((await worker.admin("/v1/outbox")).json.waiting, 0);
    } finally {
      await worker.dispose();
      await origin.close();
    }
  });
});

describe("where an outbox is listed", () => {
  test("the mark of a campaign whose deliveries wait lives where the log's retention never reaches", async () => {
    const origin = await startOrigin({ secret: ORIGIN_SECRET, quiet: true });
    origin.setMode("fail");
    const { worker } = await setup({ origin });
    try {
      const c = campaign();
      await worker.putCampaign(c);
      await convert(worker, c, 1);
      await eventually(async () => (await outboxOf(worker, c))?.last_error, { what: "the failed delivery listed" });
      // The bucket's lifecycle rule deletes whatever is 31 days old: it
      // holds the log only, so a delivery parked for longer stays listed.
      const listed = await (await worker.mf.getR2Bucket("LOGS")).list({ limit: 1000 });
      const notLog = listed.objects.map((o) => o.key).filter((key) => !key.startsWith("log/"));
      assert.deepEqual(notLog, [], "the bucket holds something besides the log");
    } finally {
      await worker.dispose();
      await origin.close();
    }
  });
});
