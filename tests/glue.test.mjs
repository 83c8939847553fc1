// What js/entry.mjs takes from worker-build's output, checked against the
// build itself: if a worker-build upgrade changes its glue, this fails
// before anything else does.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Miniflare } from "miniflare";
import { WORKER_SCRIPT } from "./support/worker.mjs";

test("worker-build's output exports what the entry uses", async () => {
  const mf = new Miniflare({ ...WORKER_SCRIPT, scriptPath: "tests/support/glue-probe.mjs", cf: false });
  try {
    const found = await (await mf.dispatchFetch("http://localhost/")).json();
    assert.equal(found.defaultExportIsAClass, true, "the default export is the entrypoint class");
    assert.equal(found.fetch, true, "its instances have fetch");
    assert.equal(found.queue, true, "and queue");
    assert.equal(found.crashAnswer, true, "and our crashAnswer export");
    assert.deepEqual(found.health, [200, "ok"]);
    assert.equal(found.crashStatus, 500);
    assert.equal(found.crashContentType, "application/json; charset=utf-8");
    assert.equal(JSON.parse(found.crashBody).error.code, "internal_error");
    // Every method the entry's object classes forward exists on the Rust
    // classes worker-build exports.
    for (const object of [found.campaignObject, found.unattributedLog]) {
      assert.ok(object.forwarded.length >= 2, JSON.stringify(object));
      assert.deepEqual(object.missing, [], JSON.stringify(object));
    }
    assert.ok(found.campaignObject.forwarded.includes("alarm"));
  } finally {
    await mf.dispose();
  }
});
