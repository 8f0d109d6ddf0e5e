// Time `Cluster.fromYaml(text).render()` in the Node binding (see benches/bindings.sh).
// Usage: node benches/bindings.js ADDON_DIR SPEC_FILE RUNS
// Prints the best process CPU time (user + system) of the call, in seconds. With
// MESHSPEC_BENCH_TOUCH=1 it also times reading every file once (render() converts a file to a
// JS object when it is first read, so this is what writing them all out costs on top). With
// MESHSPEC_BENCH_NODES=1 it times a loop of `cluster.node(name)` over every node instead of
// render() (what the Pulumi example does; goal: at most 2x one render()).
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const [addonDir, specFile, runsArg] = process.argv.slice(2);
const { Cluster } = require(path.resolve(addonDir));
const text = fs.readFileSync(specFile, 'utf8');
const runs = Number(runsArg);
const touch = process.env.MESHSPEC_BENCH_TOUCH === '1';
const perNode = process.env.MESHSPEC_BENCH_NODES === '1';

async function main() {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    // let the previous run's bundle be collected and its native memory freed (Node-API
    // finalizers run on the event loop), so no run pays for another's garbage
    await new Promise((resolve) => setImmediate(resolve));
    if (global.gc) global.gc();
    await new Promise((resolve) => setImmediate(resolve));
    const start = process.cpuUsage();
    const cluster = Cluster.fromYaml(text);
    const files = perNode ? cluster.nodeNames.map((n) => cluster.node(n).files) : cluster.render();
    if (touch && !perNode) {
      for (const p in files) files[p].contents; // eslint-disable-line no-unused-expressions
    }
    const used = process.cpuUsage(start);
    if (Object.keys(files).length === 0) throw new Error('no files rendered');
    best = Math.min(best, (used.user + used.system) / 1e6);
  }
  console.log(best.toFixed(6));
}

main();
