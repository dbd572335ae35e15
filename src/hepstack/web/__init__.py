"""The web dashboard (``hepstack serve``): pipelines live, streams, instances and their logs, images,
studies, the inventory and the runtime comparison; read-only unless started with ``--allow-actions``.

Needs the ``web`` extra (Flask, waitress): ``pip install 'hepstack[web]'``.
"""
