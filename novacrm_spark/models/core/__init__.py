"""The core layer: conformed dimensions and facts, as known on the as-of date; one module per table."""
