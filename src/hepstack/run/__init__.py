"""`hepstack run`: the run itself and the remembered run plan its fast path execs from.

- ``launch``: resolve the image, build the run request, prepare the runtime, exec its argv.
- ``plan``: the cached run plan, read with nothing heavier than os and fcntl (start latency).

The rest of what `run` uses is shared, so it lives where its other users find it, and a folder of its own
would import it back (an import cycle, ``tests/health/test_import_cycles.py``): ``hepstack.entry`` is the
console script of every command (``run`` on a fast path, the rest to ``hepstack.cli``); ``hepstack.cache_use``
is the node cache's use protocol (``hepstack.registry.cache`` converts, evicts by it); ``hepstack.identity``
(who runs) and ``hepstack.dirs`` (where state lives) serve the runtimes, batch jobs and the context too.
The image to run is resolved by ``hepstack.catalog.resolve``.

Nothing here may import typer, click, pydantic or yaml at module level: ``tests/runtimes/test_fast_entry.py``.
"""
