/**
 * The program at scale under Pulumi's runtime mocks (no CLI, no providers, no network): builds a
 * `MeshCluster` from a generated spec and waits until every resource is registered (the rollout
 * chains the nodes one after another, so they register in rollout order).
 *
 * Usage (from the repository root, after `bash bindings-node/ci.sh` or `npm ci && npm run build`
 * here): `bash benches/pulumi_scale.sh [NODES]`. Prints the nodes, the resources declared, and
 * the process CPU and wall seconds of construction plus registration.
 */
import { readFileSync } from 'node:fs'
import * as pulumi from '@pulumi/pulumi'

async function main(): Promise<void> {
  const specFile = process.argv[2]
  if (!specFile) throw new Error('usage: node dist/scale.bench.js SPEC_FILE')
  const specYaml = readFileSync(specFile, 'utf8')
  // the mock's `kubectl get nodes` lists no node, so the check after the rollout fails with
  // MS951 for every node once the files are registered: expected here, and not what is timed
  process.on('unhandledRejection', (e: unknown) => {
    if (!(e instanceof Error && e.message.includes('MS951'))) throw e
  })
  let registered = 0
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        registered += 1
        const stdout = args.name.endsWith('-kubeconfig')
          ? 'clusters:\n- cluster:\n    server: https://127.0.0.1:6443\n'
          : args.name.endsWith('-verify')
            ? 'verify: 0 passed, 0 failed\nmeshspec-verify-exit: 0\n'
            : '{"items":[]}'
        return { id: `${args.name}-id`, state: { ...args.inputs, stdout } }
      },
      call(args) {
        return args.inputs
      },
    },
    'meshspec',
    'scale',
    false,
  )
  const { MeshCluster } = await import('./cluster.js')
  const cpu = process.cpuUsage()
  const wall = process.hrtime.bigint()
  const c = new MeshCluster('scale', { specYaml, specName: 'spec.yaml' })
  // the verify command comes last: it waits (through the rollout chain) for every other resource
  await new Promise((resolve) => c.verify.id.apply(resolve))
  const used = process.cpuUsage(cpu)
  const seconds = Number(process.hrtime.bigint() - wall) / 1e9
  const nodes = new Set(c.files.map((f) => f.node)).size
  console.log(
    `${nodes} nodes, ${c.files.length} file resources, ${registered} resources registered in rollout order: ` +
      `${((used.user + used.system) / 1e6).toFixed(2)} s CPU, ${seconds.toFixed(2)} s wall`,
  )
}

main().catch((e: unknown) => {
  console.error(e)
  process.exit(1)
})
