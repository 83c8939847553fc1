// The postbacks log: every postback lands in it, with filters, paging,
// redaction, the bound on unattributed entries, and the admin token.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { ADMIN_TOKEN, startWorker, stateDir, testClick } from "./support/worker.mjs";
import { campaign, freshId } from "./support/campaigns.mjs";
import { eventually } from "./support/wait.mjs";

const UNATTRIBUTED_MAX = 15;

describe("postbacks log", () => {
  let worker;
  let c;
  let other;
  let started;
  before(async () => {
    worker = await startWorker({ bindings: { LOG_UNATTRIBUTED_MAX: String(UNATTRIBUTED_MAX) } });
    c = campaign({ secure_code: "s3cr3t" });
    other = campaign();
    await worker.putCampaign(c);
    await worker.putCampaign(other);
    started = new Date(Date.now() - 1000).toISOString();
    const click = await worker.click(c.id);
    // One of each outcome on campaign c, and one accepted on the other.
    await worker.postback({ click_id: click, secure: "s3cr3t", comment: "hello", whatever: "kept" }); // accepted
    await worker.postback({ click_id: click, secure: "wrong" }); // secure_code_invalid (edge)
    await worker.postback({ click_id: click, secure: "s3cr3t", goal: "nope" }); // goal_not_found (edge)
    await worker.postback({ click_id: click, secure: "s3cr3t" }); // status_same (object)
    await worker.postback({ click_id: click, secure: "s3cr3t" }, "/postback/check"); // dry run, status_same
    await worker.postback({ click_id: await worker.click(other.id) }); // accepted, other campaign
    await worker.postback({ click_id: "forged", campaign_id: c.id }); // click_not_found, unattributed
    await worker.fetch(`/postback?click_id=x&sum=%zz&secure=s3cr3t`); // bad_request, unattributed
    await eventually(async () => (await log("")).json.entries.length >= 8, { what: "eight log entries" });
  });
  after(() => worker.dispose());

  const log = (query) => worker.admin(`/v1/logs/postbacks?${query}`);

  test("401 without the token", async () => {
    for (const path of ["/v1/logs/postbacks", "/logs/postbacks"]) {
      const res = await worker.fetch(path);
      assert.equal(res.status, 401);
      assert.match(res.headers.get("www-authenticate"), /^Basic/);
      const wrong = await worker.fetch(path, { headers: { authorization: "Bearer nope" } });
      assert.equal(wrong.status, 401);
    }
    const basic = Buffer.from(`me:${ADMIN_TOKEN}`).toString("base64");
    assert.equal((await worker.fetch("/logs/postbacks", { headers: { authorization: `Basic ${basic}` } })).status, 200);
  });

  test("every postback is an entry with the catalog's texts, newest first", async () => {
    const res = await log(`campaign_id=${c.id}`);
    assert.equal(res.status, 200);
    const codes = res.json.entries.map((e) => e.code ?? "accepted");
    // Newest first: the dry run, status_same, goal_not_found, secure_code_invalid,
    // accepted; plus the forged click that named this campaign.
    assert.deepEqual(codes, ["click_not_found", "status_same", "status_same", "goal_not_found", "secure_code_invalid", "accepted"]);
    const [forged, dry, same, goal, secure, accepted] = res.json.entries;
    assert.equal(dry.dry_run, true);
    assert.equal(same.dry_run, false);
    assert.equal(goal.message, "Goal not found in campaign");
    assert.ok(goal.reason.length > 20 && goal.fix.length > 20);
    assert.equal(secure.message, "Secure code is not valid");
    assert.equal(accepted.result, "accepted");
    assert.match(accepted.conversion_id, /^cv_/);
    assert.equal(accepted.status, "pending");
    assert.equal(accepted.goal, "1", "the default goal that counted");
    assert.equal(accepted.params.comment, "hello");
    assert.equal(accepted.params.whatever, "kept", "unknown parameters are kept");
    assert.equal(forged.click_id, "forged");
    for (const e of res.json.entries) {
      assert.equal(e.campaign_id, c.id);
      assert.ok(!Number.isNaN(Date.parse(e.time)));
    }
    // The dry run counts apart, whatever its result.
    assert.deepEqual(res.json.counts, { accepted: 1, click_not_found: 1, dry_run: 1, goal_not_found: 1, secure_code_invalid: 1, status_same: 1 });
    const dryRuns = await log(`campaign_id=${c.id}&code=dry_run`);
    assert.deepEqual(dryRuns.json.entries.map((e) => [e.dry_run, e.code]), [[true, "status_same"]]);
  });

  test("secure is redacted everywhere", async () => {
    const res = await log("limit=500");
    assert.ok(!res.text.includes("s3cr3t"), "the secure code appears in the log");
    assert.ok(!res.text.includes("\"wrong\""));
    assert.ok(res.json.entries.some((e) => e.params.secure === "[redacted]"));
    const page = await worker.admin("/logs/postbacks");
    assert.ok(!page.text.includes("s3cr3t"));
  });

  test("filters: code, campaign, since", async () => {
    const byCode = await log("code=secure_code_invalid");
    assert.equal(byCode.json.entries.length, 1);
    assert.equal(byCode.json.entries[0].code, "secure_code_invalid");
    const accepted = await log("code=accepted");
    assert.deepEqual(accepted.json.entries.map((e) => e.campaign_id).sort(), [c.id, other.id].sort());
    const otherOnly = await log(`campaign_id=${other.id}`);
    assert.equal(otherOnly.json.entries.length, 1);
    const future = await log(`since=${encodeURIComponent(new Date(Date.now() + 60000).toISOString())}`);
    assert.equal(future.json.entries.length, 0);
    const fromStart = await log(`since=${encodeURIComponent(started)}`);
    assert.ok(fromStart.json.entries.length >= 8);
    const unknown = await log("campaign_id=nosuchcamp");
    assert.equal(unknown.json.entries.length, 0);
    // An unknown filter, or a bad value, is a 400 naming it: never ignored.
    for (const [query, parameter] of [
      ["since=yesterday", "since"],
      ["until=later", "until"],
      ["code=nonsense", "code"],
      ["campaign=1001", "campaign"],
      ["campaign_id=does-not-exist", "campaign_id"],
      ["limit=0", "limit"],
    ]) {
      const bad = await log(query);
      assert.equal(bad.status, 400, query);
      assert.equal(bad.json.error.parameter, parameter, query);
    }
    // `until` ends the range: nothing before the run started.
    const none = await log(`until=${encodeURIComponent(started)}`);
    assert.equal(none.json.entries.length, 0);
    assert.ok((await log(`until=${encodeURIComponent(new Date(Date.now() + 60000).toISOString())}`)).json.entries.length >= 8);
  });

  test("filters: click, action, conversion and partner narrow to their entries", async () => {
    const all = (await log("limit=500")).json.entries;
    const accepted = all.find((e) => e.result === "accepted" && e.campaign_id === c.id);
    assert.ok(accepted?.conversion_id, "an accepted entry with its conversion");
    assert.equal(accepted.partner_id, "77");
    assert.ok(accepted.country);
    assert.ok(accepted.payout);
    for (const [name, value] of [
      ["click_id", accepted.click_id],
      ["conversion_id", accepted.conversion_id],
      ["partner_id", "77"],
    ]) {
      const res = await log(`${name}=${encodeURIComponent(value)}`);
      assert.equal(res.status, 200, res.text);
      assert.ok(res.json.entries.length >= 1, name);
      assert.ok(res.json.entries.every((e) => e[name] === value), `${name}: ${JSON.stringify(res.json.entries)}`);
      assert.ok(res.json.entries.length <= all.length);
    }
    const byClick = await log(`click_id=${encodeURIComponent(accepted.click_id)}`);
    assert.ok(byClick.json.entries.length < all.length, "a click's entries are fewer than all");
    const total = Object.values(byClick.json.counts).reduce((a, b) => a + b, 0);
    assert.equal(total, byClick.json.entries.length, "counts cover the filtered entries");
    assert.equal((await log("action_id=no-such-action")).json.entries.length, 0);
  });

  test("unreadable postbacks are logged raw, redacted, unattributed", async () => {
    const res = await log("code=bad_request");
    assert.equal(res.json.entries.length, 1);
    const e = res.json.entries[0];
    assert.equal(e.params.sum, "%zz");
    assert.equal(e.params.secure, "[redacted]");
    assert.match(e.message, /`sum`/);
  });

  test("paging with limit and next_before walks everything once", async () => {
    const all = (await log("limit=500")).json.entries.map((e) => e.id);
    const walked = [];
    let query = "limit=3";
    for (let i = 0; i < 10; i++) {
      const res = await log(query);
      walked.push(...res.json.entries.map((e) => e.id));
      if (!res.json.next_before) break;
      assert.equal(res.json.entries.length, 3);
      query = `limit=3&before=${res.json.next_before}`;
    }
    assert.deepEqual(walked, all);
  });

  test("junk for unknown campaigns is kept only up to the bound", async () => {
    const junkCampaign = freshId("junk");
    for (let i = 0; i < UNATTRIBUTED_MAX + 10; i++) {
      await worker.postback({ click_id: testClick({ campaign: junkCampaign }), n: String(i) });
    }
    const entries = await eventually(async () => {
      const res = await log(`campaign_id=${junkCampaign}&limit=500`);
      const ns = res.json.entries.map((e) => Number(e.params.n));
      return ns.includes(UNATTRIBUTED_MAX + 9) ? res.json.entries : null;
    }, { what: "the last junk entry" });
    const unattributedTotal = (await log("limit=500")).json.entries.filter((e) => e.code === "campaign_not_found" || e.code === "click_not_found" || e.code === "bad_request").length;
    assert.ok(unattributedTotal <= UNATTRIBUTED_MAX, `${unattributedTotal} unattributed entries kept`);
    assert.ok(entries.length <= UNATTRIBUTED_MAX);
    assert.equal(entries[0].code, "campaign_not_found");
    assert.equal(entries[0].campaign_id, junkCampaign);
  });
});

// Objects written by earlier versions keep their log and their
// conversions: the log (a row per entry, table `log`, or chunks) moves to
// the bucket, a batch per alarm run after the object's first request; the
// conversions move into today's table on that first request. The old
// tables are written here with Python's sqlite3 into the object's database
// on disk, as those versions left them.
describe("an object written by an earlier version", () => {
  // Those versions kept no schema version: the object reads as theirs.
  const OLD_SCHEMA = `DROP TABLE meta;
CREATE TABLE log (id TEXT PRIMARY KEY, campaign TEXT, code TEXT NOT NULL, entry TEXT NOT NULL);
CREATE INDEX log_code ON log (code, id);
CREATE TABLE conversions (identity TEXT PRIMARY KEY, id TEXT NOT NULL, status TEXT NOT NULL, record TEXT NOT NULL,
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);`;

  function oldEntry(id, campaignId, code) {
    return {
      id, time: new Date(Number(id.slice(0, 15))).toISOString(), campaign_id: campaignId, click_id: `old-${id}`,
      goal: "1", status: null, result: code ? "rejected" : "accepted", code, message: null, reason: null, fix: null,
      conversion_id: code ? null : "cv_old", dry_run: false, params: { click_id: `old-${id}` },
    };
  }

  /** An approved conversion as the earlier version stored it. */
  function oldConversion(campaignId, click, now) {
    const identity = `click|1|1|${click}`;
    return {
      id: "cv_oldformat000000000", identity, campaign_id: campaignId, click_id: click, partner_id: "77", country: "DE",
      goal: "1", action_id: null, status: "approved", payout: "1.20", currency: "USD", sum: null,
      created_at: now - 120, updated_at: now - 60, revision: 2, fields: {},
    };
  }

  function sqlite(file, script, rows, conversions) {
    const python = `
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
script, rows, conversions = json.loads(sys.stdin.read())
if script: db.executescript(script)
for r in rows: db.execute("INSERT INTO log VALUES (?, ?, ?, ?)", (r[0], r[1], r[2], json.dumps(r[3])))
for c in conversions: db.execute("INSERT INTO conversions VALUES (?, ?, ?, ?, ?, ?)",
    (c["identity"], c["id"], c["status"], json.dumps(c), c["created_at"], c["updated_at"]))
db.commit()
print(json.dumps([r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]))
`;
    return JSON.parse(
      execFileSync("python3", ["-c", python, file], { input: JSON.stringify([script, rows, conversions ?? []]), encoding: "utf8" }),
    );
  }

  test("its log moves to the bucket and its conversions still dedupe", async () => {
    const dir = stateDir();
    const c = campaign();
    let worker = await startWorker({ persist: dir });
    try {
      await worker.putCampaign(c);
      assert.equal((await worker.postback({ click_id: await worker.click(c.id) })).status, 200);
      // Written (a second later) before the worker stops: a stop loses the
      // batch not yet written.
      await eventually(async () => (await worker.admin(`/v1/logs/postbacks?campaign_id=${c.id}`)).json.entries.length === 1, {
        what: "the postback's entry",
      });
    } finally {
      await worker.dispose();
    }
    const objects = join(dir, "do", "-CampaignObject");
    const files = readdirSync(objects).filter((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite");
    // The campaign's object: the one that remembers a conversion (the
    // unattributed log's object exists too, since the log was read).
    const remembers = (f) =>
      execFileSync("python3", ["-c", "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT COUNT(*) FROM known').fetchone()[0])", f], {
        encoding: "utf8",
      }).trim() !== "0";
    const file = files.map((f) => join(objects, f)).find((f) => sqlite(f, "", []).includes("known") && remembers(f));
    // 1,203 old entries (three chunks' worth), a minute ago and older, and
    // one approved conversion of an old click.
    const now = Date.now() - 60_000;
    const rows = Array.from({ length: 1203 }, (_, i) => {
      const id = `${String(now - i * 10).padStart(15, "0")}-${i.toString(16).padStart(8, "0")}`;
      const code = i % 3 === 0 ? null : i % 3 === 1 ? "goal_not_found" : "cap_reached";
      return [id, c.id, code ?? "accepted", oldEntry(id, c.id, code)];
    });
    const oldClick = testClick({ campaign: c.id, time: Math.floor(Date.now() / 1000) - 3600 });
    sqlite(file, OLD_SCHEMA, rows, [oldConversion(c.id, oldClick, Math.floor(Date.now() / 1000))]);

    worker = await startWorker({ persist: dir });
    try {
      // The campaign's first postback since the upgrade: the old
      // conversion answers as it did.
      const repeat = await worker.postback({ click_id: oldClick, status: "approved" });
      assert.equal(repeat.status, 409, repeat.text);
      assert.equal(repeat.json.error.code, "status_same");
      const log = (query) => worker.admin(`/v1/logs/postbacks?campaign_id=${c.id}&${query}`);
      const moved = await eventually(async () => {
        const res = await log("limit=500&code=cap_reached");
        return res.json.entries.length === 401 && res;
      }, { what: "the old entries in the bucket" });
      assert.equal(moved.json.entries[0].message, "Campaign cap is reached, conversion is rejected");
      const ids = moved.json.entries.map((e) => e.id);
      assert.deepEqual(ids, [...ids].sort().reverse(), "newest first across the moved chunks");
      const all = await eventually(async () => {
        const res = await log("limit=3");
        return res.json.counts.status_same === 1 && res;
      }, { what: "the refusal since the restart" });
      // The refusal just now, the accepted postback of before the restart,
      // then the newest old entry.
      assert.equal(all.json.entries[0].code, "status_same");
      assert.equal(all.json.entries[1].result, "accepted");
      assert.equal(all.json.entries[2].click_id, `old-${rows[0][0]}`);
      assert.deepEqual(all.json.counts, { accepted: 402, goal_not_found: 401, cap_reached: 401, status_same: 1 });
      // And unfiltered, from the all-campaigns prefix.
      const unfiltered = await worker.admin("/v1/logs/postbacks?code=goal_not_found&limit=500");
      assert.equal(unfiltered.json.entries.length, 401);
    } finally {
      await worker.dispose();
    }
    const tables = sqlite(file, "", []);
    for (const gone of ["log", "log_chunks", "conversions"]) assert.ok(!tables.includes(gone), `${gone} is gone: ${tables}`);
  });
});

// Counts are taken over what the query asks for, in every store: the
// unattributed log's entries, which name no partner and lie in the present,
// never count for a partner's query or a range in the past.
describe("counts follow every filter", () => {
  test("a partner's counts and a past range's hold none of the unattributed entries", async () => {
    const worker = await startWorker();
    try {
      const c = campaign();
      await worker.putCampaign(c);
      for (let i = 0; i < 5; i++) {
        const res = await worker.postback({ click_id: await worker.click(c.id, "77") });
        assert.equal(res.status, 200, res.text);
      }
      for (let i = 0; i < 4; i++) assert.equal((await worker.postback({ goal: "install" })).status, 400);
      const log = (query) => worker.admin(`/v1/logs/postbacks?${query}`);
      await eventually(async () => (await log("")).json.entries.length === 9, { what: "nine entries" });
      const partner = await log("partner_id=77");
      assert.deepEqual(partner.json.counts, { accepted: 5 });
      assert.equal(partner.json.entries.length, 5);
      const yearAgo = Math.floor(Date.now() / 1000) - 365 * 86400;
      const past = await log(`until=${yearAgo}`);
      assert.deepEqual(past.json.counts, {});
      assert.deepEqual(past.json.entries, []);
      const before = await log(`before=${encodeURIComponent(partner.json.entries[4].id)}`);
      const total = Object.values(before.json.counts).reduce((a, b) => a + b, 0);
      assert.equal(total, before.json.entries.length, "counts cover the entries before the cursor");
      const missing = await log("code=click_id_missing&partner_id=77");
      assert.deepEqual(missing.json.counts, { accepted: 5 });
      assert.deepEqual(missing.json.entries, []);
    } finally {
      await worker.dispose();
    }
  });
});
