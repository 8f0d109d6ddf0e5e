# Copyright: meshspec maintainers
# Apache-2.0
"""Documentation of ``meshspec.k3s.render``; the work is done by the action plugin of the same name."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: render
short_description: Write one k3s node's files rendered from a meshspec cluster spec
description:
  - Reads a meshspec cluster spec (a YAML file or the same data as a dict), renders the files of
    one node (for example C(etc/rancher/k3s/config.yaml)) on the controller, and writes each of them
    under O(root) on the target with the file mode meshspec chose.
  - Files are written with M(ansible.builtin.copy), so check mode, diff mode and C(changed) behave
    as they do for C(copy); missing directories are created with M(ansible.builtin.file).
  - A spec with errors fails the task; C(msg) names every rule code (C(MS101) ...) and
    C(diagnostics) holds them as data. Run C(meshspec explain MS101) for a rule's page.
  - Nothing secret is logged; meshspec refuses inline tokens (C(MS009)) and references token files.
version_added: 0.1.0
author:
  - meshspec maintainers
options:
  spec:
    description:
      - Path of the spec file on the controller, found like M(ansible.builtin.copy)'s C(src)
        (relative to the role's or playbook's C(files/) directory, or absolute).
      - Exactly one of O(spec) and O(spec_data) is required.
    type: path
  spec_data:
    description:
      - The spec as a dict, for example C({{ lookup('file', 'cluster.yaml') | from_yaml }}) or a
        variable. Diagnostics then have no line numbers.
    type: dict
  node:
    description:
      - The node (as named in the spec's C(nodes)) whose files are written.
    type: str
    default: the host's C(inventory_hostname)
  root:
    description:
      - Directory the node's files are written under; C(/) writes C(/etc/rancher/k3s/config.yaml).
      - Point it elsewhere to stage files or to test without touching the system.
    type: str
    default: /
  include:
    description:
      - Shell-style patterns (C(fnmatch), where C(*) also matches C(/)) of the node files to
        write, relative to the node's root, for example C(etc/*).
    type: list
    elements: str
    default: ["*"]
  exclude:
    description:
      - Patterns of node files not to write, for example C(install.sh), the one-time k3s install
        script that sits at the top of each node's directory in the bundle.
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
  action:
    support: full
requirements:
  - the C(meshspec) Python package on the controller (next to ansible-core); targets need nothing
notes:
  - Labels and taints apply when a node first registers; run the commands of the plan to change
    them on an existing node.
seealso:
  - plugin: meshspec.k3s.meshspec_node
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Write this node's k3s config from the cluster spec
  meshspec.k3s.render:
    spec: cluster.yaml
    exclude: [install.sh]
  become: true
  notify: Restart k3s

- name: Stage the files of one node in a directory
  meshspec.k3s.render:
    spec_data: "{{ lookup('ansible.builtin.file', 'cluster.yaml') | from_yaml }}"
    node: k3s-gpu-worker
    root: /srv/staging/k3s-gpu-worker
"""

RETURN = r"""
changed:
  description: Whether any file was (or in check mode would be) changed.
  returned: always
  type: bool
node:
  description: The node whose files were written.
  returned: success
  type: str
  sample: k3s-gpu-worker
role:
  description: The node's role.
  returned: success
  type: str
  sample: agent
files:
  description: Each written file's path on the target, whether it changed, and its mode.
  returned: success
  type: dict
  sample: {"/etc/rancher/k3s/config.yaml": {"changed": true, "mode": "0600"}}
code:
  description: The first diagnostic's rule code when the spec has errors.
  returned: failure
  type: str
  sample: MS101
diagnostics:
  description: Every diagnostic (code, slug, severity, path, line, column, message, help).
  returned: failure
  type: list
  elements: dict
"""
