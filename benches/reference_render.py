#!/usr/bin/env python3
"""The script a user would write instead of meshspec: PyYAML + Jinja2, for the speed table.

`benches/render_disk_reference.sh` runs it beside `meshspec render` and the durable floor in
the same run (usage: `reference_render.py SPEC OUT_DIR`). It reads the same generated spec
(`benches/specgen.rs`) with `yaml.safe_load` and renders, for every node, three of the files
meshspec renders: the k3s `config.yaml` (mode 0600), the systemd unit's environment file with
the proxy settings (0600) and `install.sh` (0755), from three Jinja2 templates. It writes them
plainly (`os.makedirs`, `open().write()`, `os.chmod`) and calls `os.sync()` once at the end, so
its files are on disk when it returns, as meshspec's are.

What it does NOT do, compared to `meshspec render` (so it is a lower bound on what such a
script costs, not a replacement):
- no validation at all: no MTU stack, no pod-subnet sizing, no overlap or duplicate checks,
  no diagnostics; a wrong spec renders wrong files silently;
- no escaping: spec values are pasted into YAML, env files and shell as they are (a name with a
  quote, `$(...)` or a newline breaks or injects into the files), where meshspec refuses them
  or quotes them for each file's language;
- NO_PROXY is the raw list of CIDRs (meshspec merges and sorts them; this script does not);
- not atomic: a crash leaves half-written files at their final names; no temporary files, no
  rename, no manifest, no lock; it overwrites whatever is there, follows symbolic links, never
  removes stale files and rewrites unchanged files (mtimes change every run);
- about half the files: per node only these three (meshspec also writes the mesh drop-in,
  the environment.d proxy file and the per-node firewall script), and none of the cluster
  files (Cilium values, ACL, verify.sh, labels-taints.sh, PLAN.md).
"""

import os
import sys

import jinja2
import yaml

CONFIG = """\
# k3s {{ role }} {{ node.name }} (cluster {{ cluster }})
{% if role == "server" and first %}
cluster-init: true
{% else %}
server: https://{{ first_server.mesh_ip }}:6443
{% endif %}
token-file: /etc/rancher/k3s/token
node-ip: "{{ node_ip }}"
{% if role == "server" %}
advertise-address: "{{ node.mesh_ip }}"
tls-san:
  - "{{ node.mesh_ip }}"
  - "{{ node.lan_ip }}"
cluster-cidr: {{ network.cluster_cidr }}
{% endif %}
flannel-iface: tailscale0
{% if node.labels %}
node-label:
{% for k, v in node.labels.items() %}
  - {{ k }}={{ v }}
{% endfor %}
{% endif %}
"""

ENV = """\
# environment of {{ unit }}.service on {{ node.name }}
HTTP_PROXY={{ proxy.http }}
http_proxy={{ proxy.http }}
NO_PROXY={{ no_proxy }}
no_proxy={{ no_proxy }}
CONTAINERD_HTTP_PROXY={{ proxy.http }}
CONTAINERD_NO_PROXY={{ no_proxy }}
"""

INSTALL = """\
#!/bin/sh
# installs k3s as {{ role }} on {{ node.name }} (cluster {{ cluster }})
set -eu
here=$(cd "$(dirname "$0")" && pwd)
if [ "$(id -u)" -ne 0 ]; then
  echo "run as root" >&2
  exit 1
fi
if [ ! -f /etc/rancher/k3s/token ]; then
  echo "/etc/rancher/k3s/token is missing" >&2
  exit 1
fi
install -d -m 0755 /etc/rancher/k3s
install -m 0600 "$here/etc/rancher/k3s/config.yaml" /etc/rancher/k3s/config.yaml
install -d -m 0755 /etc/systemd/system
if ! command -v k3s >/dev/null 2>&1; then
  installer=$(mktemp)
  trap 'rm -f "$installer"' EXIT
  (
    set -a
    . "$here/etc/systemd/system/{{ unit }}.service.env"
    set +a
    curl -fsSL --retry 3 -o "$installer" https://get.k3s.io
    INSTALL_K3S_EXEC={{ role }} INSTALL_K3S_SKIP_START=true sh "$installer"
  )
fi
install -m 0600 "$here/etc/systemd/system/{{ unit }}.service.env" /etc/systemd/system/{{ unit }}.service.env
systemctl daemon-reload
systemctl enable {{ unit }}.service
systemctl restart {{ unit }}.service
echo "k3s started on {{ node.name }}"
"""


def write(path, text, mode):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, mode)
    return len(text.encode("utf-8"))


def main():
    spec_path, out = sys.argv[1], sys.argv[2]
    with open(spec_path, encoding="utf-8") as f:
        spec = yaml.safe_load(f)
    env = jinja2.Environment(
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        autoescape=False,
    )
    config = env.from_string(CONFIG)
    env_file = env.from_string(ENV)
    install = env.from_string(INSTALL)

    network = spec["network"]
    proxy = spec.get("proxy") or {}
    nodes = spec["nodes"]
    servers = [n for n in nodes if n.get("role") == "server"]
    first_server = servers[0]
    server_site = first_server["site"]
    subnets = [s for site in spec["sites"] for s in site.get("subnets", [])]
    no_proxy = ",".join(
        [network["cluster_cidr"], "10.43.0.0/16", "100.64.0.0/10", "127.0.0.0/8"]
        + subnets
        + [".cluster.local", ".svc", "localhost"]
    )

    files = total = 0
    for node in nodes:
        role = node.get("role", "agent")
        unit = "k3s" if role == "server" else "k3s-agent"
        ctx = {
            "cluster": spec["name"],
            "node": node,
            "role": role,
            "unit": unit,
            "first": node is first_server,
            "first_server": first_server,
            # LAN address next to the servers, the mesh address elsewhere
            "node_ip": node["lan_ip"] if node["site"] == server_site else node["mesh_ip"],
            "network": network,
            "proxy": proxy,
            "no_proxy": no_proxy,
        }
        base = os.path.join(out, "nodes", node["name"])
        total += write(
            os.path.join(base, "etc/rancher/k3s/config.yaml"), config.render(ctx), 0o600
        )
        total += write(
            os.path.join(base, "etc/systemd/system", unit + ".service.env"),
            env_file.render(ctx),
            0o600,
        )
        total += write(os.path.join(base, "install.sh"), install.render(ctx), 0o755)
        files += 3
    os.sync()
    print(f"reference: wrote {files} files, {total} bytes to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
