// A typed usage example, checked with `tsc -p test/tsconfig.json` (never run). The
// `@ts-expect-error` lines prove that wrong field names and values fail to compile.
import { readFileSync } from 'node:fs'
import {
  Cluster,
  type ChangePlan,
  codes,
  explain,
  isMeshspecError,
  type CodeInfo,
  type Diagnostic,
  type MeshspecError,
  type Node,
  type RenderedFile,
  type Severity,
} from 'meshspec'

const cluster: Cluster = Cluster.fromYaml(readFileSync('cluster.yaml', 'utf8'), { name: 'cluster.yaml' })
const fromConfig: Cluster = Cluster.fromObject({ version: 1, name: 'lab', nodes: [] })
const names: string[] = [cluster.name, ...fromConfig.nodeNames]

const problems: Diagnostic[] = cluster.validate()
for (const d of problems) {
  const severity: Severity = d.severity
  const line: number | null = d.line
  const help: string | null = d.help
  if (severity === 'error') console.log(d.code, d.slug, d.path, line, d.column, d.message, help)
  // @ts-expect-error a severity is 'error' | 'warning' | 'info'
  if (d.severity === 'fatal') console.log(d)
  // @ts-expect-error a diagnostic has `code`, not `rule`
  console.log(d.rule)
}

const files: Record<string, RenderedFile> = cluster.render()
for (const [path, file] of Object.entries(files)) console.log(path, file.contents.length, file.mode.toString(8))
// @ts-expect-error a rendered file has `contents`, not `content`
console.log(files['PLAN.md']?.content)

const node: Node | null = cluster.node(names[0] ?? 'a')
if (node) {
  const ips: string[] = node.nodeIp
  const role: 'server' | 'agent' = node.role
  const advertise: string | null = node.advertiseAddress
  const podCidr: string[] = node.podCidr
  const labels: Record<string, string> = node.labels
  const taints: string[] = node.taints
  const config: Record<string, unknown> = node.config
  const configFile: RenderedFile | undefined = node.files['etc/rancher/k3s/config.yaml']
  console.log(ips, role, advertise, podCidr, labels, taints, config, configFile, node.configEntries[0]?.origin)
  // @ts-expect-error the field is `nodeIp` (camelCase), not `node_ip`
  console.log(node.node_ip)
  // @ts-expect-error the field is `podCidr`, not `podCidrs`
  console.log(node.podCidrs)
}

const mtu: number = cluster.mtu().podMtu
const noProxy: string[] | null = cluster.noProxy()
const plan: string = cluster.plan()
const changePlan: ChangePlan = cluster.planFrom(cluster)
const changeMarkdown: string = changePlan.plan
const registry: CodeInfo[] = codes()
const page: string | null = explain('MS101')
console.log(mtu, noProxy, plan, changeMarkdown, registry, page)

try {
  Cluster.fromYaml('version: 2')
} catch (e: unknown) {
  if (isMeshspecError(e)) {
    const err: MeshspecError = e
    const code: string = err.code
    const all: Diagnostic[] = err.diagnostics
    console.log(err.name, code, all.length, err.message)
    // @ts-expect-error the error carries `diagnostics`, not `errors`
    console.log(err.errors)
  }
}
