// Postbacks written as other trackers' documentation shows them (SPEC §4
// "Other trackers' names"): each is accepted with its status and its
// revenue's payout, its own conversion id dedupes, two names of one
// parameter with different values are refused naming both, and
// PARAM_ALIASES adds a deployment's names — or, unreadable, stops every
// postback with a console line.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startWorker } from "./support/worker.mjs";
import { campaign } from "./support/campaigns.mjs";
import { eventually } from "./support/wait.mjs";

/** A campaign that pays 10% of the revenue on every goal, so the revenue's name matters. */
function percentCampaign() {
  return campaign({
    goals: [{ id: "1", name: "install" }, { id: "purchase" }, { id: "2", name: "deposit" }],
    payouts: [
      { goal: "1", percent: "10" },
      { goal: "purchase", percent: "10" },
      { goal: "2", percent: "10" },
    ],
  });
}

const FORM = { "content-type": "application/x-www-form-urlencoded" };
const JSON_BODY = { "content-type": "application/json" };

function assertAccepted(res, status) {
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.status, "accepted", res.text);
  assert.equal(res.json.conversion_status, status, res.text);
  return res.json.conversion_id;
}

/** A repeat of a conversion: refused with `code`, naming that conversion. */
function assertSameConversion(res, code, conversionId) {
  assert.equal(res.status, 409, res.text);
  assert.equal(res.json.error.code, code, res.text);
  assert.equal(res.json.error.detail.conversion_id, conversionId, res.text);
}

function assertBadRequest(res, parameter, other) {
  assert.equal(res.status, 400, res.text);
  assert.equal(res.json.error.code, "bad_request", res.text);
  assert.equal(res.json.error.parameter, parameter, res.text);
  assert.equal(res.json.error.detail.parameter, parameter, res.text);
  assert.ok(res.json.error.message.includes(`\`${parameter}\``), res.json.error.message);
  if (other) {
    assert.ok(res.json.error.message.includes(`\`${other}\``), res.json.error.message);
    assert.ok(res.json.error.detail.problem.includes(`\`${other}\``), res.json.error.detail.problem);
  }
}

describe("other trackers' postbacks", () => {
  let worker;
  let c;
  before(async () => {
    worker = await startWorker();
    c = percentCampaign();
    await worker.putCampaign(c);
  });
  after(() => worker.dispose());

  /** The conversion as its object keeps it. */
  async function conversion(id) {
    const res = await worker.admin(`/v1/conversions/${id}`);
    assert.equal(res.status, 200, res.text);
    return res.json.conversion;
  }

  const get = (query) => worker.fetch(`/postback?${query}`);

  test("HasOffers/TUNE: offer_id, transaction_id, amount, adv_sub (GET)", async () => {
    const click = await worker.click(c.id);
    // support.tune.com: /aff_lsr?offer_id=26&transaction_id=TRANSACTION_ID, with amount and adv_sub.
    const query = `offer_id=${c.id}&transaction_id=${click}&amount=49.90&adv_sub=TUNE-ORDER-1&adv_sub2=sku-7`;
    const id = assertAccepted(await get(query), "pending");
    const kept = await conversion(id);
    assert.equal(kept.payout, "4.99", "10% of amount");
    assert.equal(kept.action_id, "TUNE-ORDER-1");
    assert.equal(kept.fields.custom_field2, "sku-7");
    assert.equal(kept.fields.transaction_id, undefined, "the click id, not a kept field");
    // TUNE's conversion_unique_id is the same identity.
    assertSameConversion(await get(`transaction_id=${click}&conversion_unique_id=TUNE-ORDER-1`), "status_same", id);
    assertSameConversion(await get(query), "status_same", id);
  });

  test("Everflow: nid, transaction_id, amount, event_id, order_id, adv1 (form POST)", async () => {
    const click = await worker.click(c.id);
    const body = `nid=42&transaction_id=${click}&amount=120&event_id=2&order_id=EF-7&adv1=placement-a`;
    const id = assertAccepted(await worker.fetch("/postback", { method: "POST", headers: FORM, body }), "pending");
    const kept = await conversion(id);
    assert.equal(kept.goal, "2");
    assert.equal(kept.payout, "12");
    assert.equal(kept.action_id, "EF-7");
    assert.equal(kept.fields.custom_field1, "placement-a");
    const again = await worker.fetch("/postback", { method: "POST", headers: FORM, body });
    assertSameConversion(again, "status_same", id);
  });

  test("Voluum: cid, payout, txid, currency, et, param1 (GET)", async () => {
    const click = await worker.click(c.id);
    // doc.voluum.com: /postback?cid={}&payout={}&txid={}&currency={}&et={}&param1={}
    const query = `cid=${click}&payout=2.50&txid=V-100&currency=EUR&et=purchase&param1=banner-3`;
    const id = assertAccepted(await get(query), "pending");
    const kept = await conversion(id);
    assert.equal(kept.goal, "purchase");
    assert.equal(kept.payout, "0.25");
    assert.equal(kept.currency, "EUR");
    assert.equal(kept.action_id, "V-100");
    assert.equal(kept.fields.custom_field1, "banner-3");
    assertSameConversion(await get(query), "status_same", id);
  });

  test("Keitaro: subid, status lead then sale, payout, tid, currency, sub_id_1 (GET)", async () => {
    const click = await worker.click(c.id);
    // docs.keitaro.io: /postback?subid=…&status=lead&payout=10&currency=EUR, tid for the transaction.
    const lead = `subid=${click}&status=lead&payout=30&tid=K-1&currency=usd&sub_id_1=camp-9`;
    const id = assertAccepted(await get(lead), "pending");
    const kept = await conversion(id);
    assert.equal(kept.payout, "3");
    assert.equal(kept.currency, "USD");
    assert.equal(kept.fields.custom_field1, "camp-9");
    assert.equal(assertAccepted(await get(`subid=${click}&status=sale&payout=30&tid=K-1`), "approved"), id);
    assertSameConversion(await get(`subid=${click}&status=sale&tid=K-1`), "status_same", id);
    assertSameConversion(await get(`subid=${click}&status=rejected&tid=K-1`), "status_confirmed", id);
    // A rebill is a further sale: a new tid, a conversion of its own.
    const rebill = assertAccepted(await get(`subid=${click}&status=rebill&payout=30&tid=K-2`), "approved");
    assert.notEqual(rebill, id);
  });

  test("Binom: cnv_id, payout, cnv_status, cnv_currency (GET)", async () => {
    const click = await worker.click(c.id);
    // docs.binom.org: /click.php?cnv_id={clickid}&payout={payout}&cnv_status={status}
    const query = `cnv_id=${click}&payout=7.5&cnv_status=approve&cnv_currency=EUR`;
    const id = assertAccepted(await get(query), "approved");
    const kept = await conversion(id);
    assert.equal(kept.payout, "0.75");
    assert.equal(kept.currency, "EUR");
    // Binom sends no conversion id of the advertiser's: the click is the identity.
    assertSameConversion(await get(query), "status_same", id);
    assertSameConversion(await get(`cnv_id=${click}&cnv_status=reject`), "status_confirmed", id);
    // A free-text status Binom allows but we cannot read is refused, named as sent.
    const hold = await worker.click(c.id);
    assertAccepted(await get(`cnv_id=${hold}&payout=1&cnv_status=Hold`), "hold");
    assertBadRequest(await get(`cnv_id=${await worker.click(c.id)}&cnv_status=signup`), "cnv_status");
  });

  test("RedTrack: clickid, sum, type, status, rdtk_event_id (JSON POST)", async () => {
    const click = await worker.click(c.id);
    const body = JSON.stringify({ clickid: click, sum: 80, type: "Purchase", status: "Approved", rdtk_event_id: "RT-5" });
    const id = assertAccepted(await worker.fetch("/postback", { method: "POST", headers: JSON_BODY, body }), "approved");
    const kept = await conversion(id);
    assert.equal(kept.payout, "8");
    assert.equal(kept.goal, "purchase", "goals match without regard to case");
    assert.equal(kept.action_id, "RT-5");
    const again = await worker.fetch("/postback", { method: "POST", headers: JSON_BODY, body });
    assertSameConversion(again, "status_same", id);
  });

  test("the dry run reads them too", async () => {
    const click = await worker.click(c.id);
    const res = await worker.fetch(`/postback/check?subid=${click}&status=sale&payout=5&tid=dry-1`);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.dry_run, true);
    assert.equal(res.json.conversion_status, "approved");
  });

  test("two names of one parameter with different values are refused naming both", async () => {
    const click = await worker.click(c.id);
    assertBadRequest(await get(`click_id=${click}&transaction_id=other`), "click_id", "transaction_id");
    assertBadRequest(await get(`transaction_id=other&click_id=${click}`), "transaction_id", "click_id");
    assertBadRequest(await get(`cid=${click}&subid=other`), "cid", "subid");
    assertBadRequest(await get(`click_id=${click}&amount=10&payout=2`), "amount", "payout");
    assertBadRequest(await get(`click_id=${click}&txid=a&tid=b`), "txid", "tid");
    const body = JSON.stringify({ order_id: "b" });
    const mixed = await worker.fetch(`/postback?click_id=${click}&adv_sub=a`, { method: "POST", headers: JSON_BODY, body });
    assertBadRequest(mixed, "adv_sub", "order_id");
    // The same value under two names is one parameter.
    const id = assertAccepted(await get(`click_id=${click}&transaction_id=${click}&sum=10&amount=10`), "pending");
    assert.equal((await conversion(id)).payout, "1");
  });

  test("a value that cannot be read is refused under the name it was sent by", async () => {
    const click = await worker.click(c.id);
    assertBadRequest(await get(`transaction_id=${click}&amount=abc`), "amount");
    assertBadRequest(await get(`cid=${click}&payout=-2`), "payout");
    assertBadRequest(await get(`cnv_id=${click}&cnv_currency=euro`), "cnv_currency");
    assertBadRequest(await get(`subid=${click}&status=other`), "status");
  });
});

describe("PARAM_ALIASES", () => {
  test("adds a deployment's own names beside the trackers'", async () => {
    const worker = await startWorker({ bindings: { PARAM_ALIASES: "clickref=click_id, order=action_id\nrev=sum" } });
    try {
      const c = percentCampaign();
      await worker.putCampaign(c);
      const click = await worker.click(c.id);
      const query = `clickref=${click}&order=OWN-1&rev=40`;
      const id = assertAccepted(await worker.fetch(`/postback?${query}`), "pending");
      const kept = (await worker.admin(`/v1/conversions/${id}`)).json.conversion;
      assert.equal(kept.action_id, "OWN-1");
      assert.equal(kept.payout, "4");
      assertSameConversion(await worker.fetch(`/postback?${query}`), "status_same", id);
      // The trackers' names still hold, and so does the rule for two names.
      assertSameConversion(await worker.fetch(`/postback?subid=${click}&tid=OWN-1`), "status_same", id);
      assertBadRequest(await worker.fetch(`/postback?click_id=${click}&clickref=other`), "click_id", "clickref");
    } finally {
      await worker.dispose();
    }
  });

  test("a pair that breaks a rule stops every postback, and says why on the console", async () => {
    const printed = [];
    const worker = await startWorker({ bindings: { PARAM_ALIASES: "clickref=click_id token=secure" }, console: printed });
    try {
      const c = percentCampaign();
      await worker.putCampaign(c);
      const click = await worker.click(c.id);
      for (const path of [`/postback?click_id=${click}`, `/postback/check?clickref=${click}`]) {
        const res = await worker.fetch(path);
        assert.equal(res.status, 503, res.text);
        assert.equal(res.json.error.code, "internal_error");
        assert.equal(res.json.error.message, "Internal error. Please address to support");
      }
      const post = await worker.fetch("/postback", { method: "POST", headers: JSON_BODY, body: JSON.stringify({ click_id: click }) });
      assert.equal(post.status, 503, post.text);
      await eventually(() => printed.join("").includes("PARAM_ALIASES: the pair `token=secure`"), { what: "the console line" });
      const line = printed.join("").split("\n").find((l) => l.includes("PARAM_ALIASES"));
      assert.match(line, /names `secure`, which takes no other name/);
      assert.match(line, /every postback answers internal_error until it is fixed/);
      // Clicks do not read it.
      assert.equal((await worker.fetch(`/click?campaign_id=${c.id}&partner_id=77`)).status, 302);
    } finally {
      await worker.dispose();
    }
  });

  test("a name that already means something else is refused, never ignored", async () => {
    const printed = [];
    const worker = await startWorker({ bindings: { PARAM_ALIASES: "payout=custom_field1" }, console: printed });
    try {
      const res = await worker.fetch("/postback?click_id=x");
      assert.equal(res.status, 503, res.text);
      assert.equal(res.json.error.code, "internal_error");
      await eventually(() => printed.join("").includes("renames `payout`, which already means `sum`"), { what: "the console line" });
    } finally {
      await worker.dispose();
    }
  });
});
