"""Documents → pages → form models."""
