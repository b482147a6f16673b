"""The memory of an idle server: a fresh `monitorx serve` (embedded DuckDB, empty
store), its resident set and its child processes', a few seconds after it answers.

    python bench/footprint.py [--settle-s 5]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).parent))
from _server import monitorx_server

MIB = 2**20


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--settle-s", type=float, default=5.0)
    args = parser.parse_args()
    with monitorx_server() as (url, _):
        port = url.rsplit(":", 1)[1]
        found = subprocess.check_output(["pgrep", "-f", "--", f"--port {port}"], text=True)
        server = psutil.Process(int(found.split()[0]))
        time.sleep(args.settle_s)
        own = server.memory_info().rss / MIB
        children = [c.memory_info().rss / MIB for c in server.children(recursive=True)]
    shown = ", ".join(f"{c:,.0f} MiB" for c in children) or "none"
    print(
        f"idle server: {own:,.0f} MiB resident; child processes: {shown}; "
        f"{own + sum(children):,.0f} MiB in all"
    )


if __name__ == "__main__":
    main()
