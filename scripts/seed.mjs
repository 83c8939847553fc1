// Writes examples/campaigns.json into wrangler's local KV, as the admin API
// would store them (one `campaign:{id}` key each).
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";

const campaigns = JSON.parse(readFileSync("examples/campaigns.json", "utf8"));
const entries = campaigns.map((c) => ({ key: `campaign:${c.id}`, value: JSON.stringify(c) }));
const dir = mkdtempSync(join(tmpdir(), "seed-"));
const file = join(dir, "campaigns.json");
writeFileSync(file, JSON.stringify(entries));
try {
  execFileSync("npx", ["wrangler", "kv", "bulk", "put", file, "--binding", "CAMPAIGNS", "--local"], { stdio: "inherit" });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`seeded ${campaigns.length} campaigns: ${campaigns.map((c) => `${c.id} (${c.status}, ${c.privacy})`).join(", ")}`);
