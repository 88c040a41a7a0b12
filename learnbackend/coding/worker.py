"""The sandboxed worker: imports the learner's module and answers calls into it, one frame at a time.

This file runs as ``python -I -S -c <this source> <module file>`` inside the
sandbox, so it imports only the standard library (never learnbackend) and
nothing of it is on the learner's disk. Learner code runs in this process and
may tamper with anything here: that is harmless, because the checker decides
from the *values* it receives, decoded into plain Python data on its side.

Protocol (see learnbackend.coding.protocol): frames are a 4-byte big-endian
length and a UTF-8 JSON object, on the process's original stdin/stdout. Before
the learner's module is imported, those two descriptors are moved aside and
fds 0/1 are pointed at /dev/null and stderr, so a ``print`` cannot write a frame.
The learner's source is read and compiled once; ``reset`` (sent before every test
but the first) re-runs it in a fresh module and drops every object of the last test.
"""

import json
import os
import struct
import sys
import traceback

MAX_FRAME = 8 * 1024 * 1024
MAX_DEPTH = 64


def _setup_fds():
    proto_in = os.dup(0)
    proto_out = os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    return proto_in, proto_out


def _read_exact(fd, size):
    chunks = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _read_frame(fd):
    (size,) = struct.unpack(">I", _read_exact(fd, 4))
    if size > MAX_FRAME:
        raise EOFError
    return json.loads(_read_exact(fd, size).decode("utf-8"))


def _write_frame(fd, message):
    data = json.dumps(message, separators=(",", ":")).encode("utf-8")
    if len(data) > MAX_FRAME:
        data = json.dumps({"id": message.get("id"), "error": {
            "type": "ValueError", "message": "the value returned is too large to send back (over 8 MB)"}}).encode()
    frame = struct.pack(">I", len(data)) + data
    while frame:
        written = os.write(fd, frame)
        frame = frame[written:]


class Worker:
    def __init__(self, path):
        self.handles = {}
        self.numbers = {}  # id(object) -> handle; the object is kept alive by self.handles
        self.next_handle = 1
        self.path = path

    def clear(self):
        self.handles.clear()
        self.numbers.clear()

    def handle_of(self, value):
        number = self.numbers.get(id(value))
        if number is not None and self.handles.get(number) is value:
            return number
        number = self.next_handle
        self.next_handle += 1
        self.handles[number] = value
        self.numbers[id(value)] = number
        return number

    def encode(self, value, depth=0):
        if depth > MAX_DEPTH:
            raise ValueError("the value is nested too deeply to send back")
        if value is None or value is True or value is False:
            return value
        if isinstance(value, int) and not isinstance(value, bool) and type(value).__module__ == "builtins":
            return int(value)
        if type(value) is float:
            return value
        if type(value) is str:
            return value
        if type(value) is list:
            return [self.encode(v, depth + 1) for v in value]
        if type(value) is tuple:
            return {"$tuple": [self.encode(v, depth + 1) for v in value]}
        if type(value) is dict:
            return {"$dict": [[self.encode(k, depth + 1), self.encode(v, depth + 1)] for k, v in value.items()]}
        if type(value) in (set, frozenset):
            return {"$set": [self.encode(v, depth + 1) for v in value]}
        return {"$handle": self.handle_of(value), "type": type(value).__name__}

    def decode(self, data, depth=0):
        if depth > MAX_DEPTH:
            raise ValueError("argument nested too deeply")
        if isinstance(data, list):
            return [self.decode(v, depth + 1) for v in data]
        if isinstance(data, dict):
            if "$handle" in data:
                return self.handles[data["$handle"]]
            if "$tuple" in data:
                return tuple(self.decode(v, depth + 1) for v in data["$tuple"])
            if "$set" in data:
                return {self.decode(v, depth + 1) for v in data["$set"]}
            if "$dict" in data:
                return {self.decode(k, depth + 1): self.decode(v, depth + 1) for k, v in data["$dict"]}
            raise ValueError("unknown value")
        return data

    def answer(self, request):
        op = request.get("op")
        target = self.handles[request["target"]]
        if op == "getattr":
            value = getattr(target, request["name"])
            if callable(value):
                return {"callable": True}
            return {"ok": self.encode(value)}
        if op == "call":
            fn = getattr(target, request["name"]) if request.get("name") else target
            args = self.decode(request.get("args", []))
            kwargs = {str(k): v for k, v in self.decode(request.get("kwargs", {"$dict": []})).items()}
            return {"ok": self.encode(fn(*args, **kwargs))}
        raise ValueError(f"unknown operation {op!r}")


def _describe(exc):
    try:
        message = str(exc)[:2000]
    except BaseException:  # noqa: BLE001 - learner code: anything may fail
        message = "(the exception's message could not be read)"
    try:
        frames = traceback.extract_tb(exc.__traceback__)
        learner = [f for f in frames if f.filename.endswith(".py") and not f.filename.startswith("<")]
        where = [f"{os.path.basename(f.filename)}:{f.lineno} in {f.name}" for f in learner[-3:]]
    except BaseException:  # noqa: BLE001 - learner code: anything may fail
        where = []
    return {"type": type(exc).__name__[:100], "message": message, "where": where}


def _load(worker, code, name, path):
    """A fresh module from the learner's compiled source; the status message (ready, import_error or exited)."""
    import types

    worker.clear()
    try:
        module = types.ModuleType(name)
        module.__file__ = path
        sys.modules[name] = module
        exec(code, module.__dict__)
        worker.handles[0] = module
        worker.numbers[id(module)] = 0
    except SystemExit as exc:
        return {"exited": str(exc.code)}
    except BaseException as exc:  # noqa: BLE001 - every import failure is reported
        return {"import_error": _describe(exc)}
    return {"ready": True}


def main():
    proto_in, proto_out = _setup_fds()
    sys.dont_write_bytecode = True
    path = os.path.abspath(sys.argv[1])
    worker = Worker(path)
    hello = _read_frame(proto_in)
    nonce = hello.get("nonce", "")
    name = os.path.basename(path)[:-3]
    sys.path.insert(0, os.path.dirname(path))
    try:
        # Read and compiled once: every test re-runs this code in a fresh module, whatever the file becomes.
        with open(path, "rb") as handle:
            code = compile(handle.read(), path, "exec")
    except BaseException as exc:  # noqa: BLE001 - a syntax error is an import error
        code = None
        status = {"import_error": _describe(exc)}
    if code is not None:
        status = _load(worker, code, name, path)
    status["n"] = nonce
    _write_frame(proto_out, status)
    if status.get("ready") is not True:
        return
    while True:
        try:
            request = _read_frame(proto_in)
        except EOFError:
            return
        if request.get("op") == "reset":
            status = _load(worker, code, name, path)
            status.update(n=nonce, id=request.get("id"))
            _write_frame(proto_out, status)
            if status.get("ready") is not True:
                return
            continue
        reply = {}
        try:
            reply = worker.answer(request)
        except SystemExit as exc:
            _write_frame(proto_out, {"n": nonce, "id": request.get("id"), "exited": str(exc.code)})
            return
        except BaseException as exc:  # noqa: BLE001 - every learner failure is an answer
            reply = {"error": _describe(exc)}
        reply["n"] = nonce
        reply["id"] = request.get("id")
        try:
            _write_frame(proto_out, reply)
        except (TypeError, ValueError, RecursionError) as exc:
            _write_frame(proto_out, {"n": nonce, "id": request.get("id"), "error": _describe(exc)})


if __name__ == "__main__":
    main()
    # Skip interpreter teardown (atexit handlers, finalizers): nothing learner code queued runs after the last frame.
    sys.stdout.flush()
    os._exit(0)
