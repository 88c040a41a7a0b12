"""The checker's side of a red-team scenario, run as the user of the mode under test.

Sets up what a checker's machine holds (a secret in its environment, a 0600 file, ~/.ssh,
a world-writable directory, a package it imports, a TCP server on 127.0.0.1, unix sockets),
runs ``attacker.py ATTACK`` in the sandbox and prints one JSON line: the sandbox's result,
what the attacker saw, and what the host shows afterwards.
"""

import atexit
import json
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

from learnbackend.errors import EnvironmentMissing
from learnbackend.sandbox import run_sandboxed
from learnbackend.sandbox.runner import _run, isolation_status

SECRET_ENV = "environ-secret-4711"
DAEMON_DELAY = 1.0


def serve(server: socket.socket, banner: bytes) -> None:
    while True:
        try:
            conn, _ = server.accept()
        except OSError:
            return
        with conn:
            conn.sendall(banner)


LIMITS = {
    "fork": "import os, time\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        time.sleep(0.01)\n",
    "memory": "data = bytearray(1024 * 1024 * 1024)\n",
    "disk": "f = open('big.bin', 'wb')\nwhile True:\n    f.write(b'x' * 1024 * 1024)\n",
    "files": "i = 0\nwhile True:\n    open(f'f{i}', 'w').close()\n    i += 1\n",
    "tmp": "f = open('/tmp/big.bin', 'wb')\nwhile True:\n    f.write(b'x' * 1024 * 1024)\n",
    "loop": "while True:\n    pass\n",
    "output": "import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n",
}


def limits() -> None:
    """Each flood in its own run: the reason it was stopped, and what is left of it."""
    report = {}
    for name, code in LIMITS.items():
        run_dir = Path(tempfile.mkdtemp(prefix="lb-redteam-limits-"))
        started = time.monotonic()
        # Floods that only a deadline stops get a short one; the others must be stopped by their limit first.
        timeout = 2.5 if name in ("fork", "loop", "output") else 15
        result = run_sandboxed([sys.executable, "-c", code], cwd=run_dir, timeout=timeout, memory_mb=128, max_procs=16,
                               max_file_mb=8)
        report[name] = {"reason": result.killed_reason, "seconds": round(time.monotonic() - started, 1),
                        "stdout_len": len(result.stdout), "left_bytes": sum(f.stat().st_size for f in run_dir.iterdir())}
        shutil.rmtree(run_dir, ignore_errors=True)
    print(json.dumps({"limits": report}))


def main() -> None:
    attack = sys.argv[1]
    if attack == "limits":
        limits()
        return
    os.environ["LB_REDTEAM_SECRET"] = SECRET_ENV
    work = Path(tempfile.mkdtemp(prefix="lb-redteam-"))
    atexit.register(shutil.rmtree, work, True)
    home = work / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text("ssh-secret")
    (home / ".ssh" / "id_rsa").chmod(0o600)
    os.environ["HOME"] = str(home)
    secret, public = work / "secret.txt", work / "public.txt"
    secret.write_text("file-secret")
    secret.chmod(0o600)
    public.write_text("public-outside")
    public.chmod(0o644)
    outside = work / "outside"
    outside.mkdir(mode=0o777)
    outside.chmod(0o777)
    site = work / "site"
    site.mkdir()
    package = site / "reports.py"
    package.write_text("TRUSTED = True\n")
    package.chmod(0o666)  # only the read-only view keeps the learner from changing it
    run_dir = work / "run"
    run_dir.mkdir()
    (run_dir / "attacker.py").write_text(Path(__file__).with_name("attacker.py").read_text())
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 0))
    tcp.listen()
    unix_path = str(work / "host.sock")
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(unix_path)
    os.chmod(unix_path, 0o777)
    unix.listen()
    abstract = f"lb-redteam-{os.getpid()}"
    abstract_server = socket.socket(socket.AF_UNIX)
    abstract_server.bind("\0" + abstract)
    abstract_server.listen()
    for server, banner in ((tcp, b"host-tcp"), (unix, b"host-unix"), (abstract_server, b"host-abstract")):
        threading.Thread(target=serve, args=(server, banner), daemon=True).start()
    host_tmp_file = f"/tmp/lb-redteam-escape-{os.getpid()}"
    hints = {
        "secret_file": str(secret), "public_file": str(public), "home": str(home), "outside_dir": str(outside),
        "checker_pid": os.getpid(), "checker_parent_pid": os.getppid(), "secret_env": SECRET_ENV,
        "host_tmp_file": host_tmp_file, "package_file": str(package), "python_prefix": sys.prefix,
        "unix_socket": unix_path, "abstract_socket": abstract, "tcp_port": tcp.getsockname()[1],
        "marker": str(run_dir / "daemon-survived"), "daemon_delay": DAEMON_DELAY,
    }
    argv = [sys.executable, "attacker.py", attack, json.dumps(hints)]
    forced = os.environ.get("LB_REDTEAM_FORCE_MODE")  # one isolation mode, not the best one this machine allows
    try:
        if forced:
            result = _run(argv, cwd=run_dir, timeout=20, memory_mb=512, max_procs=32, max_file_mb=50, env=None,
                          network=False, readable=[site], mode=forced)
        else:
            result = run_sandboxed(argv, cwd=run_dir, timeout=20, max_procs=32, readable=[site])
    except EnvironmentMissing as exc:
        print(json.dumps({"refused": exc.message, "fix": exc.fix}))
        return
    if attack == "daemon":
        time.sleep(DAEMON_DELAY + 1.0)
    lines = result.stdout.strip().splitlines()
    try:
        observed = json.loads(lines[-1]) if lines else None
    except ValueError:
        observed = None
    print(json.dumps({
        "exit_code": result.exit_code, "killed_reason": result.killed_reason, "isolated": result.isolated,
        "network_isolated": result.network_isolated, "stderr": result.stderr[-3000:], "observed": observed,
        "checker_uid": os.getuid(), "mode": forced or isolation_status().mode, "python_prefixes": sorted({sys.prefix, sys.base_prefix}),
        "host": {
            "escaped_outside": (outside / "escaped.txt").exists(), "host_tmp_file": os.path.exists(host_tmp_file),
            "package": package.read_text(), "daemon_marker": (run_dir / "daemon-survived").exists(),
            "inside_written": (run_dir / "inside.txt").exists(),
            "run_dir_owner": run_dir.stat().st_uid, "inside_owner": (run_dir / "inside.txt").stat().st_uid
            if (run_dir / "inside.txt").exists() else None,
        },
    }))


if __name__ == "__main__":
    main()
    for leftover in Path(tempfile.gettempdir()).glob(f"lb-redteam-escape-{os.getpid()}"):
        leftover.unlink()
