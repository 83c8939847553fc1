// Every answer the Miniflare suites receive, held to the contract,
// docs/openapi.json: `holdToContract` is called on each (tests/support/
// worker.mjs's `fetch`, which every helper goes through, and the few tests
// that talk to a Miniflare of their own) and throws, naming the route, the
// status and what does not fit, so the test that got the answer fails.
//
// openapi-backend (framework-agnostic, made to route and validate requests
// and answers against an OpenAPI document) finds the operation and
// validates JSON bodies, with Ajv's JSON Schema 2020-12 validator plugged in
// (the dialect of OpenAPI 3.1; openapi-backend's own Ajv is draft-07).
// What it leaves unchecked is checked here, from the same document: that
// the status is one the operation lists, the content type one its answer
// lists, the headers it declares (`required` ones present, every one
// matching its schema), bodies that are not JSON (NDJSON line by line),
// and the answers of paths and methods the document does not list (404,
// 405 with `Allow` naming the methods it does).
import { AssertionError } from "node:assert";
import { appendFileSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { OpenAPIBackend } from "openapi-backend";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

/** The document as the repository holds it (and the worker serves it). */
export const DOCUMENT_TEXT = readFileSync(new URL("../../docs/openapi.json", import.meta.url), "utf8");

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/** A JSON Schema 2020-12 validator, formats (date-time…) asserted. */
function newAjv(options = {}) {
  // strict: false, since OpenAPI's keywords (`example`, `x-…`) sit in schemas.
  const ajv = new Ajv2020({ ...options, strict: false, allErrors: true });
  addFormats(ajv);
  return ajv;
}

const api = new OpenAPIBackend({
  definition: JSON.parse(DOCUMENT_TEXT),
  // Quick: the document is dereferenced synchronously and not checked
  // against openapi-backend's OpenAPI 3.0 meta-schema, which a 3.1
  // document does not fit (tests/openapi.test.mjs lints it instead).
  quick: true,
  strict: true,
  customizeAjv: (_draft07, options) => newAjv(options),
});
await api.init();
/** The document with every `$ref` resolved. */
const contract = api.definition;

const ajv = newAjv();
const compiled = new WeakMap();
/** Validates `value` against `schema` (an object of `contract`): Ajv's errors, or []. */
function schemaErrors(schema, value) {
  let validate = compiled.get(schema);
  if (!validate) {
    validate = ajv.compile(structuredClone(schema));
    compiled.set(schema, validate);
  }
  return validate(value) ? [] : validate.errors;
}

/** Ajv's errors, one line each. */
function explain(errors) {
  return errors.map((e) => `${e.instancePath || "(body)"} ${e.message}${e.params ? ` ${JSON.stringify(e.params)}` : ""}`);
}

/**
 * Paths that exist only in tests: the panic route answers the crash answer
 * with the `TEST_PANIC_ROUTE` var (no deployment sets it), else it is a path
 * like any other the contract does not list.
 */
const TEST_ONLY = {
  "/__test/panic": { 500: contract.components.responses.Crashed, 404: contract.components.responses.EndpointNotFound },
};

/** The operations whose path template matches `path`, by method. */
function operationsAt(path) {
  const found = {};
  for (const [template, item] of Object.entries(contract.paths)) {
    const pattern = template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{[^}]*\}/g, "[^/]+");
    if (!new RegExp(`^${pattern}/*$`).test(path)) continue;
    for (const method of METHODS) if (item[method]) found[method] = item[method];
  }
  return found;
}

/** The answer object a status picks among `responses` (`404`, `4XX`, `default`). */
function responseFor(responses, status) {
  return responses[String(status)] ?? responses[`${String(status)[0]}XX`] ?? responses.default;
}

/**
 * Where an answer does not fit `response` (an answer object of the
 * document). The answer to a HEAD request has its type and no body (RFC
 * 9110): its body is not checked.
 */
function misfits(response, { head, headers, text }, validateJson) {
  const problems = [];
  for (const [name, header] of Object.entries(response.headers ?? {})) {
    const value = headers.get(name);
    if (value === null) {
      if (header.required) problems.push(`lacks the header ${name}`);
      continue;
    }
    for (const line of explain(schemaErrors(header.schema, value))) problems.push(`header ${name}: ${line}`);
  }
  if (!response.content) {
    if (text !== "") problems.push(`has a body (${text.slice(0, 80)}…) where the contract has none`);
    return problems;
  }
  const type = (headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
  const media = response.content[type];
  if (!media) {
    problems.push(`is ${type || "untyped"}, where the contract has ${Object.keys(response.content).join(" or ")}`);
    return problems;
  }
  if (head) {
    if (text !== "") problems.push("answers a HEAD request with a body");
    return problems;
  }
  if (type === "application/json") {
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      problems.push(`is not JSON: ${text.slice(0, 120)}`);
      return problems;
    }
    problems.push(...explain(validateJson(body, media.schema)));
    return problems;
  }
  if (media.schema) problems.push(...explain(schemaErrors(media.schema, text)));
  const line = media["x-line-schema"];
  if (line && text !== "") {
    if (!text.endsWith("\n")) problems.push("does not end its last line");
    text.split("\n").slice(0, -1).forEach((one, i) => {
      let parsed;
      try {
        parsed = JSON.parse(one);
      } catch {
        problems.push(`line ${i + 1} is not JSON`);
        return;
      }
      for (const error of explain(schemaErrors(line, parsed))) problems.push(`line ${i + 1}: ${error}`);
    });
  }
  return problems;
}

/**
 * Where an answer does not fit the contract, as sentences ([] when it
 * fits), and what it was held to. `answer`: the request's `method` and
 * `url`, the answer's `status`, `headers` (a `Headers`) and body `text`.
 */
export function check({ method, url, status, headers, text }) {
  const path = new URL(url, "http://localhost").pathname;
  const answer = { head: method.toUpperCase() === "HEAD", headers, text };
  const anyJson = (body, schema) => schemaErrors(schema, body);
  if (TEST_ONLY[path]) {
    const response = TEST_ONLY[path][String(status)];
    if (!response) return { held: `${path} (test only)`, problems: [`status ${status} is neither the crash answer nor 404`] };
    return { held: `${path} (test only)`, problems: misfits(response, answer, anyJson) };
  }
  let operation;
  try {
    operation = api.router.matchOperation({ method, path, headers: {}, query: {} }, true);
  } catch (e) {
    if (String(e.message).startsWith("405")) {
      const allowed = Object.keys(operationsAt(path)).map((m) => m.toUpperCase());
      const problems = status === 405 ? misfits(contract.components.responses.MethodNotAllowed, answer, anyJson) : [`should be 405 (the contract lists ${allowed.join(", ")} here)`];
      const allow = (headers.get("allow") ?? "").split(",").map((m) => m.trim()).filter(Boolean);
      if (status === 405 && allow.sort().join() !== [...allowed].sort().join()) {
        problems.push(`Allow says ${allow.join(", ")}; the contract lists ${allowed.join(", ")}`);
      }
      return { held: `${method} ${path} (method not listed)`, problems };
    }
    const problems = status === 404 ? misfits(contract.components.responses.EndpointNotFound, answer, anyJson) : [`should be 404: the contract lists no such path`];
    return { held: "(path not listed)", problems };
  }
  const held = `${method.toUpperCase()} ${operation.path}`;
  const response = responseFor(operation.responses, status);
  if (!response) {
    return { held, problems: [`status ${status} is not one of ${operation.operationId}'s (${Object.keys(operation.responses).join(", ")})`] };
  }
  const validateJson = (body) => api.validator.validateResponse(body, operation, status).errors ?? [];
  return { held, problems: misfits(response, answer, validateJson) };
}

/**
 * Where a delivery to the origin does not fit one of the document's
 * `webhooks` (`conversion`, `conversionsBatch`): its headers (a plain
 * object, names in lower case, as Node's HTTP server gives them) and its
 * body text. [] when it fits.
 */
export function checkDelivery({ webhook = "conversion", headers, body }) {
  const operation = contract.webhooks[webhook].post;
  const problems = [];
  for (const parameter of operation.parameters.filter((p) => p.in === "header")) {
    const value = headers[parameter.name.toLowerCase()];
    if (value === undefined) {
      if (parameter.required) problems.push(`lacks the header ${parameter.name}`);
      continue;
    }
    for (const line of explain(schemaErrors(parameter.schema, value))) problems.push(`header ${parameter.name}: ${line}`);
  }
  let parsed;
  try {
    parsed = JSON.parse(body);
  } catch {
    return [...problems, "the body is not JSON"];
  }
  problems.push(...explain(schemaErrors(operation.requestBody.content["application/json"].schema, parsed)));
  return problems;
}

/** Where `value` does not fit a schema of the document (a JSON pointer: `#/components/schemas/LogEntry`). */
export function checkValue(pointer, value) {
  const schema = pointer
    .slice(2)
    .split("/")
    .map((part) => part.replaceAll("~1", "/").replaceAll("~0", "~"))
    .reduce((node, part) => node[part], contract);
  return explain(schemaErrors(schema, value));
}

/** Answers held in this process, by what they were held to and status. */
const tally = new Map();

/**
 * Holds a real answer to the contract: counts it, then throws an
 * `AssertionError` naming the request, the status and every misfit.
 */
export function holdToContract(answer) {
  const { held } = assertFits(answer, (held) => {
    const key = `${held} → ${answer.status}`;
    tally.set(key, (tally.get(key) ?? 0) + 1);
  });
  return held;
}

/**
 * `holdToContract` for answers that are not the worker's (the tests of
 * the check itself): thrown the same, never counted.
 */
export function assertFits(answer, counted = () => {}) {
  const { held, problems } = check(answer);
  counted(held);
  if (problems.length > 0) {
    const { pathname, search } = new URL(answer.url, "http://localhost");
    const shown = `${pathname}${search}`.slice(0, 160);
    throw new AssertionError({
      message: `${answer.method} ${shown} answered ${answer.status}, which does not fit docs/openapi.json (${held}):\n  - ${problems.join("\n  - ")}\n  body: ${answer.text.slice(0, 400)}`,
    });
  }
  return { held };
}

// A full run's total, printed once at its end. `node --test` runs each test
// file in a process of its own, children of the runner: each adds its tally
// to a file named after the runner, and the one that finds every test file
// of tests/ there prints the run's total and removes the file. The files of
// runs that ended before (one file run alone, a run stopped) go too.
const RUN_FILE = /^postback-edge-openapi-(\d+)\.ndjson$/;
const runFile = join(tmpdir(), `postback-edge-openapi-${process.ppid}.ndjson`);

/** Whether process `pid` still runs. */
function running(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code !== "ESRCH";
  }
}

process.on("exit", () => {
  const file = basename(process.argv[1] ?? "");
  if (!file.endsWith(".test.mjs")) return;
  for (const name of readdirSync(tmpdir())) {
    const runner = Number(name.match(RUN_FILE)?.[1]);
    if (runner && runner !== process.ppid && !running(runner)) rmSync(join(tmpdir(), name), { force: true });
  }
  appendFileSync(runFile, `${JSON.stringify({ file, tally: Object.fromEntries(tally) })}\n`);
  const runs = readFileSync(runFile, "utf8").trim().split("\n").map((line) => JSON.parse(line));
  const testDir = join(import.meta.dirname, "..");
  const expected = readdirSync(testDir).filter((f) => f.endsWith(".test.mjs"));
  const seen = new Set(runs.map((r) => r.file));
  if (!expected.every((f) => seen.has(f))) return;
  rmSync(runFile, { force: true });
  const total = new Map();
  for (const run of runs) for (const [key, n] of Object.entries(run.tally)) total.set(key, (total.get(key) ?? 0) + n);
  const answers = [...total.values()].reduce((a, b) => a + b, 0);
  const statuses = new Map();
  const reached = new Set();
  for (const [key, n] of total) {
    const status = key.split(" → ")[1];
    statuses.set(status, (statuses.get(status) ?? 0) + n);
    reached.add(key.split(" → ")[0]);
  }
  const operations = [];
  for (const [template, item] of Object.entries(contract.paths)) {
    for (const method of METHODS) if (item[method]) operations.push(`${method.toUpperCase()} ${template}`);
  }
  const missed = operations.filter((op) => !reached.has(op));
  const byStatus = [...statuses].sort().map(([s, n]) => `${s}: ${n}`).join(", ");
  process.stderr.write(
    `openapi: ${answers} answers held to docs/openapi.json, over ${runs.length} test files and ${operations.length - missed.length} of its ${operations.length} operations (by status ${byStatus})` +
      (missed.length ? `; no suite reached ${missed.join(", ")}` : "") +
      "\n",
  );
  // OPENAPI_TALLY=1: every operation and status, with its count.
  if (process.env.OPENAPI_TALLY) {
    for (const [key, n] of [...total].sort()) process.stderr.write(`openapi:   ${key}: ${n}\n`);
  }
});
