// The machine-readable contract, docs/openapi.json: it lints, the worker
// serves it byte for byte without a token, it says what the code says (the
// catalog, the routes), real deliveries fit its webhooks, and the check
// every suite's answers go through (tests/support/openapi.mjs) refuses
// answers that do not fit.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { ORIGIN_SECRET, startWorker } from "./support/worker.mjs";
import { DOCUMENT_TEXT, assertFits, check, checkDelivery, checkValue } from "./support/openapi.mjs";
import { campaign } from "./support/campaigns.mjs";
import { eventually } from "./support/wait.mjs";
import { startOrigin } from "../scripts/origin.mjs";

const DOCUMENT = JSON.parse(DOCUMENT_TEXT);
const JSON_TYPE = "application/json; charset=utf-8";

describe("the document", () => {
  test("lints with Redocly's recommended rules: no error, no warning but the ones ignored on purpose", () => {
    // --format=json: the problems as data. Telemetry and the update check
    // stay off: the lint runs offline.
    let output;
    try {
      output = execFileSync("node_modules/.bin/redocly", ["lint", "docs/openapi.json", "--config", "docs/redocly.yaml", "--format=json"], {
        encoding: "utf8",
        env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true", REDOCLY_SUPPRESS_NOTIFICATIONS: "true" },
        stdio: ["ignore", "pipe", "pipe"],
      });
    } catch (error) {
      assert.fail(`redocly lint failed:\n${error.stdout}\n${error.stderr}`);
    }
    const report = JSON.parse(output.slice(output.indexOf("{")));
    const problems = report.problems.map((p) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location?.[0]?.pointer}`);
    assert.deepEqual(problems, [], problems.join("\n"));
    assert.equal(report.totals.errors, 0);
    assert.equal(report.totals.warnings, 0);
    assert.equal(report.totals.ignored, 6, "the problems docs/.redocly.lint-ignore.yaml lists, and no more");
  });

  test("is OpenAPI 3.1 with webhooks, pretty-printed", () => {
    assert.equal(DOCUMENT.openapi, "3.1.0");
    assert.deepEqual(Object.keys(DOCUMENT.webhooks), ["conversion", "conversionsBatch"]);
    assert.ok(DOCUMENT_TEXT.startsWith('{\n  "openapi"'), "hand-maintained, indented by two");
  });

  test("every example fits its schema (Ajv, JSON Schema 2020-12)", () => {
    // In a schema `examples` is a list; beside a `schema` (a parameter, a
    // header, a media type) `example` is one value.
    let checked = 0;
    const walk = (node, pointer) => {
      if (Array.isArray(node)) return node.forEach((item, i) => walk(item, `${pointer}/${i}`));
      if (!node || typeof node !== "object") return;
      if (Array.isArray(node.examples) && pointer.startsWith("#/components/schemas/")) {
        for (const example of node.examples) {
          assert.deepEqual(checkValue(pointer, example), [], `${pointer}: ${JSON.stringify(example)}`);
          checked += 1;
        }
      }
      if ("example" in node && node.schema) {
        assert.deepEqual(checkValue(`${pointer}/schema`, node.example), [], `${pointer}: ${JSON.stringify(node.example)}`);
        checked += 1;
      }
      for (const [key, value] of Object.entries(node)) {
        if (key !== "examples" && key !== "example") walk(value, `${pointer}/${key.replaceAll("~", "~0").replaceAll("/", "~1")}`);
      }
    };
    walk(DOCUMENT, "#");
    assert.ok(checked >= 20, `only ${checked} examples`);
  });

  test("says the catalog of src/catalog.rs: every code, its exact message and its HTTP status", () => {
    const catalog = readFileSync("src/catalog.rs", "utf8");
    const entries = [...catalog.matchAll(/code: "([a-z_]+)",\s*message: "([^"]+)",\s*http_status: (\d+),/g)].map((m) => m.slice(1));
    assert.equal(entries.length, 15, "every row of the catalog");
    const codes = DOCUMENT.components.schemas.ErrorCode.enum;
    assert.deepEqual([...codes].sort(), [...entries.map(([code]) => code), "bad_request"].sort());
    const messages = Object.fromEntries(
      DOCUMENT.components.schemas.ByCode.allOf.map((rule) => [rule.if.properties.code.const, rule.then.properties.message.const]),
    );
    const postbackStatus = {};
    for (const [status, response] of Object.entries(DOCUMENT.paths["/postback"].get.responses)) {
      const codeRule = response.$ref && DOCUMENT.components.responses[response.$ref.split("/").pop()].content?.["application/json"]?.schema.allOf?.[1];
      const code = codeRule?.properties.error.properties.code;
      for (const one of code?.enum ?? (code?.const ? [code.const] : [])) postbackStatus[one] = Number(status);
    }
    for (const [code, message, status] of entries) {
      assert.equal(messages[code], message, `${code}'s message`);
      assert.equal(postbackStatus[code], Number(status), `${code}'s status on /postback`);
      assert.ok(DOCUMENT.components.schemas.ErrorCode.description.includes(`| \`${code}\` | ${status} | \`${message}\` |`), `${code} in ErrorCode's table`);
    }
    assert.equal(postbackStatus.bad_request, 400);
  });

  test("lists every route of src/route.rs, with the methods the router allows", () => {
    const routes = readFileSync("src/route.rs", "utf8");
    const fixed = [...routes.matchAll(/^\s*"(\/[^"]*)" => only\("([^"]+)"/gm)].map((m) => m.slice(1));
    const templated = {
      "/v1/tokens/{name}": /one_segment\(path, "\/v1\/tokens\/"\) \{\s*Some\(name\) => only\("([^"]+)"/,
      "/v1/conversions/{conversion_id}": /one_segment\(path, "\/v1\/conversions\/"\) \{\s*Some\(id\) => only\("([^"]+)"/,
      "/v1/campaigns/{id}": /only\("([^"]+)", Route::Campaign\(id\)\)/,
      "/v1/campaigns/{id}/stats": /only\("([^"]+)", Route::CampaignStats\(id\)\)/,
    };
    const expected = [...fixed, ...Object.entries(templated).map(([path, pattern]) => [path, routes.match(pattern)?.[1]])];
    assert.equal(expected.length, 15);
    const listed = Object.entries(DOCUMENT.paths).map(([path, item]) => [
      path,
      ["get", "head", "post", "put", "delete"].filter((m) => item[m]).map((m) => m.toUpperCase()),
    ]);
    assert.deepEqual(
      Object.fromEntries(listed.map(([path, methods]) => [path, [...methods].sort().join(", ")])),
      Object.fromEntries(expected.map(([path, allow]) => [path, allow.split(", ").sort().join(", ")])),
    );
  });

  test("postback parameters name their aliases in x-aliases and in their description", () => {
    // The rows of src/params/aliases.rs, one `alias("theirs", "ours",
    // "trackers", &[sources])` a line: ours (read on every route) and
    // other trackers' (read on postbacks only).
    const table = readFileSync("src/params/aliases.rs", "utf8");
    const rows = (constant) => {
      const declared = table.match(new RegExp(`pub const ${constant}: \\[Alias; (\\d+)\\] = \\[([\\s\\S]*?)\\n\\];`));
      assert.ok(declared, `src/params/aliases.rs declares ${constant}`);
      const found = [...declared[2].matchAll(/^\s*alias\("([^"]+)", "([^"]+)", "([^"]*)",/gm)].map(([, theirs, ours]) => [theirs, ours]);
      assert.equal(found.length, Number(declared[1]), `every row of ${constant}`);
      return found;
    };
    const ours = rows("OUR_ALIASES");
    const trackers = rows("TRACKERS");
    const expected = Object.fromEntries([...ours, ...trackers]);
    assert.equal(Object.keys(expected).length, ours.length + trackers.length, "no name listed twice");
    assert.equal(expected.clickid, "click_id");
    assert.equal(expected.transaction_id, "click_id", "transaction_id is the click id now");

    // The document's aliases, each named in its parameter's description,
    // and the same for every parameter of the same name.
    const aliases = {};
    for (const [key, parameter] of Object.entries(DOCUMENT.components.parameters)) {
      if (parameter.in !== "query" || !parameter["x-aliases"]) continue;
      for (const alias of parameter["x-aliases"]) {
        assert.ok(!(alias in aliases) || aliases[alias] === parameter.name, `${key}: ${alias} means ${aliases[alias]} elsewhere`);
        aliases[alias] = parameter.name;
        assert.ok(parameter.description.includes(`\`${alias}\``), `${key}'s description names ${alias}`);
      }
    }
    assert.deepEqual(aliases, expected);

    // Each operation's parameters carry the names it reads: a postback
    // every row, any other route ours alone.
    const resolve = (p) => (p.$ref ? DOCUMENT.components.parameters[p.$ref.split("/").pop()] : p);
    const postbacks = ["/postback", "/postback/check"];
    for (const [path, item] of Object.entries(DOCUMENT.paths)) {
      for (const method of ["get", "post", "put", "delete"].filter((m) => item[m])) {
        const read = postbacks.includes(path) ? [...ours, ...trackers] : ours;
        for (const parameter of [...(item.parameters ?? []), ...(item[method].parameters ?? [])].map(resolve)) {
          if (parameter.in !== "query") continue;
          const names = read.filter(([, name]) => name === parameter.name).map(([theirs]) => theirs);
          assert.deepEqual([...(parameter["x-aliases"] ?? [])].sort(), names.sort(), `${method.toUpperCase()} ${path}: ${parameter.name}'s aliases`);
        }
      }
    }

    // GET /postback lists every name of ours (OURS), each kept field
    // (src/postback.rs's KEPT_FIELDS) said to be kept, and no other.
    const ourNames = [...table.match(/pub const OURS: \[&str; \d+\] = \[([\s\S]*?)\];/)[1].matchAll(/"([a-z_0-9]+)"/g)].map((m) => m[1]);
    const listed = DOCUMENT.paths["/postback"].get.parameters.map(resolve).map((p) => p.name);
    assert.deepEqual([...listed].sort(), [...ourNames].sort());
    const kept = [...readFileSync("src/postback.rs", "utf8").match(/pub const KEPT_FIELDS: \[&str; \d+\] = \[([\s\S]*?)\];/)[1].matchAll(/"([a-z_0-9]+)"/g)].map((m) => m[1]);
    assert.ok(!kept.includes("transaction_id"));
    for (const name of kept) {
      const parameter = DOCUMENT.paths["/postback"].get.parameters.map(resolve).find((p) => p.name === name);
      assert.ok(parameter?.description.startsWith("Kept with the conversion"), `${name} is kept`);
    }

    // A deployment's own names are said where postbacks are.
    assert.ok(DOCUMENT.paths["/postback"].get.description.includes("`PARAM_ALIASES`"));
  });

  test("the status parameter reads every word of src/status.rs, and names other trackers'", () => {
    const status = DOCUMENT.components.parameters.Status;
    const source = readFileSync("src/status.rs", "utf8");
    const declared = source.match(/pub const OTHER_TRACKERS_WORDS: \[StatusWord; (\d+)\] = \[([\s\S]*?)\n\];/);
    const words = [...declared[2].matchAll(/word: "([a-z]+)",\s*status: Status::([A-Za-z]+),/g)].map(([, word, to]) => [word, to.toLowerCase()]);
    assert.equal(words.length, Number(declared[1]), "every word of OTHER_TRACKERS_WORDS");
    const pattern = new RegExp(status.schema.pattern, "u");
    const ours = ["1", "2", "3", "4", "5", "approved", "pending", "declined", "rejected", "hold"];
    for (const word of [...ours, ...words.map(([w]) => w)]) {
      for (const spelled of [word, word.toUpperCase(), ` ${word[0].toUpperCase()}${word.slice(1)} `]) {
        assert.ok(pattern.test(spelled), `the pattern reads ${JSON.stringify(spelled)}`);
      }
    }
    assert.ok(pattern.test(""), "empty: the campaign's default_status");
    for (const word of ["0", "6", "01", "other", "signup", "sales", "leads", "approveds", "rejecte"]) {
      assert.ok(!pattern.test(word), `the pattern refuses ${word}`);
    }
    for (const [word, to] of words) {
      assert.ok(status.description.includes(`\`${word}\``), `the description names ${word}`);
      const said = status.description.slice(status.description.indexOf(`\`${word}\``));
      assert.ok(said.match(/`(approved|pending|declined|hold)`/)?.[1] === to, `${word} is said to be ${to}`);
    }
  });
});

describe("GET /v1/openapi.json", () => {
  let worker;
  before(async () => {
    worker = await startWorker();
  });
  after(() => worker.dispose());

  test("answers the document byte for byte, with no token", async () => {
    const res = await worker.fetch("/v1/openapi.json");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), JSON_TYPE);
    assert.equal(res.headers.get("cache-control"), "no-store");
    assert.ok(res.text === DOCUMENT_TEXT, "the served bytes are docs/openapi.json's (rebuild the wasm after editing it)");
    // Tokens change nothing: it is open.
    const withBasic = await worker.fetch("/v1/openapi.json", { headers: { authorization: "Basic Og==" } });
    assert.equal(withBasic.text, DOCUMENT_TEXT);
  });

  test("HEAD /healthz is GET /healthz's head", async () => {
    const res = await worker.fetch("/healthz", { method: "HEAD" });
    assert.equal(res.status, 200);
    assert.equal(res.text, "");
    assert.equal(res.headers.get("cache-control"), "no-store");
  });

  test("answers GET only", async () => {
    for (const method of ["POST", "PUT", "DELETE", "HEAD"]) {
      const res = await worker.fetch("/v1/openapi.json", { method });
      assert.equal(res.status, 405, method);
      assert.equal(res.headers.get("allow"), "GET");
    }
  });
});

describe("deliveries fit the webhooks", () => {
  test("a new conversion and its status change, as the origin receives them; a batch of them fits conversionsBatch", async () => {
    const origin = await startOrigin({ secret: ORIGIN_SECRET, quiet: true });
    const worker = await startWorker({ bindings: { ORIGIN_URL: origin.url } });
    try {
      const c = campaign();
      await worker.putCampaign(c);
      const click = await worker.click(c.id);
      assert.equal((await worker.postback({ click_id: click, comment: "hello", sum: "20" })).status, 200);
      assert.equal((await worker.postback({ click_id: click, action_id: "order-7", goal: "purchase", sum: "19.99" })).status, 200);
      assert.equal((await worker.postback({ click_id: click, status: "approved" })).status, 200);
      await eventually(() => origin.received.length >= 3, { what: "three deliveries" });
      for (const delivery of origin.received) {
        assert.deepEqual(checkDelivery({ headers: delivery.raw.headers, body: delivery.raw.body }), [], delivery.raw.body);
      }
      assert.deepEqual(origin.received.map((d) => d.body.type).sort(), ["conversion.created", "conversion.created", "conversion.updated"]);
      // The planned batch carries each message as a single delivery does,
      // keyed by the id that delivery sent as webhook-id.
      const batch = {
        type: "conversion.batch",
        timestamp: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
        data: origin.received.map((d) => ({ id: d.raw.headers["webhook-id"], ...d.body })),
      };
      const headers = { ...origin.received[0].raw.headers, "webhook-id": "batch_1", "idempotency-key": "batch_1" };
      assert.deepEqual(checkDelivery({ webhook: "conversionsBatch", headers, body: JSON.stringify(batch) }), []);
      // And what is not a delivery is refused.
      const [first] = origin.received;
      const unsigned = { ...first.raw.headers };
      delete unsigned["webhook-signature"];
      assert.deepEqual(checkDelivery({ headers: unsigned, body: first.raw.body }), ["lacks the header webhook-signature"]);
      const renamed = JSON.parse(first.raw.body);
      renamed.data.conversion_id = renamed.data.id;
      delete renamed.data.id;
      assert.ok(checkDelivery({ headers: first.raw.headers, body: JSON.stringify(renamed) }).length >= 2);
      assert.ok(checkDelivery({ webhook: "conversionsBatch", headers, body: first.raw.body }).length > 0, "a single message is not a batch");
    } finally {
      await worker.dispose();
      await origin.close();
    }
  });
});

describe("the check every answer goes through", () => {
  const json = (status, body, extra = {}) => ({
    status,
    headers: new Headers({ "content-type": JSON_TYPE, "cache-control": "no-store", ...extra }),
    text: typeof body === "string" ? body : JSON.stringify(body),
  });
  const rejected = (code, message, more = {}) => ({
    status: "rejected",
    error: { code, fix: "Do this.", message, reason: "That happened.", ...more },
  });
  const entry = {
    id: "001795000000123-0a1b2c3d",
    time: "2026-11-24T10:00:00.123Z",
    campaign_id: "1001",
    click_id: "abc",
    goal: "1",
    status: "pending",
    result: "accepted",
    code: null,
    message: null,
    reason: null,
    fix: null,
    conversion_id: "cv_1001_3q2Vb8xZQk1aT0cY",
    partner_id: "77",
    country: "DE",
    action_id: null,
    payout: "1.20",
    source_ip: null,
    dry_run: false,
    params: { click_id: "abc" },
  };

  // Each made-up answer, and what the check must say of it.
  const wrong = [
    ["a code the status does not carry", "GET", "/postback?click_id=x", json(409, rejected("click_not_found", "Click not found", { detail: { problem: "malformed" } })), "/error/code must be equal to one of the allowed values"],
    ["a message that is not the catalog's", "GET", "/postback?click_id=x", json(404, rejected("click_not_found", "Click not found.", { detail: { problem: "malformed" } })), "/error/message must be equal to constant"],
    ["a rejection without its detail", "GET", "/postback?click_id=x", json(404, rejected("click_not_found", "Click not found")), "must have required property 'detail'"],
    ["a detail with a field the code does not have", "GET", "/postback?click_id=x", json(404, rejected("click_not_found", "Click not found", { detail: { problem: "malformed", key: 3 } })), "must NOT have additional properties"],
    ["a detail value outside its enum", "GET", "/postback?click_id=x", json(404, rejected("click_not_found", "Click not found", { detail: { problem: "expired" } })), "/error/detail/problem must be equal to one of the allowed values"],
    ["a code outside the catalog", "GET", "/postback?click_id=x", json(404, rejected("click_lost", "Click lost")), "/error/code must be equal to one of the allowed values"],
    ["an accepted answer missing a field", "GET", "/postback?click_id=x", json(200, { status: "accepted", conversion_id: "cv_1001_3q2Vb8xZQk1aT0cY" }), "must have required property 'conversion_status'"],
    ["a dry run's flag on a real postback", "GET", "/postback?click_id=x", json(200, { status: "accepted", conversion_id: "cv_1_x", conversion_status: "pending", dry_run: true }), "must NOT have additional properties"],
    ["a dry run without its flag", "GET", "/postback/check?click_id=x", json(200, { status: "accepted", conversion_id: "cv_1_x", conversion_status: "pending" }), "must have required property 'dry_run'"],
    ["a status the operation does not list", "GET", "/postback?click_id=x", json(418, {}), "status 418 is not one of postback's"],
    ["no Cache-Control", "GET", "/healthz", { status: 200, headers: new Headers({ "content-type": "text/plain; charset=utf-8" }), text: "ok" }, "lacks the header Cache-Control"],
    ["another content type", "GET", "/healthz", { status: 200, headers: new Headers({ "content-type": "text/html", "cache-control": "no-store" }), text: "ok" }, "is text/html, where the contract has text/plain"],
    ["a body that is not JSON", "GET", "/v1/campaigns", json(200, "campaigns: 1001"), "is not JSON"],
    ["a 401 without WWW-Authenticate", "GET", "/v1/campaigns", json(401, { error: { code: "unauthorized", message: "Send a token." } }), "lacks the header WWW-Authenticate"],
    ["an operator error in the postback's shape", "GET", "/v1/campaigns", json(403, rejected("forbidden", "No.")), "must NOT have additional properties"],
    ["stats without the database's size", "GET", "/v1/campaigns/1001/stats", json(200, { campaign_id: "1001", conversions: 1, pending: 0, outbox: 0 }), "must have required property 'database_bytes'"],
    ["stats with a count as text", "GET", "/v1/campaigns/1001/stats", json(200, { campaign_id: "1001", conversions: "1", pending: 0, outbox: 0, database_bytes: 8192, rows_read: 4, rows_written: 1, alarms_set: 0 }), "/conversions must be integer"],
    ["stats without their cost", "GET", "/v1/campaigns/1001/stats", json(200, { campaign_id: "1001", conversions: 1, pending: 0, outbox: 0, database_bytes: 8192 }), "must have required property 'rows_read'"],
    ["stats without the alarms set", "GET", "/v1/campaigns/1001/stats", json(200, { campaign_id: "1001", conversions: 1, pending: 0, outbox: 0, database_bytes: 8192, rows_read: 12, rows_written: 4 }), "must have required property 'alarms_set'"],
    ["stats with a count below zero", "GET", "/v1/campaigns/1001/stats", json(200, { campaign_id: "1001", conversions: 1, pending: 0, outbox: 0, database_bytes: 8192, rows_read: -1, rows_written: 4, alarms_set: 0 }), "/rows_read must be >= 0"],
    ["a log entry whose id is not one", "GET", "/v1/logs/postbacks", json(200, { entries: [{ ...entry, id: "17" }], counts: { accepted: 1 }, next_before: null }), "/entries/0/id must match pattern"],
    ["a log entry accepted with a code", "GET", "/v1/logs/postbacks", json(200, { entries: [{ ...entry, code: "cap_reached" }], counts: { accepted: 1 }, next_before: null }), "/entries/0/code must be null"],
    ["counts under a key that is no result", "GET", "/v1/logs/postbacks", json(200, { entries: [entry], counts: { fine: 1 }, next_before: null }), "/counts property name must be valid"],
    ["an NDJSON export with a line that is no entry", "GET", "/v1/logs/postbacks?format=ndjson", { status: 200, headers: new Headers({ "content-type": "application/x-ndjson", "cache-control": "no-store" }), text: `${JSON.stringify(entry)}\n{"id":1}\n` }, "line 2: (body) must have required property 'time'"],
    ["a download named otherwise", "GET", "/v1/logs/postbacks?format=csv", { status: 200, headers: new Headers({ "content-type": "text/csv; charset=utf-8", "cache-control": "no-store", "content-disposition": "attachment; filename=\"log.csv\"" }), text: "id\r\n" }, "header Content-Disposition: (body) must match pattern"],
    ["a 405 whose Allow is not the contract's", "PUT", "/postback", json(405, { error: { code: "method_not_allowed", message: "This endpoint answers GET only." } }, { allow: "GET" }), "Allow says GET; the contract lists GET, POST"],
    ["a path the contract does not list, answered", "GET", "/v1/everything", json(200, {}), "should be 404: the contract lists no such path"],
    ["a redirect with a body", "GET", "/click?campaign_id=1&partner_id=2", { status: 302, headers: new Headers({ location: "https://x.example/", "cache-control": "no-store" }), text: "{}" }, "has a body"],
    ["a redirect without Location", "GET", "/click?campaign_id=1&partner_id=2", { status: 302, headers: new Headers({ "cache-control": "no-store" }), text: "" }, "lacks the header Location"],
    ["a token shown in the list", "GET", "/v1/tokens", json(200, { tokens: [{ name: "acme", campaigns: "*", token: "pet_x" }] }), "must NOT have additional properties"],
    ["a conversion lookup with an unknown delivery state", "GET", "/v1/conversions/cv_1001_3q2Vb8xZQk1aT0cY", json(200, { conversion_id: "cv_1001_3q2Vb8xZQk1aT0cY", campaign_id: "1001", status: "pending", revision: 1, updated_at: "2026-11-24T10:00:00Z", delivery: "lost", outbox: [], conversion: null, log: [] }), "/delivery must be equal to one of the allowed values"],
  ];
  for (const [what, method, url, answer, says] of wrong) {
    test(`refuses ${what}`, () => {
      const { problems } = check({ method, url, ...answer });
      assert.ok(problems.some((p) => p.includes(says)), `expected "${says}" among: ${JSON.stringify(problems)}`);
      assert.throws(
        () => assertFits({ method, url, ...answer }),
        (error) => error instanceof assert.AssertionError && error.message.startsWith(`${method} ${new URL(url, "http://x").pathname}`) && error.message.includes(`answered ${answer.status}`),
      );
    });
  }

  test("passes the same answers made right", () => {
    const right = [
      ["GET", "/postback?click_id=x", json(404, rejected("click_not_found", "Click not found", { detail: { problem: "malformed" } }))],
      ["GET", "/postback?click_id=x", json(400, rejected("click_id_missing", "Click ID is missing"))],
      ["GET", "/postback/check?click_id=x", json(200, { status: "accepted", conversion_id: "cv_1_x", conversion_status: "hold", dry_run: true })],
      ["GET", "/v1/campaigns/1001/stats", json(200, { campaign_id: "1001", conversions: 1, pending: 0, outbox: 0, database_bytes: 8192, rows_read: 12, rows_written: 4, alarms_set: 1 })],
      ["GET", "/v1/campaigns/1001/stats", json(200, { campaign_id: "1001", conversions: 0, pending: 0, outbox: 0, database_bytes: 0, rows_read: 0, rows_written: 0, alarms_set: 0 })],
      ["GET", "/v1/logs/postbacks", json(200, { entries: [entry], counts: { accepted: 1 }, next_before: null })],
      ["PUT", "/postback", json(405, { error: { code: "method_not_allowed", message: "This endpoint answers GET, POST only." } }, { allow: "GET, POST" })],
      ["GET", "/v1/everything", json(404, { error: { code: "not_found", message: "No such endpoint. See the README for the API." } })],
      ["GET", "/click?campaign_id=1&partner_id=2", { status: 302, headers: new Headers({ location: "https://x.example/?cid=1", "cache-control": "no-store" }), text: "" }],
    ];
    for (const [method, url, answer] of right) {
      assert.deepEqual(check({ method, url, ...answer }).problems, [], `${method} ${url} ${answer.text}`);
    }
  });

  test("refuses a real answer once a field is taken from it", async () => {
    const worker = await startWorker();
    try {
      const res = await worker.postback({ click_id: "forged" });
      assert.equal(res.status, 404);
      const url = "http://localhost/postback?click_id=forged";
      const real = { method: "GET", url, status: res.status, headers: res.headers };
      assert.deepEqual(check({ ...real, text: res.text }).problems, []);
      const body = res.json;
      delete body.error.fix;
      assert.throws(() => assertFits({ ...real, text: JSON.stringify(body) }), /must have required property 'fix'/);
    } finally {
      await worker.dispose();
    }
  });
});
