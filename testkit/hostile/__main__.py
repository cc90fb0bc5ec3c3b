"""The two processes of a measurement: ``--build NAME PATH`` writes an input, ``--child PATH`` decides it."""

from __future__ import annotations

import argparse

from testkit.hostile.measure import build, child

parser = argparse.ArgumentParser(prog="python -m testkit.hostile", description=__doc__)
group = parser.add_mutually_exclusive_group(required=True)
group.add_argument("--child", metavar="PATH")
group.add_argument("--build", nargs=2, metavar=("NAME", "PATH"))
args = parser.parse_args()
if args.child:
    child(args.child)
else:
    build(*args.build)
