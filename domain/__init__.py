"""The ground floor: value types every package shares, and the pure rules that judge them.

``decision`` (reasons, claims, decisions), ``state`` (what the ledger knows: units,
certificates, quotas), ``forms`` (what the reader read from a page), ``envelope`` (a
decoded mail) and ``rules`` (a form + claim + ledger state → reasons). Imports nothing
of ours but the wording catalogue ``templates``: every other package may depend on it.
"""
