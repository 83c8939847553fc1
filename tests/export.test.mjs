// format=csv and format=ndjson: every page of the filtered entries, streamed,
// with a file name, in forms a spreadsheet and a script read.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startWorker } from "./support/worker.mjs";
import { campaign } from "./support/campaigns.mjs";
import { eventually } from "./support/wait.mjs";

// More than one export page (500 entries).
const REFUSED = 520;

/** RFC 4180 rows (quoted cells may hold commas, quotes and line breaks). */
function parseCsv(text) {
  const rows = [[""]];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    const row = rows[rows.length - 1];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') (row[row.length - 1] += '"'), i++;
      else if (ch === '"') quoted = false;
      else row[row.length - 1] += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") row.push("");
    else if (ch === "\r" && text[i + 1] === "\n") (rows.push([""]), i++);
    else row[row.length - 1] += ch;
  }
  if (rows.at(-1).length === 1 && rows.at(-1)[0] === "") rows.pop();
  return rows;
}

describe("log export", () => {
  let worker;
  let c;
  before(async () => {
    worker = await startWorker();
    c = campaign();
    await worker.putCampaign(c);
    const click = await worker.click(c.id);
    assert.equal((await worker.postback({ click_id: click, comment: 'say "hi", then\nbye' })).status, 200);
    for (let i = 0; i < REFUSED; i += 40) {
      await Promise.all(
        Array.from({ length: Math.min(40, REFUSED - i) }, (_, j) => worker.postback({ click_id: click, goal: `nope-${i + j}` })),
      );
    }
    await eventually(
      async () => (await worker.admin(`/v1/logs/postbacks?campaign_id=${c.id}`)).json.counts.goal_not_found === REFUSED,
      { what: "every refusal logged" },
    );
  });
  after(() => worker.dispose());

  test("CSV: a header row, then every entry of every page", async () => {
    const res = await worker.admin(`/v1/logs/postbacks?campaign_id=${c.id}&format=csv`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type"), /^text\/csv/);
    assert.match(res.headers.get("content-disposition"), new RegExp(`^attachment; filename="postbacks-${c.id}-\\d{8}T\\d{6}Z\\.csv"$`));
    const [head, ...rows] = parseCsv(res.text);
    assert.equal(head[0], "id");
    assert.ok(head.includes("code") && head.includes("fix") && head.includes("params"));
    assert.equal(rows.length, REFUSED + 1);
    assert.ok(rows.every((r) => r.length === head.length));
    const at = (name) => head.indexOf(name);
    const ids = rows.map((r) => r[at("id")]);
    assert.equal(new Set(ids).size, ids.length, "no entry twice across pages");
    assert.deepEqual([...ids].sort().reverse(), ids, "newest first");
    const accepted = rows.find((r) => r[at("result")] === "accepted");
    assert.equal(JSON.parse(accepted[at("params")]).comment, 'say "hi", then\nbye');
    const refused = rows.filter((r) => r[at("code")] === "goal_not_found");
    assert.equal(refused.length, REFUSED);
    assert.equal(refused[0][at("message")], "Goal not found in campaign");
    assert.deepEqual(JSON.parse(refused[0][at("detail")]).goals, ["1", "purchase"]);
  });

  test("NDJSON: one entry a line, as the JSON API shows it; filters hold", async () => {
    const res = await worker.admin(`/v1/logs/postbacks?campaign_id=${c.id}&code=goal_not_found&format=ndjson`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-disposition"), /\.ndjson"$/);
    const lines = res.text.split("\n");
    assert.equal(lines.pop(), "", "every line ends");
    const entries = lines.map((l) => JSON.parse(l));
    assert.equal(entries.length, REFUSED);
    assert.ok(entries.every((e) => e.code === "goal_not_found" && e.campaign_id === c.id && e.fix));
    const page = await worker.admin(`/v1/logs/postbacks?campaign_id=${c.id}&code=goal_not_found&limit=3`);
    assert.deepEqual(entries.slice(0, 3), page.json.entries);
  });

  test("an unknown format is 400 naming it", async () => {
    const res = await worker.admin(`/v1/logs/postbacks?format=xlsx`);
    assert.equal(res.status, 400);
    assert.equal(res.json.error.detail.parameter, "format");
  });
});
