"""One design in its own process, driven over stdin/stdout (JSON lines), so it can be kill -9'd.

``python -m learnbackend.counter.designs.host DESIGN DIR``; requests
``{"op": "add", "c": counter, "d": delta, "t": token, "g": generation_time}``,
``{"op": "get", "c": counter}``, ``{"op": "settle"}``; each answered with one JSON line.
An ``add`` is answered only after the design acknowledged it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from learnbackend.counter.designs import make_design
from learnbackend.counter.tokens import Token


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    name, directory = args[0], Path(args[1])
    options = json.loads(args[2]) if len(args) > 2 else {}
    design = make_design(name, directory, **options)
    out = sys.stdout
    out.write('{"ready": true}\n')
    out.flush()
    for line in sys.stdin:
        request = json.loads(line)
        op = request.get("op")
        if op == "add":
            try:
                design.add(request["c"], int(request["d"]), Token(request["t"], int(request["g"])))
            except Exception as exc:  # noqa: BLE001 - refused (e.g. a late event): the client is told, the process lives on
                out.write(json.dumps({"error": type(exc).__name__, "message": str(exc)}) + "\n")
                out.flush()
                continue
            out.write('{"ok": true}\n')
        elif op == "get":
            out.write(json.dumps({"count": design.get(request["c"])}) + "\n")
        elif op == "settle":
            design.settle()
            out.write('{"ok": true}\n')
        out.flush()
    design.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
