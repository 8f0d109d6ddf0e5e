/**
 * Unit tests of the program with Pulumi's runtime mocks: no Pulumi CLI, no provider plugins,
 * no cluster and no network. Resources are recorded as they are registered and their inputs
 * compared with what meshspec renders.
 */
import { test, before } from 'node:test'
import assert from 'node:assert/strict'
import * as path from 'node:path'
import { readFileSync } from 'node:fs'
import * as pulumi from '@pulumi/pulumi'
import { parse as parseYaml } from 'yaml'
import { Cluster, isMeshspecError } from 'meshspec'

const specs = path.join(__dirname, '..', '..', 'specs')
const ciliumSpec = readFileSync(path.join(specs, 'cilium-vxlan-over-tailscale.yaml'), 'utf8')
const flannelSpec = readFileSync(path.join(specs, 'flannel-over-tailscale-gpu-worker.yaml'), 'utf8')
const CILIUM_VALUES = 'cluster/cilium-values.yaml'
const fixtures = path.join(__dirname, '..', '..', '..', 'tests', 'fixtures')
const liveJson = (name: string) => readFileSync(path.join(fixtures, name), 'utf8')

const created: pulumi.runtime.MockResourceArgs[] = []

before(async () => {
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        created.push(args)
        // the check after the rollout: what `kubectl get nodes -o json` prints on the seeds
        if (args.name.endsWith('-check-live')) {
          const seed = args.name.startsWith('fl-') ? 'seed-flannel' : 'seed-cilium'
          return { id: `${args.name}-id`, state: { ...args.inputs, stdout: liveJson(`live/${seed}.nodes.json`) } }
        }
        return { id: `${args.name}-id`, state: args.inputs }
      },
      call(args) {
        return args.inputs
      },
    },
    'meshspec',
    'test',
    false,
  )
})

/** Imports the component only after the mocks are in place. */
const load = () => import('./cluster.js')
const valueOf = <T>(o: pulumi.Output<T>) => new Promise<T>((resolve) => o.apply(resolve))
const named = (type: string, prefix: string) =>
  created.filter((r) => r.type === type && r.name.startsWith(`${prefix}-`) && !r.name.endsWith('-check-live'))

/** Builds a component and waits until every child is registered with the mock monitor. */
async function build(name: string, specYaml: string) {
  const { MeshCluster } = await load()
  const c = new MeshCluster(name, { specYaml, specName: 'spec.yaml' })
  await Promise.all(c.files.map((f) => valueOf(f.resource.id)))
  if (c.cilium) await valueOf(c.cilium.id)
  return c
}

/** What the component must declare for a spec: one command per node and system file (`etc/`). */
function expectedFiles(prefix: string, specYaml: string) {
  const cluster = Cluster.fromYaml(specYaml, { name: 'spec.yaml' })
  return cluster.nodeNames.flatMap((n) => {
    const node = cluster.node(n)!
    const system = Object.entries(node.files).filter(([rel]) => rel.startsWith('etc/'))
    return system.map(([rel, file]) => ({
      name: `${prefix}-${n}/${rel}`,
      path: `/${rel}`,
      host: node.meshIp[0],
      file,
    }))
  })
}

test('one file resource per node and path, keyed on the contents', async () => {
  await build('cil', ciliumSpec)
  const expected = expectedFiles('cil', ciliumSpec)
  const commands = named('command:remote:Command', 'cil')
  assert.deepEqual(commands.map((c) => c.name).sort(), expected.map((e) => e.name).sort())
  for (const e of expected) {
    const inputs = commands.find((c) => c.name === e.name)!.inputs
    assert.equal(inputs.stdin, e.file.contents, e.name)
    assert.deepEqual(inputs.triggers, [e.file.contents, e.file.mode], e.name)
    assert.equal(inputs.connection.host, e.host, e.name)
    assert.equal(inputs.connection.user, 'root', e.name)
    const mode = e.file.mode.toString(8).padStart(4, '0')
    assert.equal(inputs.create, `install -D -m ${mode} /dev/stdin '${e.path}'`, e.name)
    assert.equal(inputs.delete, `rm -f '${e.path}'`, e.name)
  }
  assert.ok(commands.some((c) => c.name === 'cil-worker/etc/systemd/system/k3s-agent.service.d/10-mesh.conf'))
  assert.ok(!commands.some((c) => c.name.endsWith('/install.sh')), 'install.sh is not a system file')
  const master = commands.find((c) => c.name === 'cil-beelink/etc/rancher/k3s/config.yaml')!
  assert.equal(master.inputs.connection.host, '100.113.23.108')
  assert.equal(master.inputs.create, "install -D -m 0600 /dev/stdin '/etc/rancher/k3s/config.yaml'")
  assert.match(master.inputs.stdin, /^cluster-init: true$/m)
  assert.match(master.inputs.stdin, /^flannel-backend: none$/m)
})

test('the Cilium release gets the values meshspec rendered', async () => {
  const c = await build('rel', ciliumSpec)
  const rendered = Cluster.fromYaml(ciliumSpec).render()[CILIUM_VALUES]
  assert.ok(rendered, 'meshspec renders the Cilium values')
  const releases = named('kubernetes:helm.sh/v3:Release', 'rel')
  assert.equal(releases.length, 1)
  const inputs = releases[0]!.inputs
  assert.equal(inputs.chart, 'cilium')
  assert.equal(inputs.namespace, 'kube-system')
  assert.equal(inputs.repositoryOpts.repo, 'https://helm.cilium.io')
  assert.deepEqual(inputs.values, parseYaml(rendered.contents))
  assert.deepEqual(c.ciliumValues, parseYaml(rendered.contents))
})

test('a flannel spec declares files only, one per node and path', async () => {
  await build('fl', flannelSpec)
  const commands = named('command:remote:Command', 'fl')
  const expected = expectedFiles('fl', flannelSpec)
  assert.deepEqual(commands.map((c) => c.name).sort(), expected.map((e) => e.name).sort())
  for (const n of ['k3s-master', 'k3s-worker-01', 'k3s-worker-02', 'k3s-gpu-worker']) {
    assert.ok(commands.some((c) => c.name === `fl-${n}/etc/rancher/k3s/config.yaml`), n)
  }
  const gpu = commands.find((c) => c.name === 'fl-k3s-gpu-worker/etc/rancher/k3s/config.yaml')!
  assert.equal(gpu.inputs.connection.host, '100.80.98.64')
  assert.deepEqual(named('kubernetes:helm.sh/v3:Release', 'fl'), [])
})

test('a broken spec throws the MeshspecError at construction', async () => {
  const { MeshCluster } = await load()
  const broken = ciliumSpec.replace('\nnodes:', '\nnetwork: {cluster_cidr: 10.40.0.0/14}\nnodes:')
  assert.throws(
    () => new MeshCluster('bad', { specYaml: broken, specName: 'cluster.yaml' }),
    (e: unknown) => isMeshspecError(e) && e.code === 'MS101' && /--> cluster\.yaml:\d+:\d+/.test(e.message),
  )
  await new Promise((resolve) => setImmediate(resolve))
  assert.deepEqual(named('command:remote:Command', 'bad'), [])
})

test('the program declares the seed Cilium spec', async () => {
  const program = await import('./index.js')
  assert.equal(program.clusterName, 'beelink')
  assert.deepEqual(
    [...program.files].sort(),
    expectedFiles('mesh', ciliumSpec)
      .map((e) => `${e.name.slice('mesh-'.length).split('/')[0]}:${e.path}`)
      .sort(),
  )
  assert.ok(program.files.includes('beelink:/etc/rancher/k3s/config.yaml'))
})

test('after the rollout the first server runs kubectl and the nodes are checked against the spec', async () => {
  const c = await build('fl', flannelSpec)
  const check = created.find((r) => r.name === 'fl-check-live')!
  assert.equal(check.type, 'command:remote:Command')
  assert.equal(check.inputs.connection.host, '100.84.89.67')
  assert.equal(check.inputs.create, 'k3s kubectl get nodes -o json')
  assert.deepEqual(await valueOf(c.liveDiagnostics), [])
})

test('the live check fails the update with the diagnostics of a broken cluster', async () => {
  const { checkLive } = await load()
  const spec = Cluster.fromYaml(readFileSync(path.join(fixtures, 'invalid', 'MS953.yaml'), 'utf8'))
  assert.throws(
    () => checkLive(spec, liveJson('invalid/MS953.nodes.json')),
    /error\[MS953\]: node `k3s-gpu-worker` registered with InternalIP `192\.168\.0\.25`/,
  )
  // warnings are returned, not thrown
  const warned = Cluster.fromYaml(readFileSync(path.join(fixtures, 'invalid', 'MS956.yaml'), 'utf8'))
  assert.deepEqual(
    checkLive(warned, liveJson('invalid/MS956.nodes.json')).map((d) => d.code),
    ['MS956'],
  )
})
