"""Hostile and broken input (``inputs``) and what each costs the real decision path (``measure``).

``bench/hostile.py`` runs every input and prints the table; ``tests/test_hostile_memory.py``
holds a few of them to their bounds.
"""

from testkit.hostile.inputs import INPUTS, Input, png
from testkit.hostile.measure import CHILD_TIMEOUT, Row, run_one

__all__ = ["CHILD_TIMEOUT", "INPUTS", "Input", "Row", "png", "run_one"]
