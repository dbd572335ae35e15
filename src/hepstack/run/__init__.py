"""`hepstack run`: the fast entry point, the remembered run plan, the run itself, and the cache entries it holds.

- ``entry``: ``hepstack``'s console script; parses ``run`` without typer (start latency), else hands over to the CLI.
- ``plan``: the cached run plan the fast path execs from without importing the rest.
- ``launch``: resolve the image, build the run request, prepare the runtime, exec its argv.
- ``cache_use``: which node-cache entry a run uses and how it marks it in use.

Who runs (``hepstack.identity``) and where state lives (``hepstack.dirs``) stay top-level: the runtimes, the
batch layer and the context need them too, and a package of its own would import them back (an import cycle).

Nothing here may import typer, click, pydantic or yaml at module level: ``tests/runtimes/test_fast_entry.py``.
"""
