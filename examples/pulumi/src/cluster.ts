/**
 * `MeshCluster`: a meshspec spec rendered at construction and declared as Pulumi resources.
 *
 * For every node and every system file meshspec renders for it (the node files under `etc/`:
 * k3s config, systemd drop-ins), a `command.remote.Command` writes the file over SSH to the
 * node's mesh IP (replaced whenever the contents or mode change). The bundle's `install.sh`,
 * which copies those same files by hand, is not needed here and is not declared. For a
 * Cilium cluster, a `helm.v3.Release` installs the chart with the values meshspec rendered.
 * A spec meshspec refuses throws a `MeshspecError` from the constructor, so `pulumi preview`
 * fails with the rule code before anything is declared.
 */
import * as pulumi from '@pulumi/pulumi'
import * as command from '@pulumi/command'
import * as k8s from '@pulumi/kubernetes'
import { parse as parseYaml } from 'yaml'
import { Cluster, type Diagnostic, type RenderedFile } from 'meshspec'

/** Where meshspec puts the Cilium chart values in its bundle. */
export const CILIUM_VALUES = 'cluster/cilium-values.yaml'
/** Node files under this prefix are written to the node's filesystem at `/<path>`. */
export const SYSTEM_PREFIX = 'etc/'
/** What the check after the rollout runs on the first server. */
export const LIVE_NODES_COMMAND = 'k3s kubectl get nodes -o json'
/** The Cilium chart repository. */
export const CILIUM_REPO = 'https://helm.cilium.io'

/** What a `MeshCluster` is built from. */
export interface MeshClusterArgs {
  /** The spec as YAML text (plain text: meshspec runs at construction, not inside an Output). */
  specYaml: string
  /** The spec's file name, shown in diagnostics and generated-file headers. */
  specName?: string
  /** The SSH user on every node; files are written with `sudo` unless it is `root`. */
  sshUser?: string
  /** The SSH private key; when absent the SSH agent is used. */
  sshPrivateKey?: pulumi.Input<string>
  /** The kubeconfig for the Helm release; when absent the default Kubernetes provider is used. */
  kubeconfig?: pulumi.Input<string>
}

/** One declared file: which node, which absolute path, and the resource that writes it. */
export interface NodeFile {
  node: string
  path: string
  resource: command.remote.Command
}

/** A cluster rendered by meshspec, as per-node file resources and the Cilium Helm release. */
export class MeshCluster extends pulumi.ComponentResource {
  /** The cluster's name from the spec. */
  public readonly clusterName: string
  /** One resource per node and rendered file. */
  public readonly files: NodeFile[]
  /** The Cilium release, when meshspec rendered Cilium values. */
  public readonly cilium?: k8s.helm.v3.Release
  /** The Helm values the release was given (the parsed `cluster/cilium-values.yaml`). */
  public readonly ciliumValues?: Record<string, unknown>
  /** After the rollout: `kubectl get nodes -o json` on the first server. */
  public readonly liveCheck: command.remote.Command
  /**
   * The running cluster compared with the spec (MS951-MS958); the update fails when any is an
   * error (a node missing, registered with the wrong InternalIP, the wrong VXLAN endpoint).
   */
  public readonly liveDiagnostics: pulumi.Output<Diagnostic[]>

  constructor(name: string, args: MeshClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super('meshspec:index:MeshCluster', name, {}, opts)
    const cluster = Cluster.fromYaml(args.specYaml, { name: args.specName ?? 'spec.yaml' })
    const bundle = cluster.render()
    this.clusterName = cluster.name

    const user = args.sshUser ?? 'root'
    this.files = cluster.nodeNames.flatMap((nodeName) => {
      const node = cluster.node(nodeName)
      const host = node?.meshIp[0]
      if (!node || !host) {
        throw new Error(`node \`${nodeName}\` has no mesh IP to connect to`)
      }
      const connection = { host, user, privateKey: args.sshPrivateKey }
      const system = Object.entries(node.files).filter(([relative]) => relative.startsWith(SYSTEM_PREFIX))
      return system.map(([relative, file]) => {
        const path = `/${relative}`
        const resource = new command.remote.Command(
          `${name}-${nodeName}${path}`,
          {
            connection,
            create: writeCommand(path, file, user),
            delete: `${sudo(user)}rm -f '${path}'`,
            stdin: file.contents,
            triggers: [file.contents, file.mode],
          },
          { parent: this },
        )
        return { node: nodeName, path, resource }
      })
    })

    const values = bundle[CILIUM_VALUES]
    if (values) {
      this.ciliumValues = parseYaml(values.contents) as Record<string, unknown>
      const provider = args.kubeconfig
        ? new k8s.Provider(`${name}-k8s`, { kubeconfig: args.kubeconfig }, { parent: this })
        : undefined
      this.cilium = new k8s.helm.v3.Release(
        `${name}-cilium`,
        {
          name: 'cilium',
          chart: 'cilium',
          namespace: 'kube-system',
          repositoryOpts: { repo: CILIUM_REPO },
          values: this.ciliumValues,
        },
        { parent: this, provider, dependsOn: this.files.map((f) => f.resource) },
      )
    }

    const server = cluster.nodeNames.map((n) => cluster.node(n)!).find((n) => n.role === 'server')!
    this.liveCheck = new command.remote.Command(
      `${name}-check-live`,
      {
        connection: { host: server.meshIp[0]!, user, privateKey: args.sshPrivateKey },
        create: `${sudo(user)}${LIVE_NODES_COMMAND}`,
        // run again whenever a file or the Cilium release changed
        triggers: [...this.files.map((f) => f.resource.id), ...(this.cilium ? [this.cilium.id] : [])],
      },
      { parent: this, dependsOn: [...this.files.map((f) => f.resource), ...(this.cilium ? [this.cilium] : [])] },
    )
    this.liveDiagnostics = this.liveCheck.stdout.apply((stdout) => checkLive(cluster, stdout))

    this.registerOutputs({ clusterName: this.clusterName, fileCount: this.files.length })
  }
}

/**
 * Compares `kubectl get nodes -o json` output with the spec; throws (failing the update) with
 * one line per error, and returns every diagnostic otherwise.
 */
export function checkLive(cluster: Cluster, nodesJson: string): Diagnostic[] {
  const diagnostics = cluster.checkLive(nodesJson)
  const errors = diagnostics.filter((d) => d.severity === 'error')
  if (errors.length > 0) {
    const lines = errors.map((d) => `error[${d.code}]: ${d.message}${d.help ? ` (help: ${d.help})` : ''}`)
    throw new Error(`the running cluster differs from the spec:\n${lines.join('\n')}`)
  }
  return diagnostics
}

function sudo(user: string): string {
  return user === 'root' ? '' : 'sudo '
}

/** The shell command that writes a file from stdin with its mode, creating parent folders. */
export function writeCommand(path: string, file: RenderedFile, user = 'root'): string {
  return `${sudo(user)}install -D -m ${file.mode.toString(8).padStart(4, '0')} /dev/stdin '${path}'`
}
