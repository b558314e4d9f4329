"""Summarise a fuzz tally (`make fuzz-long` writes one): cases, exit codes, the slowest cases.

    python tests/fuzz/tally.py fuzz-tally.jsonl
"""

from __future__ import annotations

import collections
import json
import sys


def main(path: str) -> None:
    rows = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
    codes = collections.Counter(row["code"] for row in rows)
    kinds = collections.Counter(row["kind"] for row in rows)
    print(f"{len(rows):,} cases; exit codes: " + ", ".join(f"{code}: {count:,}" for code, count in sorted(codes.items())))
    print("by mutation: " + ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items())))
    for row in sorted(rows, key=lambda row: -row["seconds"])[:5]:
        print(f"slowest: {row['seconds']:.2f} s  {row['spec']} {row['kind']} (exit {row['code']})")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "fuzz-tally.jsonl")
