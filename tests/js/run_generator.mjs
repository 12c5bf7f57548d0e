// Runs synthbook/widgets/generator.mjs in Node for the parity test.
// argv: module path, meta JSON path, weights path, cases JSON path, output path.
// Writes float32 images (case after case, 8 x 784 each) to the output path.
import { readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const [modulePath, metaPath, weightsPath, casesPath, outPath] = process.argv.slice(2);
const gen = await import(pathToFileURL(modulePath).href);
const bundle = gen.decode(JSON.parse(readFileSync(metaPath, "utf8")), readFileSync(weightsPath));
const cases = JSON.parse(readFileSync(casesPath, "utf8"));
const parts = [];
const started = process.hrtime.bigint();
for (const knobs of cases) parts.push(gen.generate(bundle, knobs));
const ms = Number(process.hrtime.bigint() - started) / 1e6;
const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
let at = 0;
for (const p of parts) { out.set(p, at); at += p.length; }
writeFileSync(outPath, Buffer.from(out.buffer));
const alts = cases.map((knobs) => gen.describe(bundle, knobs));
console.log(JSON.stringify({ ms: ms, alts: alts }));
