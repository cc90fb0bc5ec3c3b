"""The ledger: SQLAlchemy models, imports, reconciliation, exports."""
