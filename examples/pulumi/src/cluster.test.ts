/**
 * Unit tests of the program with Pulumi's runtime mocks: no Pulumi CLI, no provider plugins,
 * no cluster and no network. Resources are recorded as they are registered and their inputs
 * compared with what meshspec renders. Each mocked registration takes a few milliseconds and
 * is logged when sent and when done: a resource that depends on another is sent only after that
 * one is done, so the log shows the rollout order the program declared.
 */
import { test, before } from 'node:test'
import assert from 'node:assert/strict'
import * as path from 'node:path'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { createHash } from 'node:crypto'
import { execFileSync, spawnSync } from 'node:child_process'
import * as pulumi from '@pulumi/pulumi'
import { parse as parseYaml } from 'yaml'
import { Cluster, isMeshspecError } from 'meshspec'
import type { MeshClusterArgs } from './cluster.js'

const specs = path.join(__dirname, '..', '..', 'specs')
const ciliumSpec = readFileSync(path.join(specs, 'cilium-vxlan-over-tailscale.yaml'), 'utf8')
const flannelSpec = readFileSync(path.join(specs, 'flannel-over-tailscale-gpu-worker.yaml'), 'utf8')
const CILIUM_VALUES = 'cluster/cilium-values.yaml'
const fixtures = path.join(__dirname, '..', '..', '..', 'tests', 'fixtures')
const liveJson = (name: string) => readFileSync(path.join(fixtures, name), 'utf8')

const created: pulumi.runtime.MockResourceArgs[] = []
/** `start:<name>` when a resource is sent to the engine, `done:<name>` when it is created. */
const events: string[] = []

/** What `kubectl get nodes -o json` prints on a healthy cluster of the spec (Ready, right IPs). */
function healthyNodes(specYaml: string): string {
  const cluster = Cluster.fromYaml(specYaml)
  const items = cluster.nodeNames.map((n) => {
    const node = cluster.node(n)!
    return {
      metadata: { name: n, labels: { 'kubernetes.io/hostname': n, ...node.labels }, annotations: {} },
      spec: { podCIDR: node.podCidr[0], podCIDRs: node.podCidr, taints: [] },
      status: {
        addresses: [...node.nodeIp.map((address) => ({ type: 'InternalIP', address })), { type: 'Hostname', address: n }],
        conditions: [{ type: 'Ready', status: 'True' }],
        nodeInfo: {},
      },
    }
  })
  return JSON.stringify({ apiVersion: 'v1', kind: 'List', items })
}
/** The live nodes each test's cluster reports, by resource-name prefix. */
const liveNodes = new Map<string, string>()
/** The k3s.yaml the mocked first server holds. */
const K3S_YAML = 'apiVersion: v1\nclusters:\n- cluster:\n    server: https://127.0.0.1:6443\n  name: default\n'

before(async () => {
  await pulumi.runtime.setMocks(
    {
      async newResource(args) {
        created.push(args)
        events.push(`start:${args.name}`)
        // every registration takes a while, so one that does not wait for another overlaps it
        await new Promise((resolve) => setTimeout(resolve, 3))
        events.push(`done:${args.name}`)
        const prefix = args.name.split('-')[0]!
        let stdout: string | undefined
        if (args.name.endsWith('-check-live')) {
          // the check after the rollout: what `kubectl get nodes -o json` prints
          stdout = liveNodes.get(prefix) ?? liveJson(`live/${prefix === 'fl' ? 'seed-flannel' : 'seed-cilium'}.nodes.json`)
        } else if (args.name.endsWith('-kubeconfig')) {
          stdout = K3S_YAML
        } else if (args.name.endsWith('-verify')) {
          stdout = 'OK        test pods Ready\nMISMATCH  ping -M do -s 1203\nverify: 1 passed, 1 failed\nmeshspec-verify-exit: 1\n'
        }
        return { id: `${args.name}-id`, state: stdout === undefined ? args.inputs : { ...args.inputs, stdout } }
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
/** The registered file commands of a component (`<prefix>-<node>/<path>`). */
const named = (type: string, prefix: string) =>
  created.filter((r) => r.type === type && r.name.startsWith(`${prefix}-`) && r.name.includes('/'))
const one = (name: string) => {
  const found = created.filter((r) => r.name === name)
  assert.equal(found.length, 1, `one resource named ${name}`)
  return found[0]!
}
/** The value of a secret input as the mock monitor sees it; fails when it is not a secret. */
function secretValue(input: unknown): unknown {
  const wrapped = input as Record<string, unknown>
  assert.equal(wrapped?.[pulumi.runtime.specialSigKey], pulumi.runtime.specialSecretSig, 'a secret')
  return wrapped.value
}
/** The script inside `sh -c '<script>'`, unquoted by sh itself. */
function innerScript(create: string): string {
  assert.match(create, /^sh -c '/)
  return execFileSync('sh', ['-c', create.replace(/^sh -c /, "printf '%s' ")], { encoding: 'utf8' })
}
/** `a` was created before `b` was even sent: `b` waited for it. */
function assertBefore(a: string, b: string) {
  const done = events.indexOf(`done:${a}`)
  const start = events.indexOf(`start:${b}`)
  assert.ok(done >= 0, `${a} was created`)
  assert.ok(start >= 0, `${b} was created`)
  assert.ok(done < start, `${b} started before ${a} was done:\n${events.filter((e) => e.endsWith(a) || e.endsWith(b)).join('\n')}`)
}

/** Builds a component and waits until every child is registered with the mock monitor. */
async function build(name: string, specYaml: string, extra: Partial<MeshClusterArgs> = {}) {
  const { MeshCluster } = await load()
  const c = new MeshCluster(name, { specYaml, specName: 'spec.yaml', ...extra })
  await Promise.all(c.files.map((f) => valueOf(f.resource.id)))
  await Promise.all(c.rollout.map((r) => valueOf(r.restart.id)))
  if (c.cilium) await valueOf(c.cilium.id)
  await valueOf(c.verify.id)
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
  assert.ok(!commands.some((c) => c.name.endsWith('/install.sh')), 'install.sh is not written as a file: the install command takes it on stdin')
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
  const inputs = one('rel-cilium').inputs
  assert.equal(one('rel-cilium').type, 'kubernetes:helm.sh/v3:Release')
  assert.equal(inputs.chart, 'cilium')
  assert.equal(inputs.namespace, 'kube-system')
  assert.equal(inputs.repositoryOpts.repo, 'https://helm.cilium.io')
  assert.deepEqual(inputs.values, parseYaml(rendered.contents))
  assert.deepEqual(c.ciliumValues, parseYaml(rendered.contents))
})

test('a flannel spec: one file command per node and path, no Kubernetes resource', async () => {
  await build('fl', flannelSpec)
  const commands = named('command:remote:Command', 'fl')
  const expected = expectedFiles('fl', flannelSpec)
  assert.deepEqual(commands.map((c) => c.name).sort(), expected.map((e) => e.name).sort())
  for (const n of ['k3s-master', 'k3s-worker-01', 'k3s-worker-02', 'k3s-gpu-worker']) {
    assert.ok(commands.some((c) => c.name === `fl-${n}/etc/rancher/k3s/config.yaml`), n)
  }
  const gpu = commands.find((c) => c.name === 'fl-k3s-gpu-worker/etc/rancher/k3s/config.yaml')!
  assert.equal(gpu.inputs.connection.host, '100.80.98.64')
  assert.deepEqual(created.filter((r) => r.name.startsWith('fl-') && r.type.startsWith('kubernetes:')), [])
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
  assert.deepEqual(program.rolloutOrder, ['beelink (server)', 'worker (agent)'])
  assert.equal((await valueOf(program.verify)).summary, 'verify: 1 passed, 1 failed')
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

/** Three servers and two agents, listed agents first: the rollout order is not the list order. */
const haSpec = `version: 1
name: ha
cni:
  plugin: cilium
nodes:
  - {name: gpu, role: agent, mesh_ip: 100.64.0.11}
  - {name: s1, role: server, mesh_ip: 100.64.0.1}
  - {name: edge, role: agent, mesh_ip: 100.64.0.12}
  - {name: s2, role: server, mesh_ip: 100.64.0.2}
  - {name: s3, role: server, mesh_ip: 100.64.0.3}
`
/** Every resource a node's part of the rollout registers. */
const nodeResources = (prefix: string, node: string) =>
  created.filter((r) => r.name.startsWith(`${prefix}-${node}/`) || r.name.startsWith(`${prefix}-${node}-`)).map((r) => r.name)

test('rollout: files, then install.sh once, then the restart; servers one at a time in join order, Cilium after the first, then agents, verify last', async () => {
  liveNodes.set('ha', healthyNodes(haSpec))
  const c = await build('ha', haSpec)
  const order = ['s1', 's2', 's3', 'gpu', 'edge']
  assert.deepEqual(
    c.rollout.map((r) => [r.node, r.role, r.unit]),
    [['s1', 'server', 'k3s'], ['s2', 'server', 'k3s'], ['s3', 'server', 'k3s'], ['gpu', 'agent', 'k3s-agent'], ['edge', 'agent', 'k3s-agent']],
  )
  const spec = Cluster.fromYaml(haSpec)
  for (const n of order) {
    const node = spec.node(n)!
    const install = one(`ha-${n}-install`)
    const restart = one(`ha-${n}-restart`)
    // install.sh from stdin, run from a directory holding the node's files, keyed on the script only
    assert.equal(install.inputs.stdin, node.files['install.sh']!.contents, n)
    assert.deepEqual(install.inputs.triggers, [createHash('sha256').update(node.files['install.sh']!.contents).digest('hex')], n)
    const script = innerScript(install.inputs.create)
    // once install.sh succeeded (set -e), the mark that it started k3s
    assert.ok(
      script.endsWith('cat > "$d"/install.sh\nsh "$d"/install.sh\ninstall -d -m 0700 /run/meshspec\n: > /run/meshspec/k3s-started-by-install\n'),
      script,
    )
    assert.ok(script.startsWith('set -eu\n'), script)
    // every system file is copied into the directory install.sh reads them from
    for (const [rel, file] of Object.entries(node.files).filter(([rel]) => rel.startsWith('etc/'))) {
      const mode = file.mode.toString(8).padStart(4, '0')
      assert.ok(script.includes(`install -D -m ${mode} '/${rel}' "$d"/'${rel}'\n`), `${n}: ${rel}`)
      assert.ok(node.files['install.sh']!.contents.includes(`"$here"/${rel} /${rel}`), `${n}: install.sh reads ${rel}`)
    }
    assert.equal(install.inputs.connection.host, node.meshIp[0], n)
    const unit = node.role === 'server' ? 'k3s' : 'k3s-agent'
    const restartScript = innerScript(restart.inputs.create)
    assert.ok(restartScript.includes(`  systemctl daemon-reload\n  systemctl restart ${unit}.service\n`), restartScript)
    assert.equal(/readyz/.test(restartScript), node.role === 'server', `${n}: a server waits for its API`)
    // each file is written before install.sh runs, install.sh before the restart
    for (const f of nodeResources('ha', n).filter((r) => r.includes('/'))) {
      assertBefore(f, `ha-${n}-install`)
    }
    assertBefore(`ha-${n}-install`, `ha-${n}-restart`)
  }
  // one node at a time: nothing of a node starts before the node before it restarted
  // (and, after the first server, before the Cilium release is in)
  for (let i = 1; i < order.length; i++) {
    const gate = i === 1 ? 'ha-cilium' : `ha-${order[i - 1]}-restart`
    for (const r of nodeResources('ha', order[i]!)) assertBefore(gate, r)
  }
  assertBefore('ha-s1-restart', 'ha-kubeconfig')
  assertBefore('ha-s1-restart', 'ha-cilium')
  // verify runs last, on the first server, after the live check
  const last = events.filter((e) => e.startsWith('done:ha-')).pop()
  assert.equal(last, 'done:ha-verify')
  for (const r of created.filter((r) => r.name.startsWith('ha-') && r.name !== 'ha-verify')) assertBefore(r.name, 'ha-verify')
  assert.equal(one('ha-verify').inputs.connection.host, '100.64.0.1')
  assert.equal(one('ha-check-live').inputs.connection.host, '100.64.0.1')
})

// Runs the restart command's script for real (root: a private mount namespace, a tmpfs on /run,
// /etc an overlay over a temp directory, a logging `systemctl` first on PATH) after `mark`.
function runRestart(script: string, files: string[], mark: string): { calls: string[]; markLeft: boolean } {
  const tmp = mkdtempSync(path.join(tmpdir(), 'meshspec-restart-'))
  try {
    for (const d of ['upper', 'work', 'bin']) mkdirSync(path.join(tmp, d))
    writeFileSync(path.join(tmp, 'bin', 'systemctl'), `#!/bin/sh\necho "systemctl $*" >> ${tmp}/calls\n`, { mode: 0o755 })
    writeFileSync(path.join(tmp, 'restart.sh'), script)
    const setup = [
      'set -eu',
      'mount -t tmpfs tmpfs /run',
      `mount -t overlay overlay -o lowerdir=/etc,upperdir=${tmp}/upper,workdir=${tmp}/work /etc`,
      // the files as the file resources wrote them, before install.sh ran
      ...files.map((f) => `mkdir -p "$(dirname ${f})"; echo written > ${f}; touch -d @1700000000 ${f}`),
      mark,
      `PATH=${tmp}/bin:$PATH sh ${tmp}/restart.sh`,
      `if [ -e ${STARTED} ]; then echo mark-left; fi`,
    ].join('\n')
    const out = execFileSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', setup], { encoding: 'utf8' })
    const log = path.join(tmp, 'calls')
    return { calls: existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [], markLeft: out.includes('mark-left') }
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
}
const STARTED = '/run/meshspec/k3s-started-by-install'
const namespacesMissing =
  process.getuid?.() !== 0 ? 'not root' : spawnSync('unshare', ['--mount', 'true']).status !== 0 ? 'unshare -m does not work here' : ''

test('the restart right after install.sh does not start k3s again; a file written after it does', async (t) => {
  if (namespacesMissing) {
    if (process.env.MESHSPEC_REQUIRE_NETNS === '1') assert.fail(`MESHSPEC_REQUIRE_NETNS=1 but: ${namespacesMissing}`)
    console.log(`*** SKIPPED: the restart script was NOT run (${namespacesMissing}) ***`)
    t.skip(namespacesMissing)
    return
  }
  liveNodes.set('rs', healthyNodes(haSpec))
  await build('rs', haSpec)
  const node = Cluster.fromYaml(haSpec).node('gpu')!
  const files = Object.keys(node.files)
    .filter((rel) => rel === 'etc/rancher/k3s/config.yaml' || rel.startsWith('etc/systemd/system/k3s-agent.service'))
    .map((rel) => `/${rel}`)
  assert.ok(files.length >= 2, files.join(' '))
  const script = innerScript(one('rs-gpu-restart').inputs.create)
  const restarted = ['systemctl daemon-reload', 'systemctl restart k3s-agent.service']
  const marked = `install -d -m 0700 /run/meshspec; : > ${STARTED}; touch -d @1700000100 ${STARTED}`
  // install.sh started k3s after the files were written: no second start, the mark is used up
  assert.deepEqual(runRestart(script, files, marked), { calls: [], markLeft: false })
  // a file written after install.sh: restart
  assert.deepEqual(runRestart(script, files, `${marked}; touch -d @1700000200 ${files[1]}`), { calls: restarted, markLeft: false })
  // no install in this update (a changed file only): restart
  assert.deepEqual(runRestart(script, files, ''), { calls: restarted, markLeft: false })
})

test('the Cilium release: the bundle chart version and values, through the first server kubeconfig', async () => {
  await build('cv', ciliumSpec)
  const bundle = Cluster.fromYaml(ciliumSpec).render()
  const version = bundle['cluster/cilium-install.sh']!.contents.match(/--version (\S+)/)![1]
  const release = one('cv-cilium')
  assert.equal(release.inputs.version, version)
  assert.deepEqual(release.inputs.values, parseYaml(bundle[CILIUM_VALUES]!.contents))
  assert.equal(one('cv-kubeconfig').inputs.create, 'cat /etc/rancher/k3s/k3s.yaml')
  const provider = one('cv-k8s')
  assert.equal(provider.type, 'pulumi:providers:kubernetes')
  const kubeconfig = secretValue(provider.inputs.kubeconfig) as string
  assert.match(kubeconfig, /server: https:\/\/100\.113\.23\.108:6443/)
  assert.doesNotMatch(kubeconfig, /127\.0\.0\.1/)
  assert.equal(release.provider?.split('::')[3], 'cv-k8s')
  assertBefore('cv-beelink-restart', 'cv-cilium')
  assertBefore('cv-cilium', 'cv-worker/etc/rancher/k3s/config.yaml')
})

test('a given kubeconfig is used as is; no Cilium without cni cilium', async () => {
  await build('kc', ciliumSpec, { kubeconfig: 'apiVersion: v1\nkind: Config\n' })
  assert.equal(created.filter((r) => r.name === 'kc-kubeconfig').length, 0)
  assert.equal(one('kc-k8s').inputs.kubeconfig, 'apiVersion: v1\nkind: Config\n')
  liveNodes.set('nc', liveJson('live/seed-flannel.nodes.json'))
  const fl = await build('nc', flannelSpec)
  assert.equal(fl.cilium, undefined)
  assert.equal(created.filter((r) => r.name.startsWith('nc-') && r.type.startsWith('kubernetes:')).length, 0)
})

test('a changed config restarts that node only; install.sh and the other nodes are left alone', async () => {
  const changedSpec = haSpec.replace('{name: s2, role: server, mesh_ip: 100.64.0.2}', '{name: s2, role: server, mesh_ip: 100.64.0.2, labels: {zone: b}}')
  liveNodes.set('h1', healthyNodes(haSpec))
  liveNodes.set('h2', healthyNodes(changedSpec))
  await build('h1', haSpec)
  await build('h2', changedSpec)
  const inputs = (prefix: string, node: string, step: string) => one(`${prefix}-${node}-${step}`).inputs
  for (const n of ['s1', 's2', 's3', 'gpu', 'edge']) {
    const changed = n === 's2'
    assert.equal(
      JSON.stringify(inputs('h1', n, 'restart').triggers) !== JSON.stringify(inputs('h2', n, 'restart').triggers),
      changed,
      `${n}: restart triggers ${changed ? 'change' : 'stay'}`,
    )
    // the other inputs are the same too, so the engine neither replaces nor updates the command
    assert.equal(inputs('h1', n, 'restart').create, inputs('h2', n, 'restart').create, n)
    assert.deepEqual(inputs('h1', n, 'install'), inputs('h2', n, 'install'), `${n}: install.sh does not run again`)
  }
  const trigger = (inputs('h2', 's2', 'restart').triggers as string[]).find((t) => t.startsWith('/etc/rancher/k3s/config.yaml '))!
  const config = Cluster.fromYaml(changedSpec).node('s2')!.files['etc/rancher/k3s/config.yaml']!
  assert.equal(trigger, `/etc/rancher/k3s/config.yaml 0600 ${createHash('sha256').update(config.contents).digest('hex')}`)
  assert.match(config.contents, /zone=b/)
})

test('the verify result is exported: passed, summary and mismatches', async () => {
  const c = await build('vr', ciliumSpec)
  const verify = one('vr-verify')
  assert.equal(verify.inputs.stdin, Cluster.fromYaml(ciliumSpec).render()['cluster/verify.sh']!.contents)
  assert.deepEqual(await valueOf(c.verifyResult), {
    passed: false,
    summary: 'verify: 1 passed, 1 failed',
    mismatches: ['MISMATCH  ping -M do -s 1203'],
  })
  const { parseVerify } = await load()
  assert.equal(parseVerify('verify: 3 passed, 0 failed\nmeshspec-verify-exit: 0\n').passed, true)
  assert.equal(parseVerify('verify: 3 passed, 0 failed\n').passed, false, 'no exit status: not passed')
})

test('the join token: written from a secret stdin before install.sh, never in a command line', async () => {
  const token = 'K10-not-a-real-token::server:s3cret'
  await build('tk', ciliumSpec, { k3sToken: token })
  for (const n of ['beelink', 'worker']) {
    const write = one(`tk-${n}-token`)
    assert.equal(secretValue(write.inputs.stdin), token)
    assert.ok(!JSON.stringify(write.inputs.create).includes('s3cret'))
    assert.match(innerScript(write.inputs.create), /\(umask 077; printf '%s\\n' "\$t" > "\$f"\)/)
    assertBefore(`tk-${n}-token`, `tk-${n}-install`)
  }
  assert.ok(!created.some((r) => r.name.startsWith('tk-') && r.name !== 'tk-beelink-token' && r.name !== 'tk-worker-token' && JSON.stringify(r.inputs).includes('s3cret')))
})
