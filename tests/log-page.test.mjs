// The log page in a real headless browser (Debian's chromium), script off:
// entries, counts and the chart render, filters narrow, <details> opens. A
// screenshot is saved in tests/output/ for a reviewer.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { ADMIN_TOKEN, startWorker } from "./support/worker.mjs";
import { holdToContract } from "./support/openapi.mjs";
import { campaign } from "./support/campaigns.mjs";
import { eventually } from "./support/wait.mjs";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const OUTPUT = join(import.meta.dirname, "output");

describe("log page in a browser", () => {
  let worker;
  let browser;
  let context;
  let click;
  let otherClick;
  // What the browser receives, held to docs/openapi.json as every answer of
  // tests/support/worker.mjs is (checked by the last test).
  const received = [];
  const misfits = [];
  before(async () => {
    worker = await startWorker({ listen: true });
    const c = campaign();
    await worker.putCampaign(c);
    click = await worker.click(c.id);
    otherClick = await worker.click(c.id, "81");
    await worker.postback({ click_id: click }); // accepted
    await worker.postback({ click_id: click }); // status_same
    await worker.postback({ click_id: click, goal: "<b>nope</b>" }); // goal_not_found
    await worker.postback({ click_id: "forged" }); // click_not_found
    await worker.postback({ click_id: otherClick }); // accepted, another click
    await eventually(async () => (await worker.admin("/v1/logs/postbacks")).json.entries.length >= 5, { what: "five entries" });
    // Playwright starts it headless with a fresh profile of its own.
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
      ],
    });
    // HTTP Basic with the token as password, as an operator's browser sends it.
    context = await browser.newContext({ httpCredentials: { username: "operator", password: ADMIN_TOKEN }, javaScriptEnabled: false });
    context.on("response", (response) => {
      const held = response.text().then((text) => {
        const answer = { method: response.request().method(), url: response.url(), status: response.status(), headers: new Headers(response.headers()), text };
        try {
          holdToContract(answer);
        } catch (error) {
          misfits.push(error.message);
        }
      });
      received.push(held.catch(() => {}));
    });
  });
  after(async () => {
    await browser?.close();
    await worker?.dispose();
  });

  test("renders entries with message, reason and fix, and counts per result", async () => {
    const page = await context.newPage();
    const res = await page.goto(new URL("/logs/postbacks", worker.url).href);
    assert.equal(res.status(), 200);
    assert.equal(await page.title(), "Postbacks log");
    const rows = page.locator("#entries tr.entry");
    assert.equal(await rows.count(), 5);
    const text = await page.locator("#entries").innerText();
    assert.match(text, /Goal not found in campaign/);
    assert.match(text, /Click not found/);
    assert.match(text, /Conversion status is the same as received/);
    assert.match(text, /<b>nope<\/b>/, "postback values are shown as text, not markup");
    const counts = await page.locator("#counts").innerText();
    for (const [code, n] of [["accepted", 2], ["status_same", 1], ["goal_not_found", 1], ["click_not_found", 1]]) {
      assert.match(counts, new RegExp(`${code}\\s+${n}`), counts);
    }
  });

  test("the chart is drawn from the counts, one bar per hour", async () => {
    const page = await context.newPage();
    await page.goto(new URL("/logs/postbacks", worker.url).href);
    assert.ok(await page.locator("#chart").isVisible());
    const bars = await page.locator("#chart g.bar").evaluateAll((gs) =>
      gs.map((g) => ({ accepted: Number(g.dataset.accepted), rejected: Number(g.dataset.rejected), heights: [...g.querySelectorAll("rect")].map((r) => Number(r.getAttribute("height"))) })),
    );
    assert.ok(bars.length >= 1);
    const counts = await page.locator("#counts a").evaluateAll((as) => as.map((a) => [a.dataset.code, Number(a.querySelector("b").textContent)]));
    const accepted = counts.filter(([code]) => code === "accepted").reduce((n, [, c]) => n + c, 0);
    const rejected = counts.filter(([code]) => code !== "accepted").reduce((n, [, c]) => n + c, 0);
    assert.equal(bars.reduce((n, b) => n + b.accepted, 0), accepted);
    assert.equal(bars.reduce((n, b) => n + b.rejected, 0), rejected);
    // The tallest stack reaches the top; heights follow the numbers.
    const tallest = bars.reduce((a, b) => (a.accepted + a.rejected >= b.accepted + b.rejected ? a : b));
    assert.equal(tallest.heights[0] + tallest.heights[1], 120);
    assert.equal(tallest.heights[0] > 0, tallest.accepted > 0);
  });

  test("a rejection's reason, fix and detail open from <details>, without script", async () => {
    const page = await context.newPage();
    await page.goto(new URL("/logs/postbacks?code=goal_not_found", worker.url).href);
    const details = page.locator("#entries details").first();
    assert.equal(await details.getAttribute("open"), null);
    assert.ok(!(await page.locator("#entries").innerText()).includes("Why: "), "folded at first");
    await details.locator("summary").click();
    assert.notEqual(await details.getAttribute("open"), null);
    const opened = await details.innerText();
    assert.match(opened, /Why: /);
    assert.match(opened, /Fix: /);
    assert.match(opened, /"goals":\["1","purchase"\]/);
    mkdirSync(OUTPUT, { recursive: true });
    await page.goto(new URL("/logs/postbacks", worker.url).href);
    await page.locator("#entries details").first().locator("summary").click();
    await page.screenshot({ path: join(OUTPUT, "postbacks-log.png"), fullPage: true });
  });

  test("a click id in the form narrows the table to that click", async () => {
    const page = await context.newPage();
    await page.goto(new URL("/logs/postbacks", worker.url).href);
    await page.fill("input[name=click_id]", otherClick);
    await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
    assert.match(page.url(), /click_id=/);
    const clicks = await page.locator("#entries tr.entry td:nth-child(3)").allInnerTexts();
    assert.deepEqual(clicks, [otherClick]);
    assert.equal(await page.locator("input[name=click_id]").inputValue(), otherClick, "the form keeps the filter");
  });

  test("a bad filter is answered as a page naming it", async () => {
    const page = await context.newPage();
    const res = await page.goto(new URL("/logs/postbacks?colour=red", worker.url).href);
    assert.equal(res.status(), 400);
    assert.match(await page.locator("#error").innerText(), /colour/);
  });

  test("choosing a code and submitting the form narrows the entries", async () => {
    const page = await context.newPage();
    await page.goto(new URL("/logs/postbacks", worker.url).href);
    await page.selectOption("select[name=code]", "goal_not_found");
    await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
    assert.match(page.url(), /code=goal_not_found/);
    const rows = page.locator("#entries tr.entry");
    assert.equal(await rows.count(), 1);
    assert.equal(await rows.first().getAttribute("data-code"), "goal_not_found");
    // Clicking a count is a filter too.
    await Promise.all([page.waitForNavigation(), page.click("#counts a:text('click_not_found')")]);
    assert.equal(await page.locator("#entries tr.entry").count(), 1);
    assert.equal(await page.locator("#entries tr.entry").first().getAttribute("data-code"), "click_not_found");
  });

  test("every answer the browser received fits docs/openapi.json", async () => {
    await Promise.all(received);
    assert.ok(received.length >= 8, `${received.length} answers`);
    assert.deepEqual(misfits, []);
  });

  test("without credentials the browser is asked for them", async () => {
    const anonymous = await browser.newContext();
    const page = await anonymous.newPage();
    // Headless, the browser cannot show the Basic prompt: a challenge it has
    // no credentials for is this navigation error.
    await assert.rejects(page.goto(new URL("/logs/postbacks", worker.url).href), /ERR_INVALID_AUTH_CREDENTIALS/);
    await anonymous.close();
  });
});
