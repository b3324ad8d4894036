// Asserts what tsc alone cannot: that calls.ts calls every operation of the
// document, and that tsc refused each line of wrong.ts marked WRONG.
import { readFileSync } from "node:fs";

const [mode, arg] = process.argv.slice(2);
if (mode === "coverage") {
  const doc = JSON.parse(readFileSync("openapi.json", "utf8"));
  const calls = readFileSync("calls.ts", "utf8");
  const missing = [];
  let n = 0;
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of Object.keys(item)) {
      n++;
      if (!calls.includes(`api.${method.toUpperCase()}("${path}"`)) missing.push(`${method.toUpperCase()} ${path}`);
    }
  }
  if (missing.length) {
    console.error(`calls.ts does not call ${missing.length} of ${n} operations:\n  ${missing.join("\n  ")}`);
    process.exit(1);
  }
  console.log(`calls.ts calls all ${n} operations`);
} else if (mode === "wrong") {
  const out = readFileSync(arg, "utf8");
  const lines = readFileSync("wrong.ts", "utf8").split("\n");
  const refused = new Set([...out.matchAll(/wrong\.ts\((\d+),/g)].map((m) => Number(m[1])));
  const accepted = [];
  lines.forEach((l, i) => {
    if (l.includes("// WRONG") && !refused.has(i + 1)) accepted.push(`${i + 1}: ${l.trim()}`);
  });
  if (accepted.length) {
    console.error(`tsc accepted wrong calls:\n  ${accepted.join("\n  ")}`);
    process.exit(1);
  }
  console.log(`tsc refused all ${lines.filter((l) => l.includes("// WRONG")).length} wrong calls`);
}
