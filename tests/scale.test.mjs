// Network scale: what a campaign object keeps stays small and bounded, the
// postbacks log lives in the R2 bucket, and a log query costs what it
// reads, not the number of campaigns.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { ORIGIN_SECRET, startWorker, stateDir, storedObjects, testClick } from "./support/worker.mjs";
import { campaign, freshId } from "./support/campaigns.mjs";
import { eventually, inParallel } from "./support/wait.mjs";
import { startOrigin } from "../scripts/origin.mjs";

describe("network scale", () => {
  test("a campaign object keeps at most 300 bytes per delivered conversion", { timeout: 180_000 }, async () => {
    // A conversion's row holds its message until the origin has it, then
    // shrinks: the room the message took stays in the table's pages, and
    // the conversions that come after fill it. Measured over the third
    // thousand, once the table holds as much room as it keeps. Each
    // thousand is committed before its deliveries run (they wait 10 s), so
    // that the room its messages take is the same whatever the machine's
    // speed.
    const origin = await startOrigin({ secret: ORIGIN_SECRET, quiet: true });
    const worker = await startWorker({ bindings: { ORIGIN_URL: origin.url, DELIVERY_DELAY_MS: "10000" } });
    try {
      const c = campaign();
      await worker.putCampaign(c);
      const time = Math.floor(Date.now() / 1000) - 60;
      const convert = async (i) => {
        const res = await worker.postback({ click_id: testClick({ campaign: c.id, time }), status: "approved", action_id: `order-${i}` });
        assert.equal(res.status, 200, res.text);
      };
      const stats = async () => (await worker.admin(`/v1/campaigns/${c.id}/stats`)).json;
      const delivered = () => eventually(async () => {
        const s = await stats();
        return s.outbox === 0 && s;
      }, { ms: 60_000, what: "every delivery" });
      let before;
      let after;
      for (let wave = 0; wave < 3; wave++) {
        before = await delivered();
        await inParallel(1000, 8, (i) => convert(wave * 1000 + i));
        after = await delivered();
        const perConversion = (after.database_bytes - before.database_bytes) / 1000;
        console.log(`# object storage: ${perConversion.toFixed(1)} bytes per delivered conversion, thousand ${wave + 1}`);
      }
      assert.equal(after.conversions, 3000);
      assert.equal(after.pending, 0, "final conversions keep no record");
      assert.equal(origin.received.length, 3000);
      const perConversion = (after.database_bytes - before.database_bytes) / 1000;
      assert.ok(perConversion <= 300, `${perConversion} bytes per conversion`);
      assert.equal((await worker.fetch(`/v1/campaigns/${c.id}/stats`)).status, 401);
    } finally {
      await worker.dispose();
      await origin.close();
    }
  });

  test("a conversion waiting for its origin costs its object at most 1,000 bytes", { timeout: 120_000 }, async () => {
    // The origin refuses everything: each conversion keeps its outbox row,
    // and a pending one its whole record too (docs/SCALING.md: how long an
    // object lasts when its origin takes nothing).
    const origin = await startOrigin({ secret: ORIGIN_SECRET, quiet: true });
    origin.setMode("fail");
    const worker = await startWorker({ bindings: { ORIGIN_URL: origin.url } });
    try {
      const time = Math.floor(Date.now() / 1000) - 60;
      for (const status of ["approved", "pending"]) {
        const c = campaign();
        await worker.putCampaign(c);
        const convert = async (i) => {
          const res = await worker.postback({ click_id: testClick({ campaign: c.id, time }), status, action_id: `order-${i}` });
          assert.equal(res.status, 200, res.text);
        };
        await convert(-1);
        const stats = async () => (await worker.admin(`/v1/campaigns/${c.id}/stats`)).json;
        const before = await stats();
        await inParallel(500, 8, convert);
        const after = await stats();
        assert.equal(after.outbox, 501, "nothing was delivered");
        const perConversion = (after.database_bytes - before.database_bytes) / 500;
        console.log(`# object storage: ${perConversion.toFixed(0)} bytes per ${status} conversion waiting for the origin`);
        assert.ok(perConversion <= 1000, `${perConversion} bytes per ${status} conversion`);
      }
    } finally {
      await worker.dispose();
      await origin.close();
    }
  });

  /**
   * A campaign object with one conversion, stopped, then `rows` written
   * into its database by Python's sqlite3 (`python`: statements run with
   * `db` open and `now` the Unix time, as an object that has lived longer
   * would hold them), and started again. Returns the worker, the
   * campaign and the conversion's click id.
   */
  async function objectHolding(python, { campaign: overrides = {}, bindings = {} } = {}) {
    const dir = stateDir();
    const c = campaign(overrides);
    const click = testClick({ campaign: c.id, time: Math.floor(Date.now() / 1000) - 60 });
    const first = await startWorker({ persist: dir, bindings });
    try {
      await first.putCampaign(c);
      assert.equal((await first.postback({ click_id: click })).status, 200);
    } finally {
      await first.dispose();
    }
    const script = `
import os, sqlite3, sys, time
for path in sys.argv[1:]:
    db = sqlite3.connect(path)
    if db.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'known'").fetchone()[0] == 0: continue
    if db.execute("SELECT COUNT(*) FROM known").fetchone()[0] != 1: continue
    now = int(time.time())
${python.trim().split("\n").map((line) => `    ${line.trim()}`).join("\n")}
    db.commit()
    print(path)
`;
    const objects = join(dir, "do", "-CampaignObject");
    const files = readdirSync(objects).filter((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite").map((f) => join(objects, f));
    assert.equal(execFileSync("python3", ["-c", script, ...files], { encoding: "utf8" }).trim().split("\n").length, 1, "one campaign object");
    return { worker: await startWorker({ persist: dir, bindings }), c, click };
  }

  test("identities past their window go within seconds, however many are due", { timeout: 120_000 }, async () => {
    // 5,000 settled conversions whose last change was two days ago: a
    // campaign taking hundreds a second leaves a day-long window behind it.
    const { worker, c, click } = await objectHolding(`
      db.executemany("INSERT INTO known (key, id, status, revision, updated_at) VALUES (?, ?, 'approved', 1, ?)",
          [(os.urandom(16), "cv_old%016d" % i, now - 2 * 86400) for i in range(5000)])
    `, { campaign: { dedupe_window_days: 1 } });
    try {
      const stats = async () => (await worker.admin(`/v1/campaigns/${c.id}/stats`)).json;
      assert.equal((await stats()).conversions, 5001);
      // Each postback lets the object forget a batch; it comes back a
      // second later while more are due, not a minute later.
      const started = Date.now();
      const left = await eventually(async () => {
        const repeat = await worker.postback({ click_id: click });
        assert.equal(repeat.status, 409, "the conversion inside its window is still remembered");
        const s = await stats();
        return s.conversions === 1 && s;
      }, { ms: 30_000, what: "5,000 identities forgotten" });
      console.log(`# 5,000 identities past their window forgotten in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      assert.equal(left.conversions, 1);
    } finally {
      await worker.dispose();
    }
  });

  test("a backlog of 12,000 messages is delivered with no postback coming in", { timeout: 120_000 }, async () => {
    // What an origin back from an outage finds waiting. The object's
    // alarm delivers it run after run, each message with its deadline.
    const origin = await startOrigin({ quiet: true });
    try {
      // Written as the version before kept an outbox: a table of its own.
      // The object moves the messages into its rows on its first request.
      const { worker, c } = await objectHolding(`
        db.execute("DROP TABLE meta")
        db.execute("CREATE TABLE outbox (id TEXT PRIMARY KEY, body TEXT NOT NULL, created_at INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL, last_error TEXT)")
        body = '{"type":"conversion.created","data":{"id":"cv_backlog","status":"approved","revision":1}}'
        db.executemany("INSERT INTO outbox (id, body, created_at, next_attempt_at) VALUES (?, ?, ?, ?)",
            [("msg_backlog%08d" % i, body, now, now * 1000) for i in range(12000)])
      `, { bindings: { ORIGIN_URL: origin.url } });
      try {
        // Its first request starts the object, which resumes delivering.
        assert.ok((await worker.admin(`/v1/campaigns/${c.id}/stats`)).json.outbox >= 12000);
        const started = Date.now();
        await eventually(async () => (await worker.admin(`/v1/campaigns/${c.id}/stats`)).json.outbox === 0, {
          ms: 90_000, every: 500, what: "the backlog delivered",
        });
        console.log(`# 12,000 waiting messages delivered in ${((Date.now() - started) / 1000).toFixed(1)} s`);
        const ids = new Set(origin.received.map((m) => m.id));
        assert.equal(ids.size, 12001, "each message once");
      } finally {
        await worker.dispose();
      }
    } finally {
      await origin.close();
    }
  });

  test("an unfiltered log query over 1,000 campaigns answers from the bucket and wakes no campaign object", { timeout: 180_000 }, async () => {
    const dir = stateDir();
    const worker = await startWorker({ persist: dir });
    try {
      const ids = await inParallel(1000, 8, async () => {
        const c = campaign({ id: freshId("s") });
        await worker.putCampaign(c);
        return c.id;
      });
      // Postbacks for twenty of them, half for the first: both queries
      // below read a full page.
      const time = Math.floor(Date.now() / 1000) - 60;
      await inParallel(200, 8, async (i) => {
        const target = i < 100 ? ids[0] : ids[1 + (i % 19)];
        const res = await worker.postback({ click_id: testClick({ campaign: target, time }), goal: i % 2 ? "nope" : "1" });
        assert.ok(res.status === 200 || res.status === 404, res.text);
      });
      const all = await eventually(async () => {
        const res = await worker.admin("/v1/logs/postbacks?limit=500");
        return res.json.entries.length === 200 && res;
      }, { what: "200 entries" });
      assert.equal(all.json.counts.accepted, 100);
      assert.equal(all.json.counts.goal_not_found, 100);
      const objects = storedObjects(dir);
      // What each costs in time is `make bench`'s (benches/query.mjs).
      const unfiltered = await worker.admin("/v1/logs/postbacks?limit=100");
      assert.equal(unfiltered.json.entries.length, 100);
      assert.deepEqual(unfiltered.json.entries, all.json.entries.slice(0, 100), "the newest hundred of every campaign");
      const filtered = await worker.admin(`/v1/logs/postbacks?limit=100&campaign_id=${ids[0]}`);
      assert.equal(filtered.json.entries.length, 100);
      assert.ok(filtered.json.entries.every((e) => e.campaign_id === ids[0]));
      assert.equal(filtered.json.counts.accepted + (filtered.json.counts.goal_not_found ?? 0), 100);
      assert.equal(storedObjects(dir), objects, "a log query created a Durable Object");
      // The campaigns whose postbacks reached their object and the
      // unattributed log's: the 980 that never had a postback have none.
      assert.equal(objects, 21);
    } finally {
      await worker.dispose();
    }
  });

  test("every postback is logged once, and entries past retention are not returned", { timeout: 60_000 }, async () => {
    const worker = await startWorker();
    try {
      const c = campaign({ caps: [{ goals: [], period: "all", type: "conversions", value: 40 }] });
      await worker.putCampaign(c);
      const time = Math.floor(Date.now() / 1000) - 60;
      // Accepted, over the cap (decided by the object), refused at the edge,
      // and dry runs, all at once.
      const results = await inParallel(300, 10, async (i) => {
        const path = i % 5 === 4 ? "/postback/check" : "/postback";
        const goal = i % 3 === 2 ? "nope" : "1";
        return (await worker.postback({ click_id: testClick({ campaign: c.id, time }), goal }, path)).status;
      });
      const log = await eventually(async () => {
        const res = await worker.admin(`/v1/logs/postbacks?campaign_id=${c.id}&limit=500`);
        return res.json.entries.length >= 300 && res;
      }, { what: "300 entries" });
      assert.equal(log.json.entries.length, 300, "each postback once");
      const total = Object.values(log.json.counts).reduce((a, b) => a + b, 0);
      assert.equal(total, 300);
      // Dry runs (every fifth) count apart, whatever their result.
      assert.equal(log.json.counts.goal_not_found, results.filter((s, i) => s === 404 && i % 5 !== 4).length);
      assert.equal(log.json.counts.dry_run, 60);
      assert.ok(log.json.counts.cap_reached > 0, JSON.stringify(log.json.counts));
      // What the log costs the bucket per entry (each is stored under its
      // campaign and under all campaigns).
      const listed = await (await worker.mf.getR2Bucket("LOGS")).list({ limit: 1000 });
      const bytes = listed.objects.reduce((sum, o) => sum + o.size, 0);
      console.log(`# bucket: ${(bytes / 300).toFixed(0)} bytes per entry, in ${listed.objects.length} objects`);

      // A chunk 31 days old (what the bucket's lifecycle rule deletes) and
      // one 29 days old, written as the edge writes them.
      const bucket = await worker.mf.getR2Bucket("LOGS");
      const day = 86_400_000;
      const put = async (age, click) => {
        const ms = Date.now() - age;
        const id = `${String(ms).padStart(15, "0")}-00000001`;
        const entry = {
          id, time: new Date(ms).toISOString(), campaign_id: c.id, click_id: click, goal: "1", status: "pending",
          result: "accepted", code: null, message: null, reason: null, fix: null, conversion_id: "cv_x", dry_run: false, params: {},
        };
        const key = `c/${c.id}/${String(999_999_999_999_999 - ms).padStart(15, "0")}-0000abcd`;
        await bucket.put(key, JSON.stringify([entry]), {
          customMetadata: { first: id, last: id, count: "1", codes: '{"accepted":1}', campaign: c.id },
        });
      };
      await put(31 * day, "expired");
      await put(29 * day, "kept");
      const old = await worker.admin(`/v1/logs/postbacks?campaign_id=${c.id}&limit=500`);
      const clicks = old.json.entries.map((e) => e.click_id);
      assert.ok(clicks.includes("kept"));
      assert.ok(!clicks.includes("expired"), "an entry past retention was returned");
      assert.equal(old.json.entries.length, 301);
    } finally {
      await worker.dispose();
    }
  });
});
