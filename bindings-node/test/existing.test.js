// Clusters that already exist: lint, Cluster.checkLive and importCluster, with the CLI's codes.
'use strict'

const { test } = require('node:test')
const assert = require('node:assert/strict')
const meshspec = require('meshspec')
const { read } = require('./helpers.js')

const seedNodes = ['k3s-master', 'k3s-worker-01', 'k3s-worker-02', 'k3s-gpu-worker']

test('lint finds a typo with file, line and column, and merges drop-ins', () => {
  const findings = meshspec.lint(
    [[
      { name: 'gpu/config.yaml', text: 'server: https://100.64.0.1:6443\nkublet-arg: [max-pods=200]\n' },
      { name: 'gpu/config.yaml.d/10.yaml', text: 'node-taint+: [gpu=true:NoSchedul]\n' },
    ]],
    { role: 'agent' },
  )
  assert.deepEqual(findings.map((f) => [f.code, f.file, f.line]), [
    ['MS402', 'gpu/config.yaml', 2],
    ['MS602', 'gpu/config.yaml.d/10.yaml', 1],
  ])
  assert.match(findings[0].help, /kubelet-arg/)
  assert.throws(() => meshspec.lint([[]], { role: 'master' }), /master/)
})

test('checkLive: the healthy seed is clean, the broken one names node and both addresses', () => {
  const seed = meshspec.Cluster.fromYaml(read('tests/fixtures/valid/seed-flannel.yaml'))
  assert.deepEqual(seed.checkLive(read('tests/fixtures/live/seed-flannel.nodes.json')), [])
  const spec = meshspec.Cluster.fromYaml(read('tests/fixtures/invalid/MS953.yaml'))
  const [d] = spec.checkLive(read('tests/fixtures/invalid/MS953.nodes.json'))
  assert.equal(d.code, 'MS953')
  assert.equal(d.severity, 'error')
  assert.match(d.message, /k3s-gpu-worker.*192\.168\.0\.25.*100\.80\.98\.64/)
  assert.throws(() => seed.checkLive('{"items": ['), (e) => meshspec.isMeshspecError(e) && e.code === 'MS001')
})

test('importCluster turns the seed configs into a spec that reproduces them', () => {
  const nodes = seedNodes.map((name) => ({
    name,
    files: [{ name: `${name}.yaml`, text: read('tests/fixtures/import/seed-flannel', `${name}.yaml`) }],
  }))
  const result = meshspec.importCluster(nodes, {
    name: 'homelab',
    nodesJson: read('tests/fixtures/live/seed-flannel.nodes.json'),
  })
  assert.deepEqual(result.diagnostics.filter((d) => d.severity === 'error'), [])
  assert.equal(result.restarts[0], 'k3s-master')
  const worker = result.changes.find((c) => c.node === 'k3s-worker-01')
  assert.deepEqual(worker.added, ['server', 'token-file'])
  const cluster = meshspec.Cluster.fromYaml(result.spec)
  assert.equal(cluster.node('k3s-worker-01').config['node-ip'], '192.168.2.21')
  const bare = meshspec.importCluster(nodes)
  assert.ok(bare.todos.some((t) => t.path === 'nodes[1].mesh_ip'))
})
