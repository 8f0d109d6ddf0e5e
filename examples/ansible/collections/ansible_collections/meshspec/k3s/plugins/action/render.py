# Copyright: meshspec maintainers
# Apache-2.0
"""Action plugin ``meshspec.k3s.render``: render one node's files on the controller and
write them on the target with ``ansible.legacy.copy``.

Rendering happens here, on the controller, where the ``meshspec`` wheel sits next to
ansible-core; the target only receives bytes, so it needs no wheel and no particular Python.
Check mode, diff mode and ``changed`` come from ``copy``. The spec data and the rendered
contents are never put into the result (only paths and modes), so nothing secret is logged;
diffs are what ``copy`` shows and honour ``no_log``/``diff: false`` like any task.
"""

from __future__ import annotations

import fnmatch
import posixpath
from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

try:
    import meshspec
    MESHSPEC_IMPORT_ERROR = None
except ImportError as exc:  # reported when the task runs
    meshspec = None
    MESHSPEC_IMPORT_ERROR = exc

ARGUMENT_SPEC = {
    "spec": {"type": "path"},
    "spec_data": {"type": "dict"},
    "node": {"type": "str"},
    "root": {"type": "str", "default": "/"},
    "include": {"type": "list", "elements": "str", "default": ["*"]},
    "exclude": {"type": "list", "elements": "str", "default": []},
}


def selected(rel: str, include: list[str], exclude: list[str]) -> bool:
    """Whether a node file (path relative to the node's root) is written."""

    def matches(patterns: list[str]) -> bool:
        return any(fnmatch.fnmatchcase(rel, p) for p in patterns)

    return matches(include) and not matches(exclude)


def failure_message(err: Any, source: str) -> str:
    """One line for ``msg``: every error's code, path and message."""
    errors = [d for d in err.diagnostics if d.is_error] or list(err.diagnostics)
    parts = []
    for d in errors:
        where = d.path or "spec"
        if d.line is not None:
            where += f" (line {d.line})"
        parts.append(f"{d.code} at {where}: {d.message}")
    count = f"{len(errors)} error{'s' if len(errors) != 1 else ''}"
    return f"meshspec: {count} in {source}: " + "; ".join(parts)


class ActionModule(ActionBase):
    """Render a node's files from a meshspec spec and write them under ``root``."""

    TRANSFERS_FILES = True
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        del tmp
        if meshspec is None:
            raise AnsibleActionFail(
                f"the meshspec Python package is required on the controller: {MESHSPEC_IMPORT_ERROR}"
            )
        _, args = self.validate_argument_spec(
            argument_spec=ARGUMENT_SPEC,
            mutually_exclusive=[("spec", "spec_data")],
            required_one_of=[("spec", "spec_data")],
        )
        node_name = args["node"] or task_vars.get("inventory_hostname")
        source = args["spec"] or "spec_data"
        try:
            cluster = self._load(args)
            node = cluster.node(node_name)
        except meshspec.SpecError as err:
            result.update(
                failed=True,
                changed=False,
                msg=failure_message(err, source),
                code=err.code,
                diagnostics=[d.as_dict() for d in err.diagnostics],
            )
            return result
        except (ValueError, TypeError, OSError) as err:
            raise AnsibleActionFail(f"meshspec: {err}") from err

        written: dict[str, Any] = {}
        diffs: list[Any] = []
        made: dict[str, dict[str, Any]] = {}
        for rel, file in sorted(node.files.items()):
            if not selected(rel, args["include"], args["exclude"]):
                continue
            dest = posixpath.join(args["root"], rel)
            outcome = self._write(dest, file, task_vars, made)
            if outcome.get("failed"):
                outcome["msg"] = f"meshspec: writing {dest}: {outcome.get('msg', 'failed')}"
                return outcome
            written[dest] = {"changed": bool(outcome.get("changed")), "mode": f"0{file.mode:o}"}
            diff = outcome.get("diff")
            if isinstance(diff, list):
                diffs.extend(diff)
            elif diff:
                diffs.append(diff)

        result.update(
            changed=any(f["changed"] for f in written.values()),
            node=node.name,
            role=node.role,
            files=written,
        )
        if diffs and self._task.diff:
            result["diff"] = diffs
        return result

    def _load(self, args: dict[str, Any]) -> Any:
        """The cluster from ``spec`` (a file on the controller) or ``spec_data`` (a dict)."""
        if args["spec"]:
            path = self._find_needle("files", args["spec"])
            return meshspec.Cluster.from_file(to_text(path))
        return meshspec.Cluster.from_dict(args["spec_data"], "spec_data")

    def _write(
        self, dest: str, file: Any, task_vars: dict[str, Any], made: dict[str, dict[str, Any]]
    ) -> dict[str, Any]:
        """Writes one file with ``copy`` after making its directory (once per directory, kept in
        ``made``); returns copy's result."""
        parent = posixpath.dirname(dest)
        if parent not in made:
            made[parent] = self._execute_module(
                module_name="ansible.legacy.file",
                module_args={"path": parent, "state": "directory"},
                task_vars=task_vars,
            )
        directory = made[parent]
        if directory.get("failed"):
            return directory
        if directory.get("changed") and self._task.check_mode:
            # the directory does not exist yet, so copy cannot check the file: it would be new
            result: dict[str, Any] = {"changed": True}
            if self._task.diff:
                result["diff"] = {
                    "before_header": dest,
                    "after_header": dest,
                    "before": "",
                    "after": file.contents,
                }
            return result
        task = self._task.copy()
        task.args = {"content": file.contents, "dest": dest, "mode": f"0{file.mode:o}"}
        copy = self._shared_loader_obj.action_loader.get(
            "ansible.legacy.copy",
            task=task,
            connection=self._connection,
            play_context=self._play_context,
            loader=self._loader,
            templar=self._templar,
            shared_loader_obj=self._shared_loader_obj,
        )
        return copy.run(task_vars=task_vars)

