"""Monte Carlo simulation (the only part of the package that uses lat/data/).

An image for the processing steps can leave out both ``lat/sim`` and ``lat/data``.
"""
