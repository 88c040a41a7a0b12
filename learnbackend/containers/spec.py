"""The learner's container spec: a small YAML file, validated into a :class:`RunSpec`.

Only safe fields exist. Asking for what the lab never does (privileged, host
mounts, a network, extra capabilities) is refused with the reason, not ignored.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from learnbackend.containers.image import IMAGE_ALIASES
from learnbackend.containers.runner import DEFAULT_MEM, DEFAULT_PIDS, RunSpec
from learnbackend.errors import ContentError

MIN_MEM = 6 * 1024 * 1024  # Docker refuses less
MAX_MEM = 1024 * 1024 * 1024
MAX_PIDS = 4096
#: A spec is a dozen lines.
MAX_SPEC_BYTES = 64 * 1024
FIELDS = ("image", "command", "mem_limit", "pids_limit", "cpus", "read_only", "user", "hostname", "env", "timeout")
REFUSED = {
    "privileged": "the lab never runs privileged containers",
    "volumes": "the lab never mounts host directories into a container",
    "mounts": "the lab never mounts host directories into a container",
    "network_mode": "lab containers have no network (network_mode is always none)",
    "network": "lab containers have no network (network_mode is always none)",
    "ports": "lab containers have no network, so no ports",
    "cap_add": "the lab never adds capabilities",
    "devices": "the lab never passes host devices",
    "pid_mode": "the lab never shares the host's PID namespace",
}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]?)i?b?\s*$", re.IGNORECASE)


class SpecError(ContentError):
    """The learner's spec file is not valid; the message names the field and the fix."""


def parse_size(value: Any, field: str) -> int:
    """``"32m"``, ``"32MiB"``, ``"1g"`` or a number of bytes → bytes."""
    if isinstance(value, bool):
        raise SpecError(f"{field}: expected a size like 64m, got {value!r}")
    if isinstance(value, int):
        return value
    match = _SIZE.match(str(value))
    if not match:
        raise SpecError(f"{field}: {value!r} is not a size", fix="write it like 32m, 128m or 1g")
    number, unit = float(match.group(1)), match.group(2).lower()
    return int(number * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit])


def _todo(value: Any) -> bool:
    return (isinstance(value, str) and "TODO" in value) or (
        isinstance(value, list) and any(isinstance(v, str) and "TODO" in v for v in value))


def validate(data: Any, *, required: tuple[str, ...] | list[str] = ()) -> RunSpec:
    """Check a parsed spec (a mapping) and turn it into a :class:`RunSpec`; raises :class:`SpecError`."""
    if not isinstance(data, dict):
        raise SpecError("the spec must be a mapping of fields (image:, command:, mem_limit: ...)")
    for key, reason in REFUSED.items():
        if key in data:
            raise SpecError(f"{key}: not allowed: {reason}", fix=f"remove the `{key}:` line")
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise SpecError(f"unknown field(s): {', '.join(map(str, unknown))}", fix=f"the fields are: {', '.join(FIELDS)}")
    for key, value in data.items():
        if _todo(value):
            raise SpecError(f"{key}: still says TODO", fix=f"replace the TODO of `{key}:` with your value")
    for key in required:
        if data.get(key) is None:
            raise SpecError(f"{key}: this exercise needs it set", fix=f"add `{key}:` to the spec")
    image = data.get("image")
    if image not in IMAGE_ALIASES:
        raise SpecError(f"image: {image!r} is not the lab's image", fix=f"use `image: {IMAGE_ALIASES[0]}` (built locally, no registry)")
    command = data.get("command")
    if isinstance(command, str) and command.strip():
        argv = ["sh", "-c", command]
    elif isinstance(command, list) and command and all(isinstance(c, (str, int, float)) for c in command):
        argv = [str(c) for c in command]
    else:
        raise SpecError("command: expected a shell command (text) or a list of arguments",
                        fix='for example `command: "echo hello"`')
    mem = parse_size(data["mem_limit"], "mem_limit") if data.get("mem_limit") is not None else DEFAULT_MEM
    if not MIN_MEM <= mem <= MAX_MEM:
        raise SpecError(f"mem_limit: {data['mem_limit']} is outside 6m..1g", fix="pick a limit between 6m and 1g")
    pids = data.get("pids_limit", DEFAULT_PIDS)
    if isinstance(pids, bool) or not isinstance(pids, int) or not 1 <= pids <= MAX_PIDS:
        raise SpecError(f"pids_limit: expected a whole number from 1 to {MAX_PIDS}, got {pids!r}")
    cpus = data.get("cpus")
    if cpus is not None and (isinstance(cpus, bool) or not isinstance(cpus, (int, float)) or not 0.01 <= cpus <= 64):
        raise SpecError(f"cpus: expected a number of CPUs like 0.25 or 1, got {cpus!r}")
    read_only = data.get("read_only", False)
    if not isinstance(read_only, bool):
        raise SpecError(f"read_only: expected true or false, got {read_only!r}")
    env = data.get("env") or {}
    if not isinstance(env, dict):
        raise SpecError("env: expected a mapping of NAME: value")
    timeout = data.get("timeout", 30)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 1 <= timeout <= 120:
        raise SpecError(f"timeout: expected seconds from 1 to 120, got {timeout!r}")
    for key in ("user", "hostname"):
        if data.get(key) is not None and not isinstance(data[key], (str, int)):
            raise SpecError(f"{key}: expected text, got {data[key]!r}")
    return RunSpec(
        command=argv, mem_limit=mem, pids_limit=pids, cpus=float(cpus) if cpus is not None else None,
        read_only=read_only, user=str(data["user"]) if data.get("user") is not None else None,
        hostname=str(data["hostname"]) if data.get("hostname") else None,
        env={str(k): str(v) for k, v in env.items()}, timeout=float(timeout),
    )


def load(path: Path) -> dict[str, Any]:
    """Read a spec file as a mapping; raises :class:`SpecError` for a missing or unreadable file."""
    from learnbackend.course.yamlsource import load_yaml
    from learnbackend.workspace.safefiles import UnsafeFile, read_text

    try:
        text = read_text(path.parent, path.name, max_bytes=MAX_SPEC_BYTES)  # not a link, size-capped
    except FileNotFoundError:
        raise SpecError(f"{path.name} does not exist", fix="run `learnbackend init` again, or create the file") from None
    except UnsafeFile as exc:
        raise SpecError(exc.message, fix=exc.fix) from None
    except OSError as exc:
        raise SpecError(f"cannot read {path.name}: {exc.strerror}") from None
    source = load_yaml(Path(path.name), text, max_bytes=MAX_SPEC_BYTES)
    if source.problems:
        first = source.problems[0]
        where = f" (line {first.line})" if first.line else ""
        raise SpecError(f"{path.name}{where}: {first.message}", fix=first.fix)
    data = source.data
    if not isinstance(data, dict):
        raise SpecError(f"{path.name} must be a mapping of fields (image:, command:, mem_limit: ...)")
    return data
