"""Production processing on the orchestrator's host: deliveries, crumb plans, planners, step commands.

Standard library only (like ``lat.l1``): this code runs where the pipeline orchestrator runs, not
in the step images.  ``lat-l1 plan ...`` writes the pipeline summaries, ``lat-l1 steps`` prints the
step command lines, ``lat-l1 delivery ...`` runs a delivery natively with exactly those commands.
"""
