"""Write the bench's corpus: rendered 1+X forms by category, each with its truth.

    python -m bench.generate OUTDIR --per-category 5

The renderer itself is ``testkit.forms`` (the categories: ``testkit.forms.samples``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from testkit.forms.samples import CATEGORIES, write_corpus


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Render 1+X forms with ground truth.")
    parser.add_argument("out", type=Path)
    parser.add_argument("--per-category", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--category", action="append", choices=CATEGORIES)
    args = parser.parse_args(argv)
    paths = write_corpus(args.out, args.per_category, tuple(args.category or CATEGORIES), args.seed)
    print(f"wrote {len(paths)} samples to {args.out}")


if __name__ == "__main__":
    main()
