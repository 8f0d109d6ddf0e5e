// The two seed specs of examples/specs/, rendered through the binding.
'use strict'

const { test } = require('node:test')
const assert = require('node:assert/strict')
const { Cluster } = require('meshspec')
const { read } = require('./helpers.js')

const load = (name) => Cluster.fromYaml(read('examples', 'specs', name), { name })

test('cilium-vxlan-over-tailscale: the master config', () => {
  const c = load('cilium-vxlan-over-tailscale.yaml')
  assert.equal(c.name, 'beelink')
  assert.deepEqual(c.nodeNames, ['beelink', 'worker'])
  assert.deepEqual(c.validate().filter((d) => d.severity === 'error'), [])
  const master = c.node('beelink')
  assert.equal(master.role, 'server')
  assert.deepEqual(master.nodeIp, ['100.113.23.108'])
  assert.equal(master.config['node-ip'], '100.113.23.108')
  assert.equal(master.config['cluster-init'], true)
  assert.deepEqual(master.config.disable, ['traefik'])
  assert.equal(master.config['flannel-backend'], 'none')
  assert.equal(master.config['disable-network-policy'], true)
  assert.deepEqual(master.podCidr, ['10.42.0.0/24'])
})

test('cilium-vxlan-over-tailscale: the worker joins the master over the mesh', () => {
  const worker = load('cilium-vxlan-over-tailscale.yaml').node('worker')
  assert.equal(worker.role, 'agent')
  assert.deepEqual(worker.nodeIp, ['100.96.103.31'])
  assert.equal(worker.config.server, 'https://100.113.23.108:6443')
  assert.deepEqual(worker.podCidr, ['10.42.1.0/24'])
})

test('cilium-vxlan-over-tailscale: the Cilium values are rendered', () => {
  const files = load('cilium-vxlan-over-tailscale.yaml').render()
  assert.ok('cluster/cilium-values.yaml' in files, `files: ${Object.keys(files).join(', ')}`)
  assert.match(files['cluster/cilium-values.yaml'].contents, /routingMode: tunnel/)
  assert.ok('nodes/beelink/etc/rancher/k3s/config.yaml' in files)
})

test('cilium-vxlan-over-tailscale: pods get the Tailscale MTU minus VXLAN', () => {
  assert.equal(load('cilium-vxlan-over-tailscale.yaml').mtu().podMtu, 1230)
})

test('flannel-over-tailscale-gpu-worker: LAN node-ips at home, mesh for the GPU worker', () => {
  const c = load('flannel-over-tailscale-gpu-worker.yaml')
  assert.equal(c.name, 'homelab')
  assert.deepEqual(c.nodeNames, ['k3s-master', 'k3s-worker-01', 'k3s-worker-02', 'k3s-gpu-worker'])
  const master = c.node('k3s-master')
  assert.deepEqual(master.nodeIp, ['192.168.2.20'])
  assert.equal(master.advertiseAddress, '100.84.89.67')
  assert.equal(master.site, 'home')
  assert.equal(master.config['flannel-iface'], 'tailscale0')
  assert.deepEqual(master.config['tls-san'], ['100.84.89.67', '192.168.2.20'])
  const gpu = c.node('k3s-gpu-worker')
  assert.equal(gpu.gpu, true)
  assert.deepEqual(gpu.nodeIp, ['100.80.98.64'])
  assert.equal(gpu.config.server, 'https://100.84.89.67:6443')
  assert.deepEqual(gpu.taints, ['gpu=true:NoSchedule'])
  assert.equal(gpu.labels['nvidia.com/gpu'], 'true')
  assert.equal(gpu.labels['gpu-type'], 'rtx3060')
})

test('flannel-over-tailscale-gpu-worker: broad NO_PROXY with the extras', () => {
  const entries = load('flannel-over-tailscale-gpu-worker.yaml').noProxy()
  for (const e of ['10.0.0.0/8', '100.64.0.0/10', '192.168.0.0/16', 'localhost', '.local']) {
    assert.ok(entries.includes(e), `${e} in ${entries.join(',')}`)
  }
})

test('flannel-over-tailscale-gpu-worker: renders one k3s config per node, no Cilium values', () => {
  const files = load('flannel-over-tailscale-gpu-worker.yaml').render()
  for (const n of ['k3s-master', 'k3s-worker-01', 'k3s-worker-02', 'k3s-gpu-worker']) {
    assert.ok(`nodes/${n}/etc/rancher/k3s/config.yaml` in files, n)
  }
  assert.ok(!('cluster/cilium-values.yaml' in files))
})
