"""One service node of the cluster: the counter API over a shared store, its rollup queues in memory.

``python -m learnbackend.counter.node --port P`` with the store URL in
``LEARNBACKEND_COUNTER_STORE`` (postgresql://..., not on the command line: a
password in argv is visible to every local user) and the cache URL, if any, in
``LEARNBACKEND_COUNTER_CACHE``. Binds 127.0.0.1. Started by the lab, it exits
when the lab process is gone.
"""

from __future__ import annotations

import argparse
import os
import sys

from learnbackend.counter.server import HOST, _exit_with_parent

STORE_ENV = "LEARNBACKEND_COUNTER_STORE"
CACHE_ENV = "LEARNBACKEND_COUNTER_CACHE"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="learnbackend-counter-node")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--sweep-s", type=float, default=2.0,
                        help="How often to re-queue counters whose checkpoint is behind their last write (0 = never).")
    args = parser.parse_args(argv)
    store = os.environ.get(STORE_ENV, "")
    if not store:
        parser.error(f"{STORE_ENV} is not set (the cluster sets it for each node)")
    if os.environ.get("LEARNBACKEND_COUNTER_CHILD"):
        _exit_with_parent()
    import uvicorn

    from learnbackend.counter.raw_add import CounterHttpProtocol
    from learnbackend.counter.service import create_asgi, tune_interpreter

    app = create_asgi(store, redis_url=os.environ.get(CACHE_ENV) or None, sweep_s=args.sweep_s)
    tune_interpreter()
    uvicorn.run(app, host=HOST, port=args.port, log_level="warning", access_log=False, timeout_keep_alive=60,
                proxy_headers=False, http=CounterHttpProtocol)
    return 0


if __name__ == "__main__":
    sys.exit(main())
