// Mints a click id the way any holder of CLICK_SIGNING_KEY may (the format
// of docs/REFERENCE.md, "Click ids"): for an origin that makes its own
// clicks, and for trying the worker with clicks `/click` cannot make
// locally (another country, an older click).
//
//   node scripts/click.mjs --campaign 1004 --partner 77 --country FR --age 3600
//
// The key is the first of CLICK_SIGNING_KEY, from the environment or else
// from .dev.vars.
import { createHash, createHmac, randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

/** The seven-bit id a keyed click id names its key by. */
export function keyId(key) {
  return createHash("sha256").update("postback-edge click key id").update(key).digest()[0] & 0x7f;
}

/**
 * A click id signed with `key`, in the keyed format; `unkeyed: true` writes
 * the earlier one-key format (which names no key).
 */
export function mintClick(key, { campaign, partner = "77", time = Math.floor(Date.now() / 1000), country = "DE", nonce, unkeyed = false } = {}) {
  const c = Buffer.from(campaign, "ascii");
  const p = Buffer.from(partner, "ascii");
  const head = Buffer.alloc(1 + 4 + 2);
  head.writeUInt8(unkeyed ? 1 : 0x80 | keyId(key), 0);
  head.writeUInt32BE(time, 1);
  head.write(country.toUpperCase(), 5, "ascii");
  const payload = Buffer.concat([head, nonce ?? randomBytes(4), Buffer.from([(c.length << 4) | p.length]), c, p]);
  const tag = createHmac("sha256", key).update(payload).digest().subarray(0, 12);
  return Buffer.concat([payload, tag]).toString("base64url");
}

function signingKey() {
  const listed = process.env.CLICK_SIGNING_KEY
    ?? (existsSync(".dev.vars") ? readFileSync(".dev.vars", "utf8").match(/^CLICK_SIGNING_KEY=(.*)$/m)?.[1] : undefined);
  const key = listed?.trim().split(/\s+/)[0];
  if (!key) throw new Error("no CLICK_SIGNING_KEY in the environment or .dev.vars (make dev writes one)");
  return key;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      campaign: { type: "string" },
      partner: { type: "string", default: "77" },
      country: { type: "string", default: "DE" },
      age: { type: "string", default: "0" },
    },
  });
  if (!values.campaign) throw new Error("usage: node scripts/click.mjs --campaign ID [--partner ID] [--country CC] [--age SECONDS]");
  const time = Math.floor(Date.now() / 1000) - Number(values.age);
  console.log(mintClick(signingKey(), { campaign: values.campaign, partner: values.partner, country: values.country, time }));
}
