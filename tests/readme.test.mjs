// The README's "Try it" block, run as it stands against the worker with the
// example campaigns, each `show` checked against its comment: the status,
// and the word after it (a code, `accepted`, or a key of the answer).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { readFileSync } from "node:fs";
import { ADMIN_TOKEN, CLICK_SIGNING_KEY, ORIGIN_SECRET, startWorker } from "./support/worker.mjs";
import { startOrigin } from "../scripts/origin.mjs";

/** The shell block under "## Try it". */
function tryItBlock() {
  const readme = readFileSync("README.md", "utf8");
  const section = readme.split("\n## Try it\n")[1].split("\n## ")[0];
  return section.split("```sh\n")[1].split("\n```")[0];
}

/** What each `show` line promises, in order: [status, word], repeated ×N. */
function promises(block) {
  const expected = [];
  for (const line of block.split("\n")) {
    if (!/\bshow\b/.test(line) || line.startsWith("show()")) continue;
    const comment = line.match(/#\s*(\d{3})\s+(\w+)(?:\s*×(\d+))?\s*$/);
    assert.ok(comment, `a show line without its promise: ${line}`);
    for (let i = 0; i < Number(comment[3] ?? 1); i++) expected.push([comment[1], comment[2]]);
  }
  return expected;
}

test("every command of the README's Try it answers as its comment says", { timeout: 120_000 }, async () => {
  const block = tryItBlock();
  const expected = promises(block);
  assert.ok(expected.length >= 25, `only ${expected.length} checked commands`);
  const origin = await startOrigin({ secret: ORIGIN_SECRET, quiet: true });
  const worker = await startWorker({ listen: true, bindings: { ORIGIN_URL: origin.url } });
  try {
    for (const c of JSON.parse(readFileSync("examples/campaigns.json", "utf8"))) await worker.putCampaign(c);
    // Run without blocking this process: Miniflare's queue runs in it, and
    // the block reads the log the queue writes.
    const { stdout: output } = await promisify(execFile)("bash", ["-c", `set -eu\n${block}`], {
      encoding: "utf8",
      env: { ...process.env, PE: String(worker.url).replace(/\/$/, ""), TOKEN: ADMIN_TOKEN, CLICK_SIGNING_KEY },
    });
    const answers = output.split(/\n→ (\d{3})\n/);
    const got = [];
    for (let i = 1; i < answers.length; i += 2) got.push([answers[i], answers[i - 1]]);
    assert.equal(got.length, expected.length, `answers:\n${output}`);
    expected.forEach(([status, word], i) => {
      const [gotStatus, body] = got[i];
      assert.equal(gotStatus, status, `command ${i + 1} (${word}): ${body}`);
      assert.ok(body.includes(`"${word}"`), `command ${i + 1}: "${word}" not in ${body}`);
    });
  } finally {
    await worker.dispose();
    await origin.close();
  }
});
