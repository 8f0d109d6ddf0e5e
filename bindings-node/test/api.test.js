// The API surface: reading, validating, rendering, nodes, codes, MTU and NO_PROXY.
'use strict'

const { test } = require('node:test')
const assert = require('node:assert/strict')
const meshspec = require('meshspec')
const { lab, labObject } = require('./helpers.js')

test('fromYaml reads a spec and exposes its name and nodes', () => {
  const c = meshspec.Cluster.fromYaml(lab)
  assert.ok(c instanceof meshspec.Cluster)
  assert.equal(c.name, 'lab')
  assert.deepEqual(c.nodeNames, ['a', 'b'])
})

test('fromObject reads the same spec from a plain object', () => {
  const fromYaml = meshspec.Cluster.fromYaml(lab)
  const fromObject = meshspec.Cluster.fromObject(labObject)
  assert.equal(fromObject.name, 'lab')
  assert.deepEqual(fromObject.render(), fromYaml.render())
})

test('validate returns plain diagnostic objects and never throws', () => {
  const clean = meshspec.Cluster.fromYaml(lab).validate()
  assert.deepEqual(clean.filter((d) => d.severity === 'error'), [])
  assert.ok(clean.every((d) => ['warning', 'info'].includes(d.severity)))
  const bad = meshspec.Cluster.fromYaml(lab + 'network: {cluster_cidr: 10.40.0.0/14}\n')
  const diagnostics = bad.validate()
  const d = diagnostics.find((x) => x.code === 'MS101')
  assert.ok(d, 'MS101 is reported')
  assert.deepEqual(Object.keys(d), ['code', 'slug', 'severity', 'path', 'line', 'column', 'message', 'help', 'acknowledged', 'reason'])
  assert.equal(d.acknowledged, false)
  assert.equal(d.reason, null)
  assert.equal(d.slug, 'pod-service-overlap')
  assert.equal(d.severity, 'error')
  assert.equal(typeof d.message, 'string')
})

test('a finding the spec acknowledges is marked, with its reason', () => {
  const spec = lab + 'acknowledge: [{code: MS801, reason: the tailnet policy is managed elsewhere}]\n'
  const d = meshspec.Cluster.fromYaml(spec).validate().find((x) => x.code === 'MS801')
  assert.equal(d.acknowledged, true)
  assert.equal(d.reason, 'the tailnet policy is managed elsewhere')
})

test('render returns every file keyed by path with contents and mode', () => {
  const files = meshspec.Cluster.fromYaml(lab, { name: 'lab.yaml' }).render()
  const paths = Object.keys(files)
  assert.deepEqual(paths, [...paths].sort(), 'paths come sorted')
  for (const p of ['PLAN.md', 'nodes/a/etc/rancher/k3s/config.yaml', 'nodes/b/etc/rancher/k3s/config.yaml']) {
    assert.ok(paths.includes(p), p)
  }
  const server = files['nodes/a/etc/rancher/k3s/config.yaml']
  assert.deepEqual(Object.keys(server), ['contents', 'mode'])
  assert.equal(server.mode, 0o600)
  assert.match(server.contents, /from lab\.yaml/)
  assert.match(server.contents, /^node-ip: "100\.64\.0\.1"$/m)
  assert.ok(Object.values(files).every((f) => typeof f.contents === 'string' && Number.isInteger(f.mode)))
})

test('node returns the resolved node with its config and files', () => {
  const c = meshspec.Cluster.fromYaml(lab)
  const b = c.node('b')
  assert.equal(b.name, 'b')
  assert.equal(b.role, 'agent')
  assert.equal(b.site, null)
  assert.equal(b.init, false)
  assert.deepEqual(b.nodeIp, ['100.64.0.2'])
  assert.deepEqual(b.meshIp, ['100.64.0.2'])
  assert.equal(b.advertiseAddress, null)
  assert.deepEqual(b.podCidr, ['10.42.1.0/24'])
  assert.deepEqual(b.labels, {})
  assert.deepEqual(b.taints, [])
  assert.equal(b.config.server, 'https://100.64.0.1:6443')
  assert.deepEqual(b.configEntries.map((e) => e.key), ['server', 'token-file', 'node-ip', 'flannel-iface'])
  assert.equal(b.configEntries[2].origin, 'nodes[1].mesh_ip')
  const all = c.render()
  const expected = Object.keys(all)
    .filter((p) => p.startsWith('nodes/b/'))
    .map((p) => p.slice('nodes/b/'.length))
  assert.ok(expected.includes('etc/rancher/k3s/config.yaml'))
  assert.deepEqual(Object.keys(b.files), expected)
  for (const p of expected) assert.deepEqual(b.files[p], all[`nodes/b/${p}`], p)
  assert.equal(c.node('a').role, 'server')
  assert.equal(c.node('a').init, true)
})

test('plan is the PLAN.md of the bundle and lists errors instead of throwing', () => {
  const c = meshspec.Cluster.fromYaml(lab)
  assert.match(c.plan(), /^# Plan for cluster `lab`\n/)
  assert.equal(c.plan(), c.render()['PLAN.md'].contents)
  const bad = meshspec.Cluster.fromYaml(lab + 'network: {cluster_cidr: 10.40.0.0/14}\n')
  assert.match(bad.plan(), /MS101/)
})

test('node returns null for an unknown name', () => {
  assert.equal(meshspec.Cluster.fromYaml(lab).node('nope'), null)
})

test('codes lists every rule and explain prints its page', () => {
  const codes = meshspec.codes()
  assert.ok(codes.length >= 60)
  assert.deepEqual(codes[0], {
    code: 'MS001',
    slug: 'yaml-syntax',
    severity: 'error',
    summary: codes[0].summary,
  })
  assert.ok(codes.every((c) => /^MS\d{3}$/.test(c.code) && ['error', 'warning', 'info'].includes(c.severity)))
  for (const c of codes) assert.equal(typeof meshspec.explain(c.code), 'string', c.code)
  assert.match(meshspec.explain('MS101'), /^# MS101/)
  assert.equal(meshspec.explain('pod-service-overlap'), meshspec.explain('ms101'))
  assert.equal(meshspec.explain('MS999'), null)
})

test('mtu gives the smallest pod MTU and every node stack', () => {
  const c = meshspec.Cluster.fromYaml(lab)
  const mtu = c.mtu()
  assert.deepEqual(Object.keys(mtu.nodes), ['a', 'b'])
  const stack = mtu.nodes.a
  assert.equal(stack.layers.at(-1).mtu, stack.podMtu)
  assert.equal(stack.layers[0].mtu, stack.underlayMtu)
  assert.equal(mtu.podMtu, Math.min(mtu.nodes.a.podMtu, mtu.nodes.b.podMtu))
  assert.deepEqual(stack.violations, [])
  assert.match(stack.table, /tailscale0/)
})

test('noProxy is null without a proxy block and a list with one', () => {
  assert.equal(meshspec.Cluster.fromYaml(lab).noProxy(), null)
  const entries = meshspec.Cluster.fromYaml(lab + 'proxy: {style: broad}\n').noProxy()
  assert.ok(entries.includes('100.64.0.0/10'))
  assert.ok(entries.includes('localhost'))
})

test('mtu() is the stand-alone calculator: the seeds pod MTU and a stack that does not fit', () => {
  const seed = meshspec.mtu()
  assert.equal(seed.podMtu, 1230)
  assert.deepEqual(seed.layers.map((l) => l.mtu), [1500, 1280, 1230, 1230])
  assert.deepEqual(seed.violations, [])
  const pppoe = meshspec.mtu({ underlay: 1492, mesh: 'wireguard', tunnel: 'vxlan' })
  assert.equal(pppoe.violations.length, 1)
  assert.equal(pppoe.violations[0].excess, 8)
  assert.equal(meshspec.mtu({ mesh: 'none', tunnel: 'none', underlay: 9000 }).podMtu, 9000)
  assert.throws(() => meshspec.mtu({ mesh: 'zerotier' }), /`mesh` is `zerotier`/)
})

test('checkNoProxy reports what a NO_PROXY line in use misses (MS501) and malformed entries (MS502)', () => {
  const c = meshspec.Cluster.fromYaml(lab)
  const found = c.checkNoProxy('localhost,127.0.0.0/8,10.0.0.0/8')
  assert.deepEqual(found.map((d) => d.code), ['MS501'])
  assert.match(found[0].help, /100\.64\.0\.0\/10/)
  assert.deepEqual(c.checkNoProxy('http://proxy:3128').map((d) => d.code).sort(), ['MS501', 'MS502'])
})

test('schema() is the committed JSON Schema', () => {
  const { read } = require('./helpers')
  assert.deepEqual(meshspec.schema(), JSON.parse(read('schema', 'meshspec.schema.json')))
})

test('starter() writes a spec that validates as written', () => {
  const text = meshspec.starter({ provider: 'netbird', cni: 'cilium', sites: ['home', 'cloud'] })
  const errors = meshspec.Cluster.fromYaml(text).validate().filter((d) => d.severity === 'error')
  assert.deepEqual(errors, [])
  assert.match(text, /provider: netbird/)
  assert.throws(() => meshspec.starter({ provider: 'zerotier' }), /zerotier/)
})
