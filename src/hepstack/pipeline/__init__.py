"""Production pipelines on Fermi's Pipeline II model (docs/pipelines.md).

Modules, by what they do: ``model`` (the file's pydantic models), ``definition`` (load, check, compile),
``template`` (``${NAME}``), ``db`` (tables, connections), ``streams`` (definitions, streams, substreams),
``images`` (pinning), ``graph`` (the live part, in memory), ``advance`` (what can happen next), ``jobs``
(arrays, job directories, submission), ``scripts`` (script steps), ``poll`` (what became of the jobs),
``outcome`` (recording ends, retries), ``summary`` (a step's summary file), ``lease``, ``reconcile``
(after a crash), ``faults`` (kill -9 points for tests), ``orchestrator`` (the loop), ``rollback``,
``cancel``, ``address`` and ``report`` (read-only queries).
"""
