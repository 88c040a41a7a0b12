"""Learner code from the red-team pass: tries one class of escape and prints, as its last line, what it reached.

Run inside the sandbox as ``attacker.py ATTACK HINTS_JSON``; every attempt is recorded as
``["reached", value]`` or ``["refused", error]``. The test decides what must be refused.
"""

import ctypes
import json
import os
import signal
import socket
import sys
import time

ATTACK, HINTS = sys.argv[1], json.loads(sys.argv[2])
OUT: dict = {}
LIBC = ctypes.CDLL(None, use_errno=True)


def attempt(label, action):
    try:
        OUT[label] = ["reached", repr(action())[:300]]
    except BaseException as exc:  # noqa: BLE001 - every failure is an observation
        OUT[label] = ["refused", f"{type(exc).__name__}: {exc}"[:300]]


def read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


def append(path, text):
    with open(path, "a") as f:
        return f.write(text)


def connect_unix(address):
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(2)
        s.connect(address)
        return s.recv(64)


def connect_tcp(port):
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        return s.recv(64)


def syscall_ok(result):
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return "ok"


def pids():
    return sorted(int(p) for p in os.listdir("/proc") if p.isdigit()) if os.path.isdir("/proc/self") else []


def filesystem():
    attempt("read_secret_file", lambda: read(HINTS["secret_file"]))
    attempt("read_public_file_outside", lambda: read(HINTS["public_file"]))
    attempt("list_checker_home", lambda: os.listdir(HINTS["home"]))
    attempt("read_ssh_key", lambda: read(os.path.join(HINTS["home"], ".ssh", "id_rsa")))
    attempt("list_root_home", lambda: os.listdir("/root"))
    attempt("list_root_ssh", lambda: os.listdir("/root/.ssh"))
    attempt("read_parent_environ", lambda: read(f"/proc/{os.getppid()}/environ", "rb"))
    attempt("read_checker_environ", lambda: read(f"/proc/{HINTS['checker_pid']}/environ", "rb"))
    leaked = []
    for pid in pids():
        try:
            if HINTS["secret_env"].encode() in read(f"/proc/{pid}/environ", "rb"):
                leaked.append(pid)
        except OSError:
            pass
    OUT["environ_leaks"] = leaked
    attempt("write_outside_run_dir", lambda: append(os.path.join(HINTS["outside_dir"], "escaped.txt"), "x"))
    attempt("write_host_tmp", lambda: append(HINTS["host_tmp_file"], "x"))
    attempt("read_package", lambda: read(HINTS["package_file"]))
    attempt("write_package", lambda: append(HINTS["package_file"], "\n# forged by the learner\n"))
    attempt("write_checker_python", lambda: append(os.path.join(HINTS["python_prefix"], "lb_redteam_forged.py"), "x"))
    attempt("unix_socket", lambda: connect_unix(HINTS["unix_socket"]))
    attempt("abstract_socket", lambda: connect_unix("\0" + HINTS["abstract_socket"]))
    attempt("docker_socket", lambda: connect_unix("/var/run/docker.sock"))
    attempt("list_run", lambda: os.listdir("/run"))
    attempt("write_run_dir", lambda: append("inside.txt", "mine"))
    attempt("write_tmpdir", lambda: append(os.path.join(os.environ["TMPDIR"], "scratch"), "mine"))


def privileges():
    status = dict(line.split(":", 1) for line in read("/proc/self/status").splitlines() if ":" in line)
    OUT["ids"] = [os.getuid(), os.geteuid(), os.getgid(), os.getgroups()]
    OUT["caps"] = {k: status.get(k, "").strip() for k in ("CapEff", "CapPrm", "CapBnd", "CapAmb", "NoNewPrivs")}
    attempt("host_loopback_server", lambda: connect_tcp(HINTS["tcp_port"]))
    joined = []
    for pid in [*pids(), HINTS["checker_pid"]]:
        try:
            fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
        except OSError:
            continue
        if LIBC.setns(fd, 0x40000000) == 0:
            joined.append(pid)
        os.close(fd)
    OUT["setns_joined"] = joined
    attempt("host_loopback_after_setns", lambda: connect_tcp(HINTS["tcp_port"]))
    attempt("write_root_cgroup", lambda: append("/sys/fs/cgroup/pids/cgroup.procs", str(os.getpid())))
    attempt("write_root_cgroup_v2", lambda: append("/sys/fs/cgroup/unified/cgroup.procs", str(os.getpid())))
    os.makedirs("mnt", exist_ok=True)
    attempt("mount_sysfs", lambda: syscall_ok(LIBC.mount(b"sysfs", b"mnt", b"sysfs", 0, None)))
    attempt("remount_root_rw", lambda: syscall_ok(LIBC.mount(None, b"/", None, 0x20, None)))
    attempt("setuid_root", lambda: os.setuid(0))
    attempt("chroot", lambda: os.chroot("/tmp"))
    attempt("unshare_user", lambda: syscall_ok(LIBC.unshare(0x10000000)))  # last: it would give capabilities


def daemon():
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            for group in ("/sys/fs/cgroup/pids/cgroup.procs", "/sys/fs/cgroup/unified/cgroup.procs"):
                try:
                    append(group, str(os.getpid()))
                except OSError:
                    pass
            time.sleep(HINTS["daemon_delay"])
            with open(HINTS["marker"], "w") as f:
                f.write("the daemon survived the run")
            os._exit(0)
        os._exit(0)
    time.sleep(0.2)
    OUT["started"] = True


def signals():
    OUT["visible_pids"] = pids()
    for target in (HINTS["checker_pid"], HINTS["checker_parent_pid"], os.getppid(), 1):
        for sig in (signal.SIGSTOP, signal.SIGKILL):
            attempt(f"kill_{target}_{sig.name}", lambda t=target, s=sig: os.kill(t, s))


def benign():
    OUT["hello"] = "ok"


{"filesystem": filesystem, "privileges": privileges, "daemon": daemon, "signals": signals, "benign": benign}[ATTACK]()
print(json.dumps(OUT), flush=True)
