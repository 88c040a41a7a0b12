"""The checker's side of the worker protocol: frames, the value codec and the errors a call can raise.

A frame is a 4-byte big-endian length and a UTF-8 JSON object. Values cross as
JSON with four tagged forms: ``{"$tuple": [...]}``, ``{"$set": [...]}``,
``{"$dict": [[key, value], ...]}`` (any hashable keys) and
``{"$handle": n, "type": "Name"}`` (an object living in the worker). Decoding
builds only built-in ``None``/``bool``/``int``/``float``/``str``/``list``/
``tuple``/``dict``/``set`` values and :class:`RemoteObject` proxies, so nothing
the learner's code returns can run code in the checker (no custom ``__eq__``).

Messages (the checker asks, the worker answers; every answer carries the run's
nonce ``n`` and the request's ``id``): first ``{"nonce"}`` → ``{"ready": true}`` |
``{"import_error": {type, message, where}}`` | ``{"exited"}``; then
``{"op": "getattr", "target": handle, "name"}`` → ``{"ok": value}`` | ``{"callable": true}``;
``{"op": "call", "target", "name" (or null: call the target), "args", "kwargs"}`` →
``{"ok": value}`` | ``{"error": {type, message, where}}`` | ``{"exited"}``; and
``{"op": "reset"}`` → like the first answer. Handle 0 is the learner's module.
"""

from __future__ import annotations

import builtins
import json
import struct
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from learnbackend.coding.session import WorkerSession

#: The largest frame accepted from a worker (a reply bigger than this is a protocol error).
MAX_FRAME = 16 * 1024 * 1024
MAX_DEPTH = 64
#: Dict and set entries per reply: hashing is the one place crafted keys (colliding ints)
#: could cost quadratic time in the checker, so their number is bounded.
MAX_HASHED = 20_000
_CONTROL = dict.fromkeys([*range(9), *range(11, 32), *range(127, 160)])


def clean(text: str, limit: int) -> str:
    """Text from the learner's process, fit for a report and a terminal: no control characters, bounded."""
    return text[: limit * 2].translate(_CONTROL)[:limit]
HEADER = struct.Struct(">I")


class WorkerGone(BaseException):
    """The worker can no longer answer (base of exits, timeouts and protocol errors).

    A BaseException, so that a test's ``except Exception`` or ``raises(Exception)``
    cannot mistake a crashed worker for an expected error.
    """


class LearnerExited(WorkerGone):
    """The learner's code ended its process (``sys.exit``, ``os._exit``, a crash, a limit)."""


class WorkerTimeout(WorkerGone):
    """The exercise's time budget ran out while waiting for the learner's code."""


class ProtocolError(WorkerGone):
    """The worker sent something that is not a well-formed answer to the question asked."""


class LearnerError(Exception):
    """The learner's code raised an exception; ``type_name`` is its class name, ``where`` its last frames.

    When the name is a built-in exception (``ValueError``, ``KeyError``...) the
    raised object is also an instance of that built-in, so ``raises(ValueError)`` works.
    """

    type_name: str = "Exception"
    where: list[str]

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


_ERROR_CLASSES: dict[str, type[LearnerError]] = {}


def learner_error(type_name: str, message: str, where: list[str]) -> LearnerError:
    """The exception to raise in the checker for an exception raised by the learner's code."""
    cls = _ERROR_CLASSES.get(type_name)
    if cls is None:
        cls = LearnerError
        base = getattr(builtins, type_name, None)
        if isinstance(base, type) and issubclass(base, Exception) and base is not Exception:
            try:
                cls = type(f"Learner{type_name}", (LearnerError, base), {"type_name": type_name})
            except TypeError:  # a built-in whose layout cannot be mixed in
                cls = LearnerError
            _ERROR_CLASSES[type_name] = cls  # built-in names only: the cache stays small whatever learners send
    message = clean(message, 2000)
    try:
        error = cls(message)
    except Exception:  # noqa: BLE001 - a built-in whose constructor wants other arguments
        error = LearnerError(message)
    error.type_name = clean(type_name, 100)
    error.where = [clean(w, 200) for w in where]
    return error


class RemoteObject:
    """An object that lives in the learner's worker: attribute reads and calls become requests."""

    __slots__ = ("_handle", "_session", "_type")

    def __init__(self, session: WorkerSession, handle: int, type_name: str) -> None:
        object.__setattr__(self, "_session", session)
        object.__setattr__(self, "_handle", handle)
        object.__setattr__(self, "_type", type_name)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self._session.getattr(self._handle, name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise TypeError("a learner object cannot be changed from the tests; call one of its methods instead")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._session.call(self._handle, None, args, kwargs)

    def __eq__(self, other: object) -> bool:
        """The same object of the same worker (decided here, never by the learner's ``__eq__``)."""
        return isinstance(other, RemoteObject) and other._session is self._session and other._handle == self._handle

    def __hash__(self) -> int:
        return hash((id(self._session), self._handle))

    def __bool__(self) -> bool:
        # A handle has no truth value of its own: `assert learner.f()` must not pass on any returned object.
        raise TypeError(f"{self!r} has no truth value in the checker; compare a plain value (e.g. `is True`)")

    def __repr__(self) -> str:
        return f"<learner's {self._type} object>"


class RemoteFunction:
    """A callable attribute of a learner object (a method, function or class): calling it is one request."""

    __slots__ = ("_handle", "_name", "_session")

    def __init__(self, session: WorkerSession, handle: int, name: str) -> None:
        self._session, self._handle, self._name = session, handle, name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._session.call(self._handle, self._name, args, kwargs)

    def __repr__(self) -> str:
        return f"<learner's {self._name}>"


# --- frames ----------------------------------------------------------------------------

def frame(message: dict[str, Any]) -> bytes:
    data = json.dumps(message, separators=(",", ":"), allow_nan=True).encode("utf-8")
    return HEADER.pack(len(data)) + data


def parse_payload(payload: bytes) -> dict[str, Any]:
    """A frame's JSON object; ProtocolError for anything else."""
    try:
        message = json.loads(payload.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # bad UTF-8 or JSON, too-long ints, too deep
        raise ProtocolError(f"the worker sent unreadable data ({type(exc).__name__})") from None
    if not isinstance(message, dict):
        raise ProtocolError("the worker sent something other than a message")
    return message


# --- values ----------------------------------------------------------------------------

def encode(value: Any, session: WorkerSession, depth: int = 0) -> Any:
    """A test's argument as JSON data for the worker; TypeError for what cannot cross."""
    if depth > MAX_DEPTH:
        raise TypeError("an argument for the learner's code is nested too deeply")
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, list):
        return [encode(v, session, depth + 1) for v in value]
    if isinstance(value, tuple):
        return {"$tuple": [encode(v, session, depth + 1) for v in value]}
    if isinstance(value, (set, frozenset)):
        return {"$set": [encode(v, session, depth + 1) for v in value]}
    if isinstance(value, dict):
        return {"$dict": [[encode(k, session, depth + 1), encode(v, session, depth + 1)] for k, v in value.items()]}
    if isinstance(value, RemoteObject):
        if value._session is not session:
            raise TypeError(f"{value!r} belongs to another run of the learner's code")
        return {"$handle": value._handle}
    raise TypeError(f"cannot pass a {type(value).__name__} to the learner's code: only None, bool, int, float, "
                    "str, list, tuple, dict, set and objects the learner's code returned can cross")


def decode(data: Any, session: WorkerSession) -> Any:
    """A worker's JSON value as plain built-in Python data (or a RemoteObject); ProtocolError otherwise."""
    return _Decoder(session).value(data, 0)


class _Decoder:
    def __init__(self, session: WorkerSession) -> None:
        self.session = session
        self.hashed = 0

    def _count(self, n: int) -> None:
        self.hashed += n
        if self.hashed > MAX_HASHED:
            raise ProtocolError(f"the value has more than {MAX_HASHED} dict or set entries")

    def value(self, data: Any, depth: int, *, key: bool = False) -> Any:
        return _decode(self, data, depth, key=key)


def _decode(decoder: _Decoder, data: Any, depth: int, *, key: bool = False) -> Any:
    session = decoder.session
    if depth > MAX_DEPTH:
        raise ProtocolError("the value is nested too deeply")
    kind = type(data)
    if data is None or kind in (bool, int, float, str):
        return data
    if kind is list:
        if key:
            raise ProtocolError("a list cannot be a dict key or a set element")
        return [decoder.value(v, depth + 1) for v in data]
    if kind is not dict or len(data) not in (1, 2):
        raise ProtocolError("the worker sent a value of an unknown form")
    if "$tuple" in data and type(data["$tuple"]) is list:
        return tuple(decoder.value(v, depth + 1, key=key) for v in data["$tuple"])
    if "$set" in data and type(data["$set"]) is list:
        decoder._count(len(data["$set"]))
        items = [decoder.value(v, depth + 1, key=True) for v in data["$set"]]
        return frozenset(items) if key else set(items)
    if "$dict" in data and type(data["$dict"]) is list and not key:
        decoder._count(len(data["$dict"]))
        result = {}
        for pair in data["$dict"]:
            if type(pair) is not list or len(pair) != 2:
                raise ProtocolError("the worker sent a malformed dict")
            result[decoder.value(pair[0], depth + 1, key=True)] = decoder.value(pair[1], depth + 1)
        return result
    if "$handle" in data and type(data["$handle"]) is int:
        return RemoteObject(session, data["$handle"], clean(str(data.get("type", "object")), 100))
    raise ProtocolError("the worker sent a value of an unknown form")
