// The click id format of docs/CLICK_IDS.md, in JavaScript: what an origin
// holding CLICK_SIGNING_KEY writes to mint ids the worker accepts.
import { createHash, createHmac, randomBytes } from "node:crypto";

/** The seven-bit id a keyed click id names its key by. */
export function keyId(key) {
  return createHash("sha256").update("postback-edge click key id").update(key).digest()[0] & 0x7f;
}

/**
 * A click id signed with `key` (the first key CLICK_SIGNING_KEY lists), in
 * the keyed format; `unkeyed: true` writes the earlier one-key format.
 */
export function mintClick(key, { campaign, partner = "77", time = Math.floor(Date.now() / 1000), country = "DE", nonce, unkeyed = false } = {}) {
  const c = Buffer.from(campaign, "ascii");
  const p = Buffer.from(partner, "ascii");
  const head = Buffer.alloc(1 + 4 + 2);
  head.writeUInt8(unkeyed ? 1 : 0x80 | keyId(key), 0);
  head.writeUInt32BE(time, 1);
  head.write(country, 5, "ascii");
  const payload = Buffer.concat([head, nonce ?? randomBytes(4), Buffer.from([(c.length << 4) | p.length]), c, p]);
  const tag = createHmac("sha256", key).update(payload).digest().subarray(0, 12);
  return Buffer.concat([payload, tag]).toString("base64url");
}
