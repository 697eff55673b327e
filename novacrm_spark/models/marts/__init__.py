"""The marts layer: business-facing tables over core (and earlier marts); one module per table."""
