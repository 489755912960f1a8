"""``python -m bench <name>|all [--quick]``: run benchmarks, print tables, write JSON."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys

#: Every benchmark module under bench/, each with ``async def run(quick: bool) -> Result``.
BENCHMARKS: tuple[str, ...] = ("identity", "e2e", "graphql", "ingest")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("name", choices=[*BENCHMARKS, "all"])
    parser.add_argument("--quick", action="store_true", help="a short run, under a minute")
    options = parser.parse_args()
    names = BENCHMARKS if options.name == "all" else (options.name,)
    all_met = True
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        result = asyncio.run(module.run(quick=options.quick))
        all_met = all_met and result.met
    return 0 if all_met else 1


if __name__ == "__main__":
    sys.exit(main())
