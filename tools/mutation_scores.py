"""The mutation scores of ``make mutants``, module by module, and every mutant that survived with its one-line change.

Reads mutmut's results under ``mutants/`` (run it from the repository root after ``mutmut run``)::

    python tools/mutation_scores.py            # the table (tests/README.md, "Mutation testing")
    python tools/mutation_scores.py --survivors  # and each survivor: its name and the line it changed

A mutant counts as killed when a test failed or timed out on it; "survived" (every covering test passed) and "no
tests" (no test reached the mutated function) count against the score.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

KILLED = {1: "killed", 3: "killed", -24: "timeout", 36: "timeout"}  # mutmut's exit codes (mutmut.stats)
NOT_KILLED = {0: "survived", 5: "no tests", 33: "no tests"}


def results(root: Path = Path("mutants")) -> dict[str, dict[str, int | None]]:
    """Module path -> {mutant name: mutmut's exit code, None while not yet run}."""
    return {str(meta.relative_to(root)).removesuffix(".meta"): json.loads(meta.read_text())["exit_code_by_key"]
            for meta in sorted(root.glob("**/*.py.meta"))}


def table(by_module: dict[str, dict[str, int | None]]) -> str:
    rows = ["| module | mutants | killed | survived | no tests | not run | score |", "|---|---:|---:|---:|---:|---:|---:|"]
    for module, codes in by_module.items():
        count = Counter("killed" if c in KILLED else NOT_KILLED.get(c, "not run") if c is not None else "not run"
                        for c in codes.values())
        checked = len(codes) - count["not run"]
        score = f"{count['killed'] / checked:.1%}" if checked else "-"
        rows.append(f"| `{module}` | {len(codes)} | {count['killed']} | {count['survived']} | {count['no tests']} | "
                    f"{count['not run']} | {score} |")
    return "\n".join(rows)


def survivors(by_module: dict[str, dict[str, int | None]]) -> list[tuple[str, str, str]]:
    """(name, status, the changed line before -> after) of every mutant not killed."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    out = []
    for module, codes in by_module.items():
        for name, code in codes.items():
            if code in NOT_KILLED:
                diff = get_diff_for_mutant(name, path=Path(module)).splitlines()
                removed = [line[1:].strip() for line in diff if line.startswith("-") and not line.startswith("---")]
                added = [line[1:].strip() for line in diff if line.startswith("+") and not line.startswith("+++")]
                out.append((name, NOT_KILLED[code], f"{' / '.join(removed)}  ->  {' / '.join(added)}"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--survivors", action="store_true", help="also list every mutant not killed")
    args = parser.parse_args()
    by_module = results()
    print(table(by_module))
    if args.survivors:
        for name, status, change in survivors(by_module):
            print(f"{name} ({status}): {change}")


if __name__ == "__main__":
    main()
