"""Calibration constants: the shipped YAML versions (the offline fallback) and the calibration database."""
