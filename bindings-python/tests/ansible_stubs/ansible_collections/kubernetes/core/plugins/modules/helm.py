#!/usr/bin/python
# Copyright: meshspec maintainers
# Apache-2.0
"""Test-only stand-in for kubernetes.core.helm: records its arguments instead of running helm.

It takes the real module's options (names, aliases, types and defaults as in kubernetes.core's
plugins/modules/helm.py and its helm_common_options fragment, for the subset a playbook of this
repository can use), so a misspelt or unknown option fails as it would for real, and appends
``<host> helm {"host": $MESHSPEC_HOST, "module": "kubernetes.core.helm", "check_mode": ...,
"params": <the options the task passed>}`` as one line to the file named by ``$MESHSPEC_CALL_LOG``.
"""

from __future__ import annotations

import json
import os

from ansible.module_utils.basic import AnsibleModule, _load_params

DOCUMENTATION = r"""
module: helm
short_description: Test-only stand-in for kubernetes.core.helm that records its arguments
description: Records its arguments to $MESHSPEC_CALL_LOG; never runs helm.
options: {}
author: meshspec maintainers
"""

ARGUMENT_SPEC = dict(
    chart_ref=dict(type="path"),
    chart_repo_url=dict(type="str"),
    chart_version=dict(type="str"),
    release_name=dict(type="str", required=True, aliases=["name"]),
    release_namespace=dict(type="str", required=True, aliases=["namespace"]),
    release_state=dict(default="present", choices=["present", "absent"], aliases=["state"]),
    release_values=dict(type="dict", default={}, aliases=["values"]),
    values_files=dict(type="list", default=[], elements="str"),
    update_repo_cache=dict(type="bool", default=False),
    wait=dict(type="bool", default=False),
    wait_timeout=dict(type="str"),
    timeout=dict(type="str"),
    atomic=dict(type="bool", default=False),
    create_namespace=dict(type="bool", default=False),
    skip_crds=dict(type="bool", default=False),
    history_max=dict(type="int"),
    # helm_common_options
    binary_path=dict(type="path"),
    context=dict(type="str", aliases=["kube_context"]),
    host=dict(type="str"),
    api_key=dict(type="str", no_log=True),
    validate_certs=dict(type="bool", default=True, aliases=["verify_ssl"]),
    ca_cert=dict(type="path", aliases=["ssl_ca_cert"]),
    kubeconfig=dict(type="raw", aliases=["kubeconfig_path"]),
)


def main() -> None:
    given = {k: v for k, v in _load_params().items() if not k.startswith("_ansible")}
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    log = os.environ.get("MESHSPEC_CALL_LOG")
    if not log:
        module.fail_json(msg="the kubernetes.core.helm stand-in needs MESHSPEC_CALL_LOG")
    record = {
        "host": os.environ.get("MESHSPEC_HOST"),
        "module": "kubernetes.core.helm",
        "check_mode": module.check_mode,
        # what the task passed (validated above), without the defaults
        "params": given,
    }
    with open(log, "a", encoding="utf-8") as f:
        f.write(f"{record['host']} helm {json.dumps(record, sort_keys=True)}\n")
    module.exit_json(changed=True)


if __name__ == "__main__":
    main()
