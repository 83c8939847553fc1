// The log page in a real headless browser (Debian's chromium): it renders
// entries and counts without script, and a filter narrows them.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { ADMIN_TOKEN, startWorker } from "./support/worker.mjs";
import { campaign } from "./support/campaigns.mjs";
import { eventually } from "./support/wait.mjs";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

describe("log page in a browser", () => {
  let worker;
  let browser;
  let context;
  before(async () => {
    worker = await startWorker({ listen: true });
    const c = campaign();
    await worker.putCampaign(c);
    const click = await worker.click(c.id);
    await worker.postback({ click_id: click }); // accepted
    await worker.postback({ click_id: click }); // status_same
    await worker.postback({ click_id: click, goal: "<b>nope</b>" }); // goal_not_found
    await worker.postback({ click_id: "forged" }); // click_not_found
    await eventually(async () => (await worker.admin("/v1/logs/postbacks")).json.entries.length >= 4, { what: "four entries" });
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
    assert.equal(await rows.count(), 4);
    const text = await page.locator("#entries").innerText();
    assert.match(text, /Goal not found in campaign/);
    assert.match(text, /Click not found/);
    assert.match(text, /Conversion status is the same as received/);
    assert.match(text, /Why: /);
    assert.match(text, /Fix: /);
    assert.match(text, /<b>nope<\/b>/, "postback values are shown as text, not markup");
    const counts = await page.locator("#counts").innerText();
    for (const code of ["accepted", "status_same", "goal_not_found", "click_not_found"]) {
      assert.match(counts, new RegExp(`${code}\\s+1`), counts);
    }
    await page.screenshot({ path: join(tmpdir(), "postbacks-log.png"), fullPage: true });
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

  test("without credentials the browser is asked for them", async () => {
    const anonymous = await browser.newContext();
    const page = await anonymous.newPage();
    // Headless, the browser cannot show the Basic prompt: a challenge it has
    // no credentials for is this navigation error.
    await assert.rejects(page.goto(new URL("/logs/postbacks", worker.url).href), /ERR_INVALID_AUTH_CREDENTIALS/);
    await anonymous.close();
  });
});
