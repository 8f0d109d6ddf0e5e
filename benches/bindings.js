// Time `Cluster.fromYaml(text).render()` in the Node binding (see benches/bindings.sh).
// Usage: node benches/bindings.js ADDON_DIR SPEC_FILE RUNS
// Prints the best process CPU time (user + system) of the call, in seconds.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const [addonDir, specFile, runsArg] = process.argv.slice(2);
const { Cluster } = require(path.resolve(addonDir));
const text = fs.readFileSync(specFile, 'utf8');
const runs = Number(runsArg);
let best = Infinity;
for (let i = 0; i < runs; i++) {
  if (global.gc) global.gc();
  const start = process.cpuUsage();
  const files = Cluster.fromYaml(text).render();
  const used = process.cpuUsage(start);
  if (Object.keys(files).length === 0) throw new Error('no files rendered');
  best = Math.min(best, (used.user + used.system) / 1e6);
}
console.log(best.toFixed(6));
