// When a dependency fails, the advertiser is told to retry — 503
// internal_error — never a panic, never a silent 200.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Miniflare } from "miniflare";
import { readdirSync, writeFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ADMIN_TOKEN, CLICK_SIGNING_KEY, ORIGIN_SECRET, PLATFORM, WORKER_SCRIPT, startWorker, stateDir, testClick } from "./support/worker.mjs";
import { holdToContract } from "./support/openapi.mjs";
import { campaign } from "./support/campaigns.mjs";

/** A worker whose bindings are wired as `wiring` says (some of them broken). */
async function brokenWorker({ kv = true, objects = true, bindings = {} }) {
  const mf = new Miniflare({
    ...WORKER_SCRIPT,
    r2Buckets: PLATFORM.r2Buckets,
    queueProducers: PLATFORM.queueProducers,
    queueConsumers: PLATFORM.queueConsumers,
    ...(kv ? { kvNamespaces: PLATFORM.kvNamespaces } : {}),
    ...(objects ? { durableObjects: PLATFORM.durableObjects } : {}),
    cf: false,
    bindings: { ADMIN_TOKEN, CLICK_SIGNING_KEY, ORIGIN_SECRET, ORIGIN_URL: "http://127.0.0.1:9", ...bindings },
  });
  await mf.ready;
  // Held to docs/openapi.json, as tests/support/worker.mjs holds its answers.
  const fetch = async (path, init = {}) => {
    const url = `http://localhost${path}`;
    const res = await mf.dispatchFetch(url, { redirect: "manual", ...init });
    const text = await res.text();
    holdToContract({ method: init.method ?? "GET", url, status: res.status, headers: res.headers, text });
    return { status: res.status, text, json: text.startsWith("{") ? JSON.parse(text) : undefined };
  };
  return { mf, fetch };
}

function assertRetryable(res) {
  assert.equal(res.status, 503, res.text);
  assert.equal(res.json.status, "rejected");
  assert.equal(res.json.error.code, "internal_error");
  assert.equal(res.json.error.message, "Internal error. Please address to support");
}

describe("faults", () => {
  test("KV failing: postbacks and clicks answer 503 internal_error, the admin API 503", async () => {
    // CAMPAIGNS is bound to a plain string: every KV call fails.
    const w = await brokenWorker({ kv: false, bindings: { CAMPAIGNS: "not a namespace" } });
    try {
      assertRetryable(await w.fetch(`/postback?click_id=${testClick({ campaign: "1001" })}`));
      assertRetryable(await w.fetch("/click?campaign_id=1001&partner_id=77"));
      const admin = await w.fetch("/v1/campaigns", { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      assert.equal(admin.status, 503);
      // The isolate is fine: checks that need no KV still answer.
      assert.equal((await w.fetch("/postback?click_id=forged")).json.error.code, "click_not_found");
      assert.equal((await w.fetch("/healthz")).text, "ok");
    } finally {
      await w.mf.dispose();
    }
  });

  test("the campaign object unreachable: 503 internal_error, nothing claimed accepted", async () => {
    const w = await brokenWorker({ objects: false });
    try {
      const c = campaign();
      const put = await w.fetch(`/v1/campaigns/${c.id}`, {
        method: "PUT",
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        body: JSON.stringify(c),
      });
      assert.equal(put.status, 200, put.text);
      const click = testClick({ campaign: c.id, time: Math.floor(Date.now() / 1000) - 60 });
      assertRetryable(await w.fetch(`/postback?click_id=${click}`));
      assertRetryable(await w.fetch(`/postback/check?click_id=${click}`));
      // Edge rejections do not need the object.
      assert.equal((await w.fetch(`/postback?click_id=${click}&goal=nope`)).json.error.code, "goal_not_found");
    } finally {
      await w.mf.dispose();
    }
  });

  test("a bad ORIGIN_SECRET never blocks postbacks: delivery waits, the error is shown", async () => {
    const w = await brokenWorker({ bindings: { ORIGIN_SECRET: "not-whsec" } });
    try {
      const c = campaign();
      await w.fetch(`/v1/campaigns/${c.id}`, { method: "PUT", headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, body: JSON.stringify(c) });
      const click = testClick({ campaign: c.id, time: Math.floor(Date.now() / 1000) - 60 });
      assert.equal((await w.fetch(`/postback?click_id=${click}`)).status, 200);
      let shown;
      for (let i = 0; i < 50 && !shown; i++) {
        const res = await w.fetch("/v1/outbox", { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
        shown = res.json.campaigns.find((x) => x.campaign_id === c.id && x.last_error);
        if (!shown) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(shown, "the outbox shows why delivery waits");
      assert.match(shown.last_error, /whsec_/);
      assert.equal(shown.waiting, 1);
    } finally {
      await w.mf.dispose();
    }
  });

  test("the campaign object's storage failing: 503 internal_error, and the isolate lives on", async () => {
    const dir = stateDir();
    const c = campaign();
    let worker = await startWorker({ persist: dir });
    let click;
    try {
      await worker.putCampaign(c);
      click = await worker.click(c.id);
      assert.equal((await worker.postback({ click_id: click })).status, 200);
    } finally {
      await worker.dispose();
    }
    // Corrupt the object's SQLite database on disk.
    const objects = join(dir, "do", "-CampaignObject");
    const files = readdirSync(objects).filter((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite");
    assert.equal(files.length, 1);
    for (const f of readdirSync(objects).filter((f) => f.startsWith(files[0]))) rmSync(join(objects, f));
    writeFileSync(join(objects, files[0]), "this is not a database ".repeat(200));
    worker = await startWorker({ persist: dir });
    try {
      const res = await worker.postback({ click_id: click, status: "approved" });
      assertRetryable(res);
      // Nothing else is affected: edge checks, other campaigns, health.
      assert.equal((await worker.postback({ click_id: "forged" })).json.error.code, "click_not_found");
      const other = campaign();
      await worker.putCampaign(other);
      assert.equal((await worker.postback({ click_id: await worker.click(other.id) })).status, 200);
      assert.equal((await worker.fetch("/healthz")).status, 200);
    } finally {
      await worker.dispose();
    }
  });

  test("a bug (a Rust panic) answers 500 JSON, and the next request is served", async () => {
    // The panic route exists only with TEST_PANIC_ROUTE=enabled.
    const worker = await startWorker({ bindings: { TEST_PANIC_ROUTE: "enabled" } });
    try {
      const c = campaign();
      await worker.putCampaign(c);
      const click = await worker.click(c.id);
      // Requests in flight when the instance crashes are answered too.
      const [crash, other] = await Promise.all([worker.fetch("/__test/panic"), worker.fetch("/__test/panic")]);
      for (const res of [crash, other]) {
        assert.equal(res.status, 500, res.text);
        assert.equal(res.headers.get("content-type"), "application/json; charset=utf-8");
        assert.equal(res.json.status, "rejected");
        assert.equal(res.json.error.code, "internal_error");
        assert.equal(res.json.error.message, "Internal error. Please address to support");
      }
      // The instance was reset: postbacks are served as before.
      assert.equal((await worker.postback({ click_id: click })).status, 200);
      assert.equal((await worker.fetch("/healthz")).text, "ok");
      // A panic after an await traps in a microtask, where no caller sees
      // it: that request, and a postback in flight beside it, still get
      // 500 JSON, and the next postback is served.
      const [late, beside] = await Promise.all([
        worker.fetch("/__test/panic?later"),
        worker.postback({ click_id: click, action_id: "beside-the-panic" }),
      ]);
      assert.equal(late.status, 500, late.text);
      assert.equal(late.json.error.code, "internal_error");
      assert.ok([200, 500].includes(beside.status), beside.text);
      if (beside.status === 500) assert.equal(beside.json.error.code, "internal_error");
      assert.equal((await worker.postback({ click_id: click, action_id: "after-the-panic" })).status, 200);
    } finally {
      await worker.dispose();
    }
  });

  test("without TEST_PANIC_ROUTE there is no panic route", async () => {
    const worker = await startWorker();
    try {
      const res = await worker.fetch("/__test/panic");
      assert.equal(res.status, 404, res.text);
    } finally {
      await worker.dispose();
    }
  });
});
