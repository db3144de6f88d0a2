"""The full grader audit over every available topic, as a Markdown table, with its wall time.

Run: python benchmarks/audit_table.py [--sample N]   (the same as `nnfs audit --all`)
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from nnfs_cli.audit import audit
from nnfs_cli.catalog import load_catalog


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None, help="also write the full reports here")
    args = parser.parse_args()
    started = time.perf_counter()
    reports = [audit(t, sample=args.sample) for t in load_catalog().topics if t.available]
    print("| topic | mutants | killed | survived | timed out | equivalent | kill rate | seconds |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in reports:
        print(
            f"| {r.topic} | {r.mutants} | {r.killed} | {len(r.survived)} | {r.timed_out} | {len(r.equivalent)} | {r.kill_rate:.1%} | {r.seconds:.0f} |"
        )
    print(f"\nfull audit wall time: {time.perf_counter() - started:.0f} s")
    for r in reports:
        for m in r.survived:
            print(f"\n{r.topic}: survived {m.id}\n{m.diff}")
    if args.json:
        args.json.write_text(json.dumps([r.to_json() for r in reports], indent=1))


if __name__ == "__main__":
    main()
