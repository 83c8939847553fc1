// How long `make dev` takes to answer /healthz when the build is current,
// and that Ctrl-C (SIGINT to its process group) stops all of it. Run by
// `make bench` after a build; the target is 20 s.
import { spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";

const URL = "http://127.0.0.1:8787/healthz";
const TARGET_S = 20;

async function answers(url) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    return res.status === 200 && (await res.text()) === "ok";
  } catch {
    return false;
  }
}

if (await answers(URL)) throw new Error("something already answers on 127.0.0.1:8787: stop it first");
const started = performance.now();
const dev = spawn("make", ["-s", "dev"], { detached: true, stdio: ["ignore", "pipe", "pipe"] });
let output = "";
dev.stdout.on("data", (d) => (output += d));
dev.stderr.on("data", (d) => (output += d));
const exited = new Promise((resolve) => dev.on("exit", (code, signal) => resolve({ code, signal })));

let ready = null;
while (performance.now() - started < 120_000) {
  if (await answers(URL)) {
    ready = (performance.now() - started) / 1000;
    break;
  }
  await sleep(100);
}
const builds = (output.match(/Compiling postback-edge/g) ?? []).length;
process.kill(-dev.pid, "SIGINT");
const stop = await Promise.race([exited, sleep(15_000).then(() => null)]);
await sleep(500);
const stillAnswering = await answers(URL) || (await answers("http://127.0.0.1:8788/_received"));
if (!stop || stillAnswering) process.kill(-dev.pid, "SIGKILL");

if (ready === null) {
  console.log(output);
  throw new Error("make dev never answered /healthz");
}
console.log("make dev, build current:");
console.log(`  /healthz answered after ${ready.toFixed(1)} s (target ≤ ${TARGET_S} s: ${ready <= TARGET_S ? "met" : "NOT met"})`);
console.log(`  wasm compiled during the start: ${builds} time(s) (target: 0 when current)`);
console.log(`  Ctrl-C: ${stop && !stillAnswering ? "stopped the worker and the origin" : "did NOT stop everything"}`);
