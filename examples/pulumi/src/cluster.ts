/**
 * `MeshCluster`: a meshspec spec rendered at construction and rolled out as Pulumi resources.
 *
 * Node by node (servers in join order, then agents; each node waits for the one before it):
 * 1. every system file meshspec renders for the node (under `etc/`: the k3s config, the unit's
 *    env file and drop-ins) is written over SSH to its mesh IP (replaced when contents or mode
 *    change);
 * 2. the node's `install.sh` runs once (again only when the script itself changes): it checks
 *    the join token, installs k3s if it is missing (or the pinned version) and starts it;
 * 3. k3s restarts when one of its files changed (`triggers` = their SHA-256), but not right
 *    after install.sh started it with those files, and a server answers `/readyz` before the
 *    next node starts.
 * After the first server, and before any other node, a `helm.v3.Release` installs Cilium (for
 * `cni: cilium`) with the rendered `cluster/cilium-values.yaml` and the bundle's chart version.
 * Last, on the first server: `kubectl get nodes -o json` compared with the spec (MS951-MS958,
 * errors fail the update), then `cluster/verify.sh`, whose result is exported.
 * A spec meshspec refuses throws a `MeshspecError` from the constructor, so `pulumi preview`
 * fails with the rule code before anything is declared.
 */
import { createHash } from 'node:crypto'
import * as pulumi from '@pulumi/pulumi'
import * as command from '@pulumi/command'
import * as k8s from '@pulumi/kubernetes'
import { parse as parseYaml } from 'yaml'
import { Cluster, type Diagnostic, type Node, type RenderedFile } from 'meshspec'

/** Where meshspec puts the Cilium chart values in its bundle. */
export const CILIUM_VALUES = 'cluster/cilium-values.yaml'
/** The bundle's Cilium install script, which names the exact chart version. */
export const CILIUM_INSTALL = 'cluster/cilium-install.sh'
/** The bundle's checks to run after the rollout. */
export const VERIFY = 'cluster/verify.sh'
/** A node's one-time install script in its part of the bundle. */
export const INSTALL = 'install.sh'
/** Node files under this prefix are written to the node's filesystem at `/<path>`. */
export const SYSTEM_PREFIX = 'etc/'
/** What the check after the rollout runs on the first server. */
export const LIVE_NODES_COMMAND = 'k3s kubectl get nodes -o json'
/** The Cilium chart repository. */
export const CILIUM_REPO = 'https://helm.cilium.io'
/** Where k3s writes the admin kubeconfig on a server. */
export const K3S_KUBECONFIG = '/etc/rancher/k3s/k3s.yaml'
/** The join token file meshspec's config.yaml names in `token-file`. */
export const TOKEN_FILE = '/etc/rancher/k3s/token'

/** What a `MeshCluster` is built from. */
export interface MeshClusterArgs {
  /** The spec as YAML text (plain text: meshspec runs at construction, not inside an Output). */
  specYaml: string
  /** The spec's file name, shown in diagnostics and generated-file headers. */
  specName?: string
  /** The SSH user on every node; commands run through `sudo` unless it is `root`. */
  sshUser?: string
  /** The SSH private key; when absent the SSH agent is used. */
  sshPrivateKey?: pulumi.Input<string>
  /**
   * The kubeconfig for the Helm release; when absent it is read from the first server
   * (`/etc/rancher/k3s/k3s.yaml`, pointed at its mesh IP) once k3s runs there.
   */
  kubeconfig?: pulumi.Input<string>
  /**
   * The join token, written to `/etc/rancher/k3s/token` (mode 0600) on every node that has none
   * before `install.sh` runs. When absent, put the file there yourself (install.sh says how).
   */
  k3sToken?: pulumi.Input<string>
}

/** One declared file: which node, which absolute path, and the resource that writes it. */
export interface NodeFile {
  node: string
  path: string
  resource: command.remote.Command
}

/** One node's part of the rollout, in rollout order. */
export interface NodeRollout {
  node: string
  role: 'server' | 'agent'
  /** `k3s` or `k3s-agent`. */
  unit: string
  files: NodeFile[]
  /** Writes the join token when the node has none (only with `k3sToken`). */
  token?: command.remote.Command
  /** Runs the node's `install.sh`; replaced (so run again) only when the script changes. */
  install: command.remote.Command
  /** Restarts k3s; replaced (so run again) when one of its files changes. */
  restart: command.remote.Command
}

/** What `cluster/verify.sh` reported on the first server. */
export interface VerifyResult {
  /** verify.sh exited 0: every check passed. */
  passed: boolean
  /** Its last line, `verify: N passed, N failed`. */
  summary: string
  /** The `MISMATCH` lines. */
  mismatches: string[]
}

/** A cluster rendered by meshspec, rolled out node by node, with Cilium and the checks. */
export class MeshCluster extends pulumi.ComponentResource {
  /** The cluster's name from the spec. */
  public readonly clusterName: string
  /** One resource per node and rendered system file. */
  public readonly files: NodeFile[]
  /** Per node, in rollout order: servers in join order, then agents. */
  public readonly rollout: NodeRollout[]
  /** Reads the first server's kubeconfig for the Helm release (unless `kubeconfig` was given). */
  public readonly kubeconfigRead?: command.remote.Command
  /** The Cilium release, when meshspec rendered Cilium values. */
  public readonly cilium?: k8s.helm.v3.Release
  /** The Helm values the release was given (the parsed `cluster/cilium-values.yaml`). */
  public readonly ciliumValues?: Record<string, unknown>
  /** The chart version the release installs (from the bundle's `cluster/cilium-install.sh`). */
  public readonly ciliumVersion?: string
  /** After the rollout: `kubectl get nodes -o json` on the first server. */
  public readonly liveCheck: command.remote.Command
  /**
   * The running cluster compared with the spec (MS951-MS958); the update fails when any is an
   * error (a node missing, registered with the wrong InternalIP, the wrong VXLAN endpoint).
   */
  public readonly liveDiagnostics: pulumi.Output<Diagnostic[]>
  /** Last: the bundle's `cluster/verify.sh` on the first server. */
  public readonly verify: command.remote.Command
  /** What verify.sh reported. */
  public readonly verifyResult: pulumi.Output<VerifyResult>

  constructor(name: string, args: MeshClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super('meshspec:index:MeshCluster', name, {}, opts)
    const cluster = Cluster.fromYaml(args.specYaml, { name: args.specName ?? 'spec.yaml' })
    const bundle = cluster.render()
    this.clusterName = cluster.name

    const user = args.sshUser ?? 'root'
    const nodes = rolloutOrder(cluster)
    const first = nodes[0]!
    const connect = (node: Node) => {
      const host = node.meshIp[0]
      if (!host) {
        throw new Error(`node \`${node.name}\` has no mesh IP to connect to`)
      }
      return { host, user, privateKey: args.sshPrivateKey }
    }
    const values = bundle[CILIUM_VALUES]
    if (values) {
      this.ciliumValues = parseYaml(values.contents) as Record<string, unknown>
      this.ciliumVersion = chartVersion(bundle[CILIUM_INSTALL])
    }

    // each node starts only once the one before it (and, after the first server, Cilium) is done
    let previous: pulumi.Resource[] = []
    const rollout: NodeRollout[] = []
    for (const node of nodes) {
      const connection = connect(node)
      const unit = node.role === 'server' ? 'k3s' : 'k3s-agent'
      const system = Object.entries(node.files)
        .filter(([relative]) => relative.startsWith(SYSTEM_PREFIX))
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      const files = system.map(([relative, file]) => {
        const path = `/${relative}`
        const resource = new command.remote.Command(
          `${name}-${node.name}${path}`,
          {
            connection,
            create: writeCommand(path, file, user),
            delete: `${sudo(user)}rm -f ${shellQuote(path)}`,
            stdin: file.contents,
            triggers: [file.contents, file.mode],
          },
          // a changed file replaces the command: remove the old file first, then write the new
          // one (Pulumi's default, create then delete, would `rm` the file just written)
          { parent: this, dependsOn: previous, deleteBeforeReplace: true },
        )
        return { node: node.name, path, resource }
      })
      const token =
        args.k3sToken === undefined
          ? undefined
          : new command.remote.Command(
              `${name}-${node.name}-token`,
              {
                connection,
                create: asRoot(user, TOKEN_SCRIPT),
                stdin: pulumi.secret(args.k3sToken),
              },
              { parent: this, dependsOn: previous },
            )
      const script = node.files[INSTALL]
      if (!script) {
        throw new Error(`meshspec rendered no ${INSTALL} for node \`${node.name}\``)
      }
      const install = new command.remote.Command(
        `${name}-${node.name}-install`,
        {
          connection,
          // only the script, its file list and modes: a changed config alone does not rerun it
          create: installCommand(system, user),
          stdin: script.contents,
          triggers: [sha256(script.contents)],
        },
        { parent: this, dependsOn: [...previous, ...files.map((f) => f.resource), ...(token ? [token] : [])] },
      )
      const restart = new command.remote.Command(
        `${name}-${node.name}-restart`,
        {
          connection,
          create: restartCommand(unit, user, restartFiles(node, unit)),
          triggers: restartTriggers(node, unit),
        },
        { parent: this, dependsOn: [install, ...files.map((f) => f.resource)] },
      )
      rollout.push({ node: node.name, role: node.role, unit, files, token, install, restart })
      previous = [restart]
      if (node === first && this.ciliumValues) {
        // Cilium right after the first server, before any other node joins (PLAN.md's order)
        const { release, read } = this.ciliumRelease(name, args, user, connection, restart)
        this.cilium = release
        this.kubeconfigRead = read
        previous = [release]
      }
    }
    this.rollout = rollout
    this.files = rollout.flatMap((r) => r.files)
    const firstConnection = connect(first)

    const everything: pulumi.Resource[] = [...this.rollout.map((r) => r.restart), ...(this.cilium ? [this.cilium] : [])]
    this.liveCheck = new command.remote.Command(
      `${name}-check-live`,
      {
        connection: firstConnection,
        create: `${sudo(user)}${LIVE_NODES_COMMAND}`,
        // run again whenever a node restarted or the Cilium release changed
        triggers: everything.map((r) => (r as pulumi.CustomResource).id),
      },
      { parent: this, dependsOn: everything },
    )
    this.liveDiagnostics = this.liveCheck.stdout.apply((stdout) => checkLive(cluster, stdout))

    const verifyScript = bundle[VERIFY]
    if (!verifyScript) {
      throw new Error(`meshspec rendered no ${VERIFY}`)
    }
    this.verify = new command.remote.Command(
      `${name}-verify`,
      {
        connection: firstConnection,
        create: asRoot(user, VERIFY_SCRIPT),
        stdin: verifyScript.contents,
        triggers: [this.liveCheck.id],
      },
      { parent: this, dependsOn: [this.liveCheck] },
    )
    this.verifyResult = this.verify.stdout.apply(parseVerify)

    this.registerOutputs({ clusterName: this.clusterName, fileCount: this.files.length })
  }

  /** The Cilium release, once `firstUp` (the first server's restart) is done. */
  private ciliumRelease(
    name: string,
    args: MeshClusterArgs,
    user: string,
    connection: { host: string; user: string; privateKey?: pulumi.Input<string> },
    firstUp: command.remote.Command,
  ): { release: k8s.helm.v3.Release; read?: command.remote.Command } {
    let kubeconfig = args.kubeconfig
    let read: command.remote.Command | undefined
    if (kubeconfig === undefined) {
      read = new command.remote.Command(
        `${name}-kubeconfig`,
        {
          connection,
          create: `${sudo(user)}cat ${K3S_KUBECONFIG}`,
          // read again whenever the first server restarted
          triggers: [firstUp.id],
        },
        { parent: this, dependsOn: [firstUp], additionalSecretOutputs: ['stdout'] },
      )
      kubeconfig = pulumi.secret(read.stdout.apply((text) => remoteKubeconfig(text, connection.host)))
    }
    const provider = new k8s.Provider(`${name}-k8s`, { kubeconfig }, { parent: this })
    const release = new k8s.helm.v3.Release(
      `${name}-cilium`,
      {
        name: 'cilium',
        chart: 'cilium',
        version: this.ciliumVersion,
        namespace: 'kube-system',
        repositoryOpts: { repo: CILIUM_REPO },
        values: this.ciliumValues,
      },
      { parent: this, provider, dependsOn: [firstUp] },
    )
    return { release, read }
  }
}

/**
 * The order nodes are rolled out in: servers in join order (the first server, then the order of
 * `nodes`), then agents in the order of `nodes`.
 */
export function rolloutOrder(cluster: Cluster): Node[] {
  const nodes = cluster.nodeNames.map((n) => cluster.node(n)!)
  const servers = nodes.filter((n) => n.role === 'server')
  const first = servers.find((n) => n.init) ?? servers[0]
  if (!first) {
    throw new Error(`cluster \`${cluster.name}\` has no server`)
  }
  return [first, ...servers.filter((n) => n !== first), ...nodes.filter((n) => n.role === 'agent')]
}

/** Whether k3s (unit `unit`) reads the node file `relative`: its config, env file or drop-ins. */
export function isK3sFile(relative: string, unit: string): boolean {
  return (
    relative.startsWith('etc/rancher/k3s/') ||
    relative === `etc/systemd/system/${unit}.service.env` ||
    relative.startsWith(`etc/systemd/system/${unit}.service.d/`)
  )
}

/**
 * A node's restart triggers: `path mode sha256` of every file k3s reads. A changed line replaces
 * the restart command, which restarts k3s. The tailscaled drop-in is left out: restarting
 * tailscaled over Tailscale cuts the SSH session (install.sh leaves that to a console).
 */
export function restartTriggers(node: Node, unit: string): string[] {
  return Object.entries(node.files)
    .filter(([relative]) => isK3sFile(relative, unit))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([relative, file]) => `/${relative} ${octal(file.mode)} ${sha256(file.contents)}`)
}

/** The absolute paths of the files k3s reads (the ones in `restartTriggers`), sorted. */
export function restartFiles(node: Node, unit: string): string[] {
  return Object.keys(node.files)
    .filter((relative) => isK3sFile(relative, unit))
    .sort()
    .map((relative) => `/${relative}`)
}

/** The hex SHA-256 of a text. */
export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex')
}

/**
 * The exact chart version in the bundle's `cluster/cilium-install.sh` (`--version 1.20.0`): the
 * one meshspec chose for the spec's chart line.
 */
export function chartVersion(script: RenderedFile | undefined): string {
  const m = script?.contents.match(/^\s*--version ([0-9][0-9A-Za-z.+-]*) \\$/m)
  if (!m) {
    throw new Error(`meshspec rendered Cilium values but ${CILIUM_INSTALL} names no chart version`)
  }
  return m[1]!
}

/** The node's admin kubeconfig from k3s, pointed at `host` instead of 127.0.0.1. */
export function remoteKubeconfig(text: string, host: string): string {
  const local = 'server: https://127.0.0.1:6443'
  if (!text.includes(local)) {
    throw new Error(`${K3S_KUBECONFIG} on the first server does not name \`${local}\``)
  }
  const address = host.includes(':') ? `[${host}]` : host
  return text.split(local).join(`server: https://${address}:6443`)
}

/** Reads what {@link VERIFY_SCRIPT} printed: verify.sh's output and its exit status. */
export function parseVerify(stdout: string): VerifyResult {
  const lines = stdout.split('\n').map((l) => l.trimEnd())
  const status = lines.map((l) => l.match(/^meshspec-verify-exit: (\d+)$/)).find((m) => m)
  return {
    passed: status?.[1] === '0',
    summary: lines.filter((l) => l.startsWith('verify: ')).pop() ?? '',
    mismatches: lines.filter((l) => l.startsWith('MISMATCH')),
  }
}

/**
 * Writes the join token from stdin to the token file when the node has none (mode 0600, never
 * echoed). A node that has one keeps it; a different one fails here rather than later in k3s
 * (a server's file may hold the full `K10...::server:<token>`).
 */
export const TOKEN_SCRIPT = `set -eu
f=${TOKEN_FILE}
t=$(cat)
if [ -s "$f" ]; then
  have=$(cat "$f")
  if [ "$have" != "$t" ] && [ "\${have##*::server:}" != "$t" ]; then
    echo "$f holds another token than the k3sToken config; left alone" >&2
    exit 1
  fi
else
  install -d -m 0755 "$(dirname "$f")"
  (umask 077; printf '%s\\n' "$t" > "$f")
fi
`

/** Runs the bundle's verify.sh from stdin (saved to a file first: its commands must not eat it). */
export const VERIFY_SCRIPT = `set -u
f=$(mktemp)
trap 'rm -f "$f"' EXIT
cat > "$f"
status=0
sh "$f" || status=$?
echo "meshspec-verify-exit: $status"
`

/**
 * Runs the node's install.sh (from stdin) as the bundle does: from a directory holding it and
 * the node's files under `etc/`. Those were written to the node just before, so they are copied
 * from their places; install.sh puts them back, checks the token, installs k3s if it is missing
 * (or the pinned version) and starts it. Rerunning it is safe: it never upgrades an unpinned
 * k3s, and refuses a token that does not open the server's datastore.
 */
export function installCommand(system: [string, RenderedFile][], user = 'root'): string {
  const lines = ['set -eu', 'd=$(mktemp -d)', `trap 'rm -rf "$d"' EXIT`]
  for (const [relative, file] of system) {
    lines.push(`install -D -m ${octal(file.mode)} ${shellQuote(`/${relative}`)} "$d"/${shellQuote(relative)}`)
  }
  lines.push(
    `cat > "$d"/${INSTALL}`,
    `sh "$d"/${INSTALL}`,
    // install.sh has just started k3s with these files: the restart after it need not
    `install -d -m 0700 ${posixDirname(STARTED_BY_INSTALL)}`,
    `: > ${STARTED_BY_INSTALL}`,
  )
  return asRoot(user, `${lines.join('\n')}\n`)
}

/**
 * Left by the install command once install.sh has started k3s (on /run, emptied at boot). The
 * restart command that follows in the same update does not start k3s a second time unless one
 * of `files` was written after it; either way it removes the mark.
 */
export const STARTED_BY_INSTALL = '/run/meshspec/k3s-started-by-install'

function posixDirname(path: string): string {
  return path.slice(0, path.lastIndexOf('/'))
}

/**
 * Restarts k3s after a change of its `files` (absolute paths), unless install.sh started it after
 * they were written (`STARTED_BY_INSTALL`); a server must then answer /readyz (5 minutes).
 */
export function restartCommand(unit: string, user = 'root', files: string[] = []): string {
  // (without files, the mark alone decides: `find` with no path would search the working directory)
  const paths = files.map((f) => shellQuote(f)).join(' ')
  const newer = files.length === 0 ? '' : ` && [ -z "$(find ${paths} -newer "$m" 2>/dev/null)" ]`
  const lines = [
    'set -eu',
    `m=${STARTED_BY_INSTALL}`,
    `if [ -f "$m" ]${newer}; then`,
    `  echo 'k3s was started by install.sh with these files: not restarting it again'`,
    'else',
    '  systemctl daemon-reload',
    `  systemctl restart ${unit}.service`,
    'fi',
    'rm -f "$m"',
  ]
  if (unit === 'k3s') {
    lines.push(
      'i=0',
      'until k3s kubectl get --raw=/readyz >/dev/null 2>&1; do',
      '  i=$((i + 1))',
      `  if [ "$i" -ge 60 ]; then echo 'k3s restarted but its API server is not ready after 5 minutes' >&2; exit 1; fi`,
      '  sleep 5',
      'done',
    )
  }
  return asRoot(user, `${lines.join('\n')}\n`)
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

/** A script run by `sh -c` as root (through sudo unless the user is root); stdin passes through. */
export function asRoot(user: string, script: string): string {
  return `${sudo(user)}sh -c ${shellQuote(script)}`
}

/** Quotes a word for sh: in single quotes, each `'` as `'\''`. */
export function shellQuote(word: string): string {
  return `'${word.split("'").join(`'\\''`)}'`
}

function octal(mode: number): string {
  return mode.toString(8).padStart(4, '0')
}

/** The shell command that writes a file from stdin with its mode, creating parent folders. */
export function writeCommand(path: string, file: RenderedFile, user = 'root'): string {
  return `${sudo(user)}install -D -m ${octal(file.mode)} /dev/stdin ${shellQuote(path)}`
}
