"""The original neural-style's published gallery, scored as nst-teach's pictures are: what "as much of the painting" is.

    git clone https://github.com/jcjohnson/neural-style /tmp/neural-style
    python benchmarks/published.py /tmp/neural-style

jcjohnson/neural-style's README shows its renditions of the paper's Fig. 2 (Tübingen in five styles) and of the
Golden Gate in six, made by the implementation neural-style-pt ports (its defaults: 512 px, 1,000 L-BFGS iterations,
content weight 5, style weight 100; the README does not print the command beside each picture). This scores each one
with ``structure`` / ``palette`` (:mod:`nst_teach.metrics`) against the inputs in its ``examples/inputs``;
*Composition VII* is not there (its master has no ``composition_vii.jpg``), so that painting comes from the course's
catalogue (``$NST_TEACH_IMAGES`` or the cache). Prints a Markdown table and the range of each score.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

#: output file -> (photograph, painting), as the README pairs them.
GALLERY = {
    "tubingen_shipwreck.png": ("tubingen.jpg", "shipwreck.jpg"),
    "tubingen_starry.png": ("tubingen.jpg", "starry_night.jpg"),
    "tubingen_scream.png": ("tubingen.jpg", "the_scream.jpg"),
    "tubingen_seated_nude.png": ("tubingen.jpg", "seated-nude.jpg"),
    "tubingen_composition_vii.png": ("tubingen.jpg", "composition_vii"),  # a catalogue name: not in its inputs
    "golden_gate_kahlo.png": ("golden_gate.jpg", "frida_kahlo.jpg"),
    "golden_gate_escher.png": ("golden_gate.jpg", "escher_sphere.jpg"),
    "golden_gate_matisse.png": ("golden_gate.jpg", "woman-with-hat-matisse.jpg"),
    "golden_gate_scream.png": ("golden_gate.jpg", "the_scream.jpg"),
    "golden_gate_starry.png": ("golden_gate.jpg", "starry_night_crop.png"),
    "golden_gate_seated.png": ("golden_gate.jpg", "seated-nude.jpg"),
}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("checkout", type=Path, help="a clone of jcjohnson/neural-style")
    args = p.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from default_transfer import scores  # the sibling script's scoring, as the benchmark's pictures are scored

    from nst_teach.data import catalogue_path
    from nst_teach.errors import NstTeachError

    inputs, outputs = args.checkout / "examples" / "inputs", args.checkout / "examples" / "outputs"
    if not outputs.is_dir():
        sys.exit(f"published.py: {outputs} is not there: give a clone of jcjohnson/neural-style")
    rows = []
    for name, (photo, painting) in GALLERY.items():
        try:
            style = catalogue_path(painting) if "." not in painting else inputs / painting
            score = scores(inputs / photo, style, outputs / name)
        except NstTeachError as err:
            sys.exit(f"published.py: {err}")
        rows.append((name, score["structure"], score["palette"]))
    print("| published picture | structure | palette |\n|---|---|---|")
    for name, s, c in rows:
        print(f"| {name} | {s:.2f} | {c:.2f} |")
    for label, column in (("structure", 1), ("palette", 2)):
        values = sorted(row[column] for row in rows)
        print(f"\n{label}: {values[0]:.2f} to {values[-1]:.2f} (median {values[len(values) // 2]:.2f})", end="")
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
