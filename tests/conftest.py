"""Shared fixtures. Each fixture module below owns one real service or data set; the builders
they wrap live in ``testkit/`` (shared with ``bench/`` and ``scripts/demo.py``).

``tests/fixtures/review.py`` is not listed: its ``world`` fixture shares the mail world's
name, so the two test modules that use it import it.
"""

pytest_plugins = [
    "tests.fixtures.mailstack",
    "tests.fixtures.database",
    "tests.fixtures.world",
    "tests.fixtures.ledger",
]
