"""Run ClickHouse 26.9 (clickhouse-local from the chdb-core wheel) as a listening server.

Usage: python -m pipeline.stack.clickhouse_server DIRECTORY MARK

DIRECTORY holds config.xml (listen host and ports) and data/; MARK is a string placed in the
keep-alive query so that the launcher can find and kill it. The engine is loaded straight from
`_chdb.abi3.so`, skipping `chdb/__init__.py`, whose own engine start would collide with this one
("EventNotifier is initialized twice"). The servers started by SYSTEM START LISTEN live as long
as the query that follows, so a near-endless sleep keeps them up; `KILL QUERY` on it stops the
server cleanly (see ClickHouseServer.stop).
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import sys

KEEPALIVE = (
    "SELECT '{mark}', sum(sleepEachRow(1)) FROM numbers(100000000000) "
    "SETTINGS max_block_size = 1, function_sleep_max_microseconds_per_block = 0"
)


def main(directory: str, mark: str) -> int:
    # find_spec locates the package without executing its __init__.
    spec = importlib.util.find_spec("chdb")
    if spec is None or not spec.submodule_search_locations:
        print("chdb-core is not installed: run `make setup`", file=sys.stderr)
        return 2
    library = os.path.join(next(iter(spec.submodule_search_locations)), "_chdb.abi3.so")
    ctypes.CDLL(library, mode=os.RTLD_GLOBAL)
    spec = importlib.util.spec_from_file_location("_chdb", library)
    if spec is None or spec.loader is None:
        print(f"cannot load {library}", file=sys.stderr)
        return 2
    engine = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(engine)
    os.chdir(directory)  # clickhouse-local reads ./config.xml
    # TabSeparated: HTTP clients that send no FORMAT get what a normal server answers with.
    result = engine.query(
        "SYSTEM START LISTEN HTTP; SYSTEM START LISTEN TCP; " + KEEPALIVE.format(mark=mark),
        "TabSeparated",
        path=os.path.join(directory, "data"),
    )
    error = result.error_message() if result.has_error() else ""
    print(f"clickhouse stopped{': ' + error if error else ''}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
