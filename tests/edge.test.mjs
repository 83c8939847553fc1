// The edge over HTTP: every stateless rejection with its exact message,
// the aliases, the three request forms, and bad input of every kind.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startWorker, testClick } from "./support/worker.mjs";
import { campaign, freshId } from "./support/campaigns.mjs";

// SPEC §2, byte for byte: the contract advertisers' integrations match.
const MESSAGES = {
  click_id_missing: [400, "Click ID is missing"],
  click_not_found: [404, "Click not found"],
  campaign_not_found: [404, "Campaign not found"],
  campaign_mismatch: [409, "Campaign mismatch"],
  secure_code_invalid: [403, "Secure code is not valid"],
  campaign_not_active: [409, "Campaign is not active"],
  campaign_privacy_error: [403, "Campaign privacy error"],
  goal_not_found: [404, "Goal not found in campaign"],
  internal_error: [503, "Internal error. Please address to support"],
};

function assertRejected(res, code) {
  const [status, message] = MESSAGES[code];
  assert.equal(res.status, status, res.text);
  assert.equal(res.json.status, "rejected");
  assert.equal(res.json.error.code, code);
  assert.equal(res.json.error.message, message);
  assert.ok(res.json.error.reason.length > 20, "a reason for the log");
  assert.ok(res.json.error.fix.length > 20, "a fix for the advertiser");
}

function assertBadRequest(res, parameter) {
  assert.equal(res.status, 400, res.text);
  assert.equal(res.json.status, "rejected");
  assert.equal(res.json.error.code, "bad_request");
  assert.equal(res.json.error.parameter, parameter);
  assert.ok(res.json.error.message.includes(`\`${parameter}\``), res.json.error.message);
}

describe("edge checks", () => {
  let worker;
  let open; // a public campaign
  before(async () => {
    worker = await startWorker();
    open = campaign();
    await worker.putCampaign(open);
  });
  after(() => worker.dispose());

  test("healthz answers ok", async () => {
    const res = await worker.fetch("/healthz");
    assert.equal(res.status, 200);
    assert.equal(res.text, "ok");
  });

  test("answers carry their content type and are never cached", async () => {
    const expect = [
      ["/healthz", 200, "text/plain; charset=utf-8"],
      ["/postback?goal=1", 400, "application/json; charset=utf-8"],
      ["/nope", 404, "application/json; charset=utf-8"],
    ];
    for (const [path, status, type] of expect) {
      const res = await worker.fetch(path);
      assert.equal(res.status, status, path);
      assert.equal(res.headers.get("content-type"), type, path);
      assert.equal(res.headers.get("cache-control"), "no-store", path);
    }
    // Answers with headers of their own keep them, and the body whole.
    const allowed = await worker.fetch("/postback", { method: "DELETE" });
    assert.equal(allowed.status, 405);
    assert.equal(allowed.headers.get("allow"), "GET, POST");
    assert.equal(allowed.headers.get("cache-control"), "no-store");
    assert.equal(allowed.json.error.code, "method_not_allowed");
    const unauthorized = await worker.fetch("/logs/postbacks");
    assert.equal(unauthorized.status, 401);
    assert.match(unauthorized.headers.get("www-authenticate"), /^Basic/);
    assert.equal(unauthorized.headers.get("content-type"), "application/json; charset=utf-8");
  });

  // The answers that are the same every time are made from parts the
  // guard keeps per isolate (js/entry.mjs): each must stay its own, whole,
  // however they interleave with each other and with answers that differ.
  test("answers the guard keeps come whole, each for its own request, every time", async () => {
    const real = await worker.click(open.id);
    const requests = [
      ["/healthz", null],
      [`/postback?click_id=${real}&goal=nope`, "goal_not_found"],
      ["/postback?click_id=forged", "click_not_found"],
      ["/postback?goal=1", "click_id_missing"],
      [`/postback?click_id=${real}&sum=ten`, "bad_request"],
    ];
    const first = new Map();
    for (let round = 0; round < 3; round++) {
      for (const [path, code] of round === 1 ? [...requests].reverse() : requests) {
        const res = await worker.fetch(path);
        if (code === null) assert.equal(res.text, "ok");
        else if (code === "bad_request") assertBadRequest(res, "sum");
        else assertRejected(res, code);
        const seen = [res.status, res.headers.get("content-type"), res.headers.get("cache-control"), res.text];
        if (!first.has(path)) first.set(path, seen);
        assert.deepEqual(seen, first.get(path), path);
      }
    }
    assert.equal(new Set([...first.values()].map((seen) => seen[3])).size, requests.length);
  });

  test("click_id_missing, absent or empty", async () => {
    assertRejected(await worker.postback({ goal: "1" }), "click_id_missing");
    assertRejected(await worker.postback({ click_id: "" }), "click_id_missing");
    assertRejected(await worker.postback({ clickid: "" }), "click_id_missing");
  });

  test("click_not_found for forged, truncated and foreign-key click ids", async () => {
    const real = await worker.click(open.id);
    assertRejected(await worker.postback({ click_id: "forged" }), "click_not_found");
    assertRejected(await worker.postback({ click_id: real.slice(0, -1) }), "click_not_found");
    const flipped = real.slice(0, 10) + (real[10] === "A" ? "B" : "A") + real.slice(11);
    assertRejected(await worker.postback({ click_id: flipped }), "click_not_found");
    const { mintClick } = await import("./support/click.mjs");
    const otherKey = mintClick("another-key", { campaign: open.id });
    assertRejected(await worker.postback({ click_id: otherKey }), "click_not_found");
  });

  test("campaign_not_found: unknown campaign, or a click for a deleted one", async () => {
    const click = testClick({ campaign: freshId("gone") });
    assertRejected(await worker.postback({ click_id: click }), "campaign_not_found");
    const good = await worker.click(open.id);
    assertRejected(await worker.postback({ click_id: good, campaign_id: "nope" }), "campaign_not_found");
  });

  test("campaign_mismatch, also through the offer_id alias", async () => {
    const other = campaign();
    await worker.putCampaign(other);
    const click = await worker.click(open.id);
    assertRejected(await worker.postback({ click_id: click, campaign_id: other.id }), "campaign_mismatch");
    assertRejected(await worker.postback({ click_id: click, offer_id: other.id }), "campaign_mismatch");
  });

  test("secure_code_invalid: missing, wrong, or from an address not allowed", async () => {
    const secured = campaign({ secure_code: "s3cr3t" });
    await worker.putCampaign(secured);
    const click = await worker.click(secured.id);
    assertRejected(await worker.postback({ click_id: click }), "secure_code_invalid");
    assertRejected(await worker.postback({ click_id: click, secure: "S3CR3T" }), "secure_code_invalid");
    const ok = await worker.postback({ click_id: click, secure: "s3cr3t" });
    assert.equal(ok.status, 200, ok.text);

    const fenced = campaign({ allowed_ips: ["203.0.113.0/24"] });
    await worker.putCampaign(fenced);
    const fencedClick = await worker.click(fenced.id);
    const q = `/postback?click_id=${fencedClick}`;
    assertRejected(await worker.fetch(q, { headers: { "cf-connecting-ip": "198.51.100.7" } }), "secure_code_invalid");
    assertRejected(await worker.fetch(q), "secure_code_invalid");
    const inside = await worker.fetch(q, { headers: { "cf-connecting-ip": "203.0.113.7" } });
    assert.equal(inside.status, 200, inside.text);
  });

  test("campaign_not_active for paused and disabled campaigns", async () => {
    for (const status of ["paused", "disabled"]) {
      const c = campaign({ status });
      await worker.putCampaign(c);
      const click = testClick({ campaign: c.id });
      assertRejected(await worker.postback({ click_id: click }), "campaign_not_active");
    }
  });

  test("campaign_privacy_error for an unapproved partner of a private or premoderated campaign", async () => {
    for (const privacy of ["private", "premoderation"]) {
      const c = campaign({ privacy, approved_partners: ["77"] });
      await worker.putCampaign(c);
      assertRejected(await worker.postback({ click_id: testClick({ campaign: c.id, partner: "5" }) }), "campaign_privacy_error");
      const approved = await worker.postback({ click_id: testClick({ campaign: c.id, partner: "77" }) });
      assert.equal(approved.status, 200, approved.text);
    }
  });

  test("goal_not_found; goals match without case", async () => {
    const click = await worker.click(open.id);
    assertRejected(await worker.postback({ click_id: click, goal: "refund" }), "goal_not_found");
    const ok = await worker.postback({ click_id: click, goal: "PURCHASE", sum: "10" });
    assert.equal(ok.status, 200, ok.text);
    const noDefault = campaign({ default_goal: undefined });
    await worker.putCampaign(noDefault);
    assertRejected(await worker.postback({ click_id: await worker.click(noDefault.id) }), "goal_not_found");
  });

  test("the first failing check is the one reported", async () => {
    const everythingWrong = campaign({ status: "paused", privacy: "private", secure_code: "x", default_goal: undefined });
    await worker.putCampaign(everythingWrong);
    const stranger = testClick({ campaign: everythingWrong.id, partner: "5" });
    assertRejected(await worker.postback({ click_id: stranger, goal: "zz" }), "secure_code_invalid");
    assertRejected(await worker.postback({ click_id: stranger, goal: "zz", secure: "x" }), "campaign_not_active");
  });

  test("the three request forms and the aliases are one postback", async () => {
    const forms = [
      (click) => worker.postback({ clickid: click, offer_id: open.id, goal: "purchase", sale_amount: "20.00" }),
      (click) =>
        worker.fetch("/postback", {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ clickid: click, goal: "purchase", sale_amount: "20.00" }).toString(),
        }),
      (click) =>
        worker.fetch("/postback", {
          method: "POST",
          headers: { "content-type": "application/json; charset=utf-8" },
          body: JSON.stringify({ clickid: click, goal: "purchase", sale_amount: 20.0, status: 2 }),
        }),
      (click) =>
        worker.fetch(`/postback?click_id=${click}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ goal: "purchase" }),
        }),
    ];
    for (const send of forms) {
      const click = await worker.click(open.id);
      const res = await send(click);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.status, "accepted");
      assert.equal(res.json.conversion_status, "pending");
      assert.match(res.json.conversion_id, /^cv_[A-Za-z0-9_-]{1,12}_[A-Za-z0-9_-]{16}$/);
    }
  });

  test("bad input of every kind is 400 bad_request naming the parameter", async () => {
    const click = await worker.click(open.id);
    assertBadRequest(await worker.fetch(`/postback?click_id=${click}&sum=%zz`), "sum");
    assertBadRequest(await worker.fetch(`/postback?click_id=${click}&comment=%FF`), "comment");
    assertBadRequest(await worker.postback({ click_id: click, sum: "12,50" }), "sum");
    assertBadRequest(await worker.postback({ click_id: click, sale_amount: "abc" }), "sale_amount");
    assertBadRequest(await worker.postback({ click_id: click, status: "maybe" }), "status");
    assertBadRequest(await worker.postback({ click_id: click, currency: "dollars" }), "currency");
    assertBadRequest(await worker.fetch(`/postback?click_id=${click}&goal=1&goal=2`), "goal");
    assertBadRequest(await worker.fetch(`/postback?click_id=${click}&clickid=other`), "click_id");
    assertBadRequest(await worker.fetch(`/postback?click_id=${click}&note=${"a".repeat(8200)}`), "query");
    const post = (contentType, body) =>
      worker.fetch("/postback", { method: "POST", headers: { "content-type": contentType }, body });
    assertBadRequest(await post("application/x-www-form-urlencoded", `click_id=${click}&note=${"a".repeat(66000)}`), "body");
    assertBadRequest(await post("application/json", "[1,2,3]"), "body");
    assertBadRequest(await post("application/json", '"click"'), "body");
    assertBadRequest(await post("application/json", "{not json"), "body");
    assertBadRequest(await post("application/json", JSON.stringify({ click_id: click, goal: ["1"] })), "goal");
    assertBadRequest(await post("text/plain", `click_id=${click}`), "Content-Type");
    // Bad input is refused before the catalog checks: nothing was counted.
    const ok = await worker.postback({ click_id: click });
    assert.equal(ok.status, 200, ok.text);
  });

  test("unknown parameters are kept, never an error", async () => {
    const res = await worker.postback({ click_id: await worker.click(open.id), utm_source: "x", whatever: "" });
    assert.equal(res.status, 200, res.text);
  });

  test("a campaign config broken in KV is internal_error, not not-found", async () => {
    const id = freshId("broken");
    const kv = await worker.mf.getKVNamespace("CAMPAIGNS");
    await kv.put(`campaign:${id}`, "{ this is not a config");
    assertRejected(await worker.postback({ click_id: testClick({ campaign: id }) }), "internal_error");
  });

  test("junk never panics the isolate", async () => {
    const click = await worker.click(open.id);
    const junk = [
      "/postback?%",
      "/postback?%%%%",
      "/postback?=",
      "/postback?&&&=&=",
      "/postback?click_id=%00%01%02",
      "/postback?click_id=" + "%F0%9F%92%A5".repeat(50),
      "/postback?click_id=" + "A".repeat(5000),
      "/postback?click_id=" + click + "&sum=" + "9".repeat(100),
      "/postback?click_id=" + click + "&sum=-0",
      "/postback?click_id=" + click + "&sum=0.0000001",
      "/postback?click_id=" + click + "&status=%00",
      "/postback?click_id=" + click + "&campaign_id=" + "x".repeat(300),
      "/postback?click_id=" + click + "&goal=" + "%E2%80%AE".repeat(100),
      "/postback?click_id=" + click + "&action_id=" + "a".repeat(200),
      "/postback?" + Array.from({ length: 150 }, (_, i) => `p${i}=1`).join("&"),
      "/postback?" + "n".repeat(100) + "=1",
      "/postback/check?click_id=" + click + "&status=6",
      "/click?campaign_id=%zz&partner_id=1",
      "/click?campaign_id=" + open.id + "&partner_id=" + "p".repeat(40),
      "/click",
      "/v1/campaigns/" + "%2F".repeat(10),
      "/../../etc/passwd",
      "/postback/check/extra",
    ];
    for (const path of junk) {
      const res = await worker.fetch(path);
      assert.ok(res.status < 500, `${path.slice(0, 80)} answered ${res.status} ${res.text.slice(0, 200)}`);
      if (path.startsWith("/postback?") || path.startsWith("/postback/check?")) {
        assert.ok(res.json?.error?.code, `${path.slice(0, 80)}: ${res.text.slice(0, 200)}`);
      }
    }
    const bodies = [
      ["application/json", "\u0000\u0001"],
      ["application/json", "{\"click_id\": {\"$gt\": \"\"}}"],
      ["application/json", "[" .repeat(10000)],
      ["application/json", "{\"sum\": 1e400}"],
      ["application/json", "{\"a\":" + "1".repeat(70000) + "}"],
      ["application/x-www-form-urlencoded", "%"],
      ["application/x-www-form-urlencoded", "click_id"],
      ["multipart/form-data; boundary=x", "--x\r\n"],
      ["", "click_id=1"],
    ];
    for (const [type, body] of bodies) {
      const headers = type ? { "content-type": type } : {};
      const res = await worker.fetch("/postback", { method: "POST", headers, body });
      assert.ok(res.status >= 400 && res.status < 500, `${type} ${body.slice(0, 40)} answered ${res.status} ${res.text}`);
    }
    for (const method of ["PUT", "DELETE", "PATCH", "OPTIONS"]) {
      const res = await worker.fetch("/postback", { method });
      assert.equal(res.status, 405);
    }
    // The isolate still works: a real postback after all that is accepted.
    const after = await worker.postback({ click_id: await worker.click(open.id) });
    assert.equal(after.status, 200, after.text);
  });
});

describe("without a signing key", () => {
  test("postbacks are internal_error, not a panic", async () => {
    const worker = await startWorker({ bindings: { CLICK_SIGNING_KEY: "" } });
    try {
      assertRejected(await worker.postback({ click_id: "anything" }), "internal_error");
      assert.equal((await worker.fetch("/healthz")).status, 200);
    } finally {
      await worker.dispose();
    }
  });
});
