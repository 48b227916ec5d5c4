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


#: Why a surviving mutant is harmless: (a regular expression that its module and change match, the reason). Each was
#: read against the code; the first that matches is the survivor's reason. A survivor that none matches is printed
#: under "not explained", for a test to be written.
REASONS: list[tuple[str, str]] = [
    (r"checks\.x_(_run|check_compute_targets|check_transfer_step)__.*(, 3\)|, 1\)|len\(calls\)\))  ->  .*, (None|2|4)\)$",
     "the number of cases on a FAIL or TODO line: only the PASS line prints it"),
    (r"allclose\(.*(atol=1e-8\)|rtol=1e-5, \))", "torch.allclose's defaults are rtol=1e-5, atol=1e-8: the same test"),
    (r"check_transfer_step__.*(beta=1.0\)  ->|manual_seed\(4\)|Adam\(\[x\], (\)|lr=1.05)|loss = (None|torch.tensor\(1.0\))$|range\(4\))",
     "the reference and the student's step run under one procedure (start, optimiser, steps): changed for both, the same comparison"),
    (r"\[\+2:?\]|shape\[-3:\]|mean\(\(\+2, -1\)", "shape[+2:] is shape[2:] (and shape[+2] shape[2]), which is "
     "shape[-2:] (shape[-2]) on the 4-D tensors used; [-3:] never equals a size, so the mask is resampled to its own "
     "size, which area averaging leaves unchanged"),
    (r"exact\(x\)\.new_zeros\(\(\)\)\)  ->  \)$|for term in self\.terms\), \)$", "sum's start 0 for a zero tensor: a term "
     "has at least one layer (layer_weights refuses none) and an objective at least one term, so 0 plus the first "
     "tensor is that tensor"),
    (r"Styleǁof__.*else \[2\.0\] \* len", "blend_weights divides the weights by their sum: [2, 2, ...] is [1, 1, ...]"),
    (r"\.to\(None\)|device=None|device = None|\*T0\.shape\[-2:\], \)",
     "the device: the CPU is the only one in the tests (a float32 mask needs no cast to float32 features either)"),
    (r"einsum\(\"IJ", "einsum's subscripts are names: upper case is the same contraction"),
    (r"zeros\(2, 3, \*T0", "a probe of two images has the same feature map sizes as one of one"),
    (r"self\.(content|style)_layers\), \)$", "sum's start 0 for a zero tensor: 0 plus the first layer's loss is that loss (every "
     "Loss the tests build has a content and a style layer)"),
    (r"color\.x__linear_transfer__.*(zeros\(3, 1, dtype=None\)|zeros\(1, dtype|zeros\(3, 1, \)|eye\(3, dtype=None\)|eye\(3, \))",
     "the mixture's accumulators: float32 or a broadcast shape, promoted to float64 (3, 1) by the first float64 term"),
    (r"expand\(\+1, 3", "expand(1, 3, ...) is expand(-1, 3, ...) for the one painting a luminance target is made from"),
    (r"resize\(SCORE_SIZE, (None|)\)|convert\(None\)|asarray\(grey, (dtype=None|)\)|dtype=None\)\.reshape|, \)\.reshape"
     r"|reshape\(-2, 3\)|\* 255$|/ 256$",
     "Pillow's default resampling of an RGB or L image is BICUBIC, convert(None) copies, uint8 pixels divide to float64, "
     "reshape's -2 is its -1; and a palette score is a ratio of distances, unchanged when every pixel is scaled alike"),
    (r"to_painting - 1e-12", "1e-12 against distances of order 0.1: below float64's resolution of the ratio"),
    (r"f_x\.view\(-1\)\)", "(H, 1) against (W,) broadcasts to (H, W) as against (1, W)"),
    (r"default=(None|11)\)", "the table's width when no exercise has run: the table is then empty"),
    (r"if B >= 1:", "the batch hint's ratio is 1/B = 1 for one image: an answer equal to the expected one passes before any hint"),
    (r"for b in \(4, 4, 5\)", "block 3's layers have 256 channels, never relu4_2's shape, so they are never taken for it"),
    (r"lambda e, a: None\)", "None and \"\" are both no hint: the generic sentence follows either way"),
    (r"max\(2, round", "a coarse level of 1 px: every image is at least 16 px (relu5_1 needs it), so a level of 1/4 is at least 4 px"),
    (r"from_images__.*weight: float = 2.0", "the base class's from_images raises whatever the weight"),
    (r"register_buffer\(\"(mean|std)\", .*view\(3, 1, 1\)", "(3, 1, 1) broadcasts over a batch as (1, 3, 1, 1) does"),
    (r"synthesize__.*(max_eval=None|max_iter=steps, history_size|history_size=101|max_eval=steps, tolerance_grad)",
     "no line search: one evaluation per iteration, so max_iter bounds the evaluations as max_eval does; a memory of "
     "100 or 101 pairs (or PyTorch's default of 100) differs only after 100 steps"),
    (r"getattr\(content_masks\[0\], \"shape\", ", "the fallback size of a content mask that is no tensor: the mask check refuses "
     "it next, whatever size it expected"),
]


def reason(name: str, change: str) -> str | None:
    import re

    return next((why for pattern, why in REASONS if re.search(pattern, f"{name} {change}")), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--survivors", action="store_true", help="also list every mutant not killed")
    args = parser.parse_args()
    by_module = results()
    print(table(by_module))
    if args.survivors:
        grouped: dict[str, list[str]] = {}
        for name, status, change in survivors(by_module):
            why = reason(name, change) or "not explained"
            grouped.setdefault(why, []).append(f"`{name.split('.', 1)[1]}` ({status}): `{change}`")
        for why, names in sorted(grouped.items(), key=lambda item: item[0] == "not explained"):
            print(f"\n**{why}** ({len(names)})\n")
            print("\n".join(f"- {line}" for line in names))


if __name__ == "__main__":
    main()
