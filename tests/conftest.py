"""Shared fixtures. Each fixture module below owns one real service or data set."""

pytest_plugins = [
    "tests.fixtures.mailstack",
    "tests.fixtures.database",
    "tests.fixtures.world",
]
