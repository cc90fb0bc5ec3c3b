"""Image clean-up, seals, table grids, OCR engines."""
