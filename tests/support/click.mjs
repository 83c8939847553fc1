// The click id format of README "Click ids", in JavaScript: what an origin
// holding CLICK_SIGNING_KEY writes to mint ids the worker accepts.
import { createHmac, randomBytes } from "node:crypto";

export function mintClick(key, { campaign, partner = "77", time = Math.floor(Date.now() / 1000), country = "DE", nonce } = {}) {
  const c = Buffer.from(campaign, "ascii");
  const p = Buffer.from(partner, "ascii");
  const head = Buffer.alloc(1 + 4 + 2);
  head.writeUInt8(1, 0);
  head.writeUInt32BE(time, 1);
  head.write(country, 5, "ascii");
  const payload = Buffer.concat([head, nonce ?? randomBytes(4), Buffer.from([(c.length << 4) | p.length]), c, p]);
  const tag = createHmac("sha256", key).update(payload).digest().subarray(0, 12);
  return Buffer.concat([payload, tag]).toString("base64url");
}
