"""The staging layer: one cleaned, typed row per accepted source record; the rest quarantined."""
