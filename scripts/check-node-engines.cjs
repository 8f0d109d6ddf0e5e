// Fails when a package locked in one of the project's npm trees does not support the running
// Node (what `npm ci` reports as `npm warn EBADENGINE`). Reads only the lockfiles: offline.
// Usage: node scripts/check-node-engines.cjs LOCKFILE...
'use strict'
const fs = require('node:fs')
const path = require('node:path')
const { execFileSync } = require('node:child_process')

// npm's own copy of `semver`, the module npm judges `engines` with
const npmRoot = execFileSync('npm', ['root', '-g'], { encoding: 'utf8' }).trim()
const semver = require(path.join(npmRoot, 'npm', 'node_modules', 'semver'))

let bad = 0
for (const lockfile of process.argv.slice(2)) {
  const lock = JSON.parse(fs.readFileSync(lockfile, 'utf8'))
  for (const [where, pkg] of Object.entries(lock.packages || {})) {
    const range = pkg.engines && typeof pkg.engines === 'object' ? pkg.engines.node : undefined
    if (where === '' || !range) continue
    if (!semver.satisfies(process.version, range, { includePrerelease: true })) {
      bad++
      console.error(`EBADENGINE ${lockfile}: ${where.replace(/^.*node_modules\//, '')}@${pkg.version} needs Node ${range}, this is ${process.version}`)
    }
  }
}
if (bad) {
  console.error(`error: ${bad} locked package(s) do not support Node ${process.version}: pin compatible versions (package.json "overrides") and regenerate the lockfile with 'npm install --package-lock-only'`)
  process.exit(1)
}
console.log(`every locked package supports Node ${process.version} (${process.argv.length - 2} lockfiles)`)
