// A local origin for `make dev` and the tests: receives conversions at
// POST /conversions, verifies their Standard Webhooks signature with
// ORIGIN_SECRET (the `standardwebhooks` library, as an origin would),
// records and prints them.
//
// Tell it to misbehave, to watch retries:
//   curl -X POST 127.0.0.1:8788/_mode/fail     (answer 500)
//   curl -X POST 127.0.0.1:8788/_mode/hang     (never answer)
//   curl -X POST 127.0.0.1:8788/_mode/ok       (back to normal)
//   curl 127.0.0.1:8788/_received              (what arrived, as JSON)
import { createServer } from "node:http";
import { pathToFileURL } from "node:url";
import { Webhook } from "standardwebhooks";

/**
 * Verifies a delivery with the official Standard Webhooks library, as an
 * origin would: `secret` is one `whsec_` secret, or several separated by
 * whitespace (an origin in the middle of a rotation accepts either).
 * Returns the reason it fails, or null.
 */
export function verifySignature(secret, headers, body) {
  let problem = "no secret to verify with";
  for (const one of secret.split(/\s+/).filter(Boolean)) {
    try {
      new Webhook(one).verify(body, headers);
      return null;
    } catch (error) {
      problem = error.message;
    }
  }
  return problem;
}

/** Starts an origin on 127.0.0.1:`port` (0: any free port). */
export function startOrigin({ port = 0, secret, quiet = false } = {}) {
  const received = [];
  let mode = "ok";
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      if (req.method === "POST" && req.url.startsWith("/_mode/")) {
        mode = req.url.slice("/_mode/".length);
        res.end(`mode ${mode}\n`);
        return;
      }
      if (req.method === "GET" && req.url === "/_received") {
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify(received));
        return;
      }
      if (req.method !== "POST" || req.url !== "/conversions") {
        res.statusCode = 404;
        res.end();
        return;
      }
      if (mode === "hang") return;
      if (mode === "fail") {
        res.statusCode = 500;
        res.end("told to fail");
        return;
      }
      const problem = secret ? verifySignature(secret, req.headers, body) : null;
      if (problem) {
        res.statusCode = 401;
        res.end(problem);
        if (!quiet) console.log(`origin: refused ${req.headers["webhook-id"]}: ${problem}`);
        return;
      }
      const entry = {
        id: req.headers["webhook-id"],
        idempotencyKey: req.headers["idempotency-key"],
        body: JSON.parse(body),
        // As received, for verifying again with other secrets.
        raw: { body, headers: { ...req.headers } },
      };
      received.push(entry);
      if (!quiet) console.log(`origin: ${entry.body.type} ${entry.body.data?.id} ${entry.body.data?.status} (${entry.id})`);
      res.statusCode = 204;
      res.end();
    });
  });
  return new Promise((resolve) => {
    server.listen(port, "127.0.0.1", () => {
      const url = `http://127.0.0.1:${server.address().port}`;
      resolve({
        url,
        received,
        setMode: (m) => (mode = m),
        close: () => new Promise((done) => { server.closeAllConnections(); server.close(done); }),
      });
    });
  });
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const port = Number(process.env.ORIGIN_PORT ?? 8788);
  const origin = await startOrigin({ port, secret: process.env.ORIGIN_SECRET });
  console.log(`origin: listening on ${origin.url}/conversions`);
}
