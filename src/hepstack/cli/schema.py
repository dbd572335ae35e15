"""`hepstack schema`: the JSON Schema of the stack spec."""

from __future__ import annotations

import json

from hepstack.cli import app


@app.command()
def schema() -> None:
    """Print the JSON Schema of a stack spec (stack.yaml)."""
    from hepstack.spec import json_schema

    print(json.dumps(json_schema(), indent=2))
