/**
 * The Pulumi program: rolls out the spec named by the `specFile` config (by default the seed
 * Cilium spec, examples/specs/cilium-vxlan-over-tailscale.yaml): files, install.sh, restarts,
 * Cilium, then the checks.
 */
import * as path from 'node:path'
import { readFileSync } from 'node:fs'
import * as pulumi from '@pulumi/pulumi'
import { MeshCluster } from './cluster.js'

const config = new pulumi.Config()
const specFile =
  config.get('specFile') ?? path.join(__dirname, '..', '..', 'specs', 'cilium-vxlan-over-tailscale.yaml')

const cluster = new MeshCluster('mesh', {
  specYaml: readFileSync(specFile, 'utf8'),
  specName: path.basename(specFile),
  sshUser: config.get('sshUser'),
  sshPrivateKey: config.getSecret('sshPrivateKey'),
  kubeconfig: config.getSecret('kubeconfig'),
  k3sToken: config.getSecret('k3sToken'),
})

/** The cluster's name from the spec. */
export const clusterName = cluster.clusterName
/** The rollout order: servers in join order, then agents. */
export const rolloutOrder = cluster.rollout.map((r) => `${r.node} (${r.role})`)
/** Every file written, as `node:/path`. */
export const files = cluster.files.map((f) => `${f.node}:${f.path}`)
/** After the rollout: the running cluster against the spec (the update fails on an error). */
export const liveDiagnostics = cluster.liveDiagnostics.apply((ds) => ds.map((d) => `${d.severity}[${d.code}]: ${d.message}`))
/** The bundle's cluster/verify.sh, run last on the first server: passed, summary, MISMATCH lines. */
export const verify = cluster.verifyResult
