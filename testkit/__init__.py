"""What the tests, the benchmarks and the demo share: sample data and throw-away servers.

Not shipped (``pyproject.toml`` lists the packages that are). It may import any package of
ours; only ``tests/``, ``bench/`` and ``scripts/`` import it, and none of those imports
another: ``tests/fixtures/`` wraps these builders as pytest fixtures.

- ``forms``        the form renderer: specs, layout, raster and PDF backends, degradations,
                   the bench's sample categories (exact pixels: see its docstring)
- ``ocr_samples``  stamped scans with their cell truth, for the OCR tests and bench
- ``form_pages``   cover letters and empty 附件1 templates around the form
- ``eml_corpus``   raw mail as Chinese mail clients send it
- ``hostile``      bombs and broken mail, and a fresh process that measures each
- ``mailstack``    Dovecot, GNU imap4d and an aiosmtpd sink on loopback
- ``postgres``     a throw-away PostgreSQL cluster
- ``world``        the sample world: a school, its contact, submissions, a deadline burst
- ``ledger``       real reference rows in a ledger; the worker's records for the store
- ``rosters``      unit, catalogue and quota files (csv, xlsx) as offices write them
- ``review``       what the worker leaves for the review site, and a client for it
"""
