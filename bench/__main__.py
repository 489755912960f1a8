"""``python -m bench <name>|all [--quick] [--no-gate]``: run benchmarks, print tables,
write JSON, check that JSON for consistency.

Exit status: 0 when every target was met (with ``--no-gate``: whatever the verdicts),
1 when a target was missed or not measured, 2 when a result file is missing or
inconsistent (``bench/consistency.py``); a benchmark that fails raises.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import sys

from bench.consistency import problems

#: Every benchmark module under bench/, each with ``async def run(quick: bool) -> Result``.
BENCHMARKS: tuple[str, ...] = (
    "identity",
    "e2e",
    "graphql",
    "ingest",
    "sign_in_flood",
    "knowledge",
    "web",
    "webhooks",
    "broadcast",
    "erasure",
    "scale",
)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("name", choices=[*BENCHMARKS, "all"])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a short smoke run (writes <name>.quick.json; its figures are not to quote)",
    )
    parser.add_argument(
        "--no-gate",
        action="store_true",
        help="exit 0 whether the targets were met or not (make bench-smoke)",
    )
    options = parser.parse_args()
    names = BENCHMARKS if options.name == "all" else (options.name,)
    all_met = True
    inconsistent: list[str] = []
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        result = asyncio.run(module.run(quick=options.quick))
        all_met = all_met and result.met
        written = json.loads(result.path.read_text()) if result.path.exists() else {}
        if written.get("started_at") != result.started_at:
            found = [f"{result.path} was not written by this run"]
        else:
            found = problems(written)
        inconsistent += [f"{name}: {problem}" for problem in found]
    if inconsistent:
        print("\ninconsistent results:", *inconsistent, sep="\n  ", file=sys.stderr)
        return 2
    return 0 if all_met or options.no_gate else 1


if __name__ == "__main__":
    sys.exit(main())
