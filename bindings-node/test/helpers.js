// Shared fixtures for the binding's tests: spec text and paths into the repository.
'use strict'

const fs = require('node:fs')
const path = require('node:path')

const repo = path.resolve(__dirname, '..', '..')

/** Reads a file of the repository as text. */
function read(...parts) {
  return fs.readFileSync(path.join(repo, ...parts), 'utf8')
}

/** A two-node spec with no problems. */
const lab = `version: 1
name: lab
nodes:
  - {name: a, role: server, mesh_ip: 100.64.0.1}
  - {name: b, role: agent, mesh_ip: 100.64.0.2}
`

/** The same spec as a plain object, as a Pulumi config would hold it. */
const labObject = {
  version: 1,
  name: 'lab',
  nodes: [
    { name: 'a', role: 'server', mesh_ip: '100.64.0.1' },
    { name: 'b', role: 'agent', mesh_ip: '100.64.0.2' },
  ],
}

module.exports = { repo, read, lab, labObject }
