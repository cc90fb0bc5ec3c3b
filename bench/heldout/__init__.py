"""A second, independently written test set for the form reader (issue 15, item 4).

Written from the notice's template as a school fills it, sharing no code and no layout with
``bench/generate.py`` or the tests' helpers: its own layout (``layout``), its own seals
(``stamps``), its own scanner and phone defects (``defects``, on augraphy), its own
ground truth (``truth``) and scoring (``run``).

Every sample belongs to one of two halves, decided by a hash of its id (``samples.half_of``),
so the split never moves:

- **tuning** — may be looked at, debugged and tuned on;
- **held-out** — is NEVER used for tuning: do not open its pages to fix a miss, do not
  change the reader, its thresholds or this renderer because of what it reads there. Its
  numbers are the honest ones (the README states them); it is only run and reported.

Run: ``python -m bench.heldout --per-category 6`` (the last step of ``make bench``).
"""
