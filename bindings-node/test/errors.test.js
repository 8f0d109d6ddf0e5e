// The error contract: a refused spec throws a MeshspecError carrying every diagnostic.
'use strict'

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { Cluster, isMeshspecError } = require('meshspec')
const { lab, labObject, repo } = require('./helpers.js')

/** Runs `fn`, returning what it throws (fails when it does not throw). */
function caught(fn) {
  try {
    fn()
  } catch (e) {
    return e
  }
  assert.fail('expected a throw')
}

test('a reading error is a MeshspecError with code, position and help', () => {
  const e = caught(() => Cluster.fromYaml(lab + 'netwrk: {}\n', { name: 'cluster.yaml' }))
  assert.ok(e instanceof Error)
  assert.ok(isMeshspecError(e))
  assert.equal(e.name, 'MeshspecError')
  assert.equal(e.code, 'MS002')
  assert.deepEqual(e.diagnostics, [
    {
      code: 'MS002',
      slug: 'unknown-field',
      severity: 'error',
      path: 'netwrk',
      line: 6,
      column: 1,
      message: e.diagnostics[0].message,
      help: e.diagnostics[0].help,
      acknowledged: false,
      reason: null,
    },
  ])
  assert.match(e.diagnostics[0].help, /network/)
})

test('a reading error comes with the rule errors that could still run: one round, not two', () => {
  // an unknown key beside pod and service networks that overlap: both at once
  const text = 'version: 1\nname: lab\nnetwrk: {}\nnetwork: {cluster_cidr: 10.43.0.0/16}\nnodes:\n  - {name: a, role: server, mesh_ip: 100.64.0.1}\n'
  const e = caught(() => Cluster.fromYaml(text, { name: 'cluster.yaml' }))
  assert.ok(isMeshspecError(e))
  assert.deepEqual(
    e.diagnostics.map((d) => d.code),
    ['MS002', 'MS101'],
  )
  assert.ok(e.diagnostics.every((d) => d.severity === 'error'))
})

test('the message reads like the CLI text output', () => {
  const e = caught(() => Cluster.fromYaml(lab + 'netwrk: {}\n', { name: 'cluster.yaml' }))
  const lines = e.message.split('\n')
  assert.match(lines[0], /^error\[MS002\]: /)
  assert.equal(lines[1], '  --> cluster.yaml:6:1 (netwrk)')
  assert.ok(lines.includes('6 | netwrk: {}'))
  assert.ok(lines.some((l) => l.startsWith('  = help: ')))
  assert.equal(lines.at(-1), '1 error, 0 warnings, 0 info')
})

test('a rule error throws from render with every diagnostic', () => {
  const c = Cluster.fromYaml(lab + 'network: {cluster_cidr: 10.40.0.0/14}\n', { name: 'cluster.yaml' })
  const e = caught(() => c.render())
  assert.ok(isMeshspecError(e))
  assert.equal(e.code, 'MS101')
  assert.deepEqual(e.diagnostics, c.validate())
  assert.match(e.message, /^error\[MS101\]: /)
  assert.match(e.message, /--> cluster\.yaml:\d+:\d+/)
  const n = caught(() => c.node('a'))
  assert.equal(n.code, 'MS101')
})

test('an object spec reports paths without positions', () => {
  const e = caught(() => Cluster.fromObject({ ...labObject, version: 2 }))
  assert.ok(isMeshspecError(e))
  assert.equal(e.code, 'MS005')
  assert.equal(e.diagnostics[0].path, 'version')
  assert.equal(e.diagnostics[0].line, null)
  assert.equal(e.diagnostics[0].column, null)
  assert.match(e.message, /--> <spec> \(version\)/)
})

test('a wrong argument type is an ordinary error, not a MeshspecError', () => {
  const e = caught(() => Cluster.fromYaml(42))
  assert.ok(e instanceof Error)
  assert.equal(isMeshspecError(e), false)
})

test('isMeshspecError rejects everything else', () => {
  for (const v of [new Error('x'), { name: 'MeshspecError' }, 'MeshspecError', null, undefined, 3]) {
    assert.equal(isMeshspecError(v), false)
  }
  const forged = new Error('x')
  forged.name = 'MeshspecError'
  assert.equal(isMeshspecError(forged), true, 'the guard checks the name of an Error')
})

test('every invalid fixture: render throws exactly when validate has an error', () => {
  const dir = path.join(repo, 'tests', 'fixtures', 'invalid')
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.yaml'))
  assert.ok(files.length > 0)
  for (const file of files) {
    const text = fs.readFileSync(path.join(dir, file), 'utf8')
    let cluster
    try {
      cluster = Cluster.fromYaml(text, { name: file })
    } catch (e) {
      assert.ok(isMeshspecError(e), file)
      // reading errors (MS0xx), and MS820: a WireGuard key is checked when the spec is read
      assert.match(e.code, /^MS(0\d\d|820)$/, file)
      assert.ok(e.diagnostics.length > 0, file)
      continue
    }
    const diagnostics = cluster.validate()
    const errors = diagnostics.filter((d) => d.severity === 'error')
    if (errors.length === 0) {
      assert.equal(typeof cluster.render(), 'object', file)
      continue
    }
    const e = caught(() => cluster.render())
    assert.ok(isMeshspecError(e), file)
    assert.equal(e.code, errors[0].code, file)
    assert.deepEqual(e.diagnostics, diagnostics, file)
  }
})

test('finding 09: ten thousand unknown keys keep every diagnostic and a short message', () => {
  const keys = Array.from({ length: 10000 }, (_, i) => `k${i}: 1`).join(', ')
  const e = caught(() => Cluster.fromYaml(lab + `network: {${keys}}\n`))
  assert.ok(isMeshspecError(e))
  assert.equal(e.code, 'MS002')
  assert.equal(e.diagnostics.length, 10000)
  assert.ok(e.message.length < 1000000, `message is ${e.message.length} characters`)
  assert.match(e.message, /and 9950 more MS002 \(unknown-field\) not shown/)
})
