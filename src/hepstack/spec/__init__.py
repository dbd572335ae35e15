"""Stack specs: models, YAML with line numbers, whole-spec validation, the layer graph.

``load_document`` is the one "YAML -> validated model -> located errors" path, also for site, study and
pipeline files (docs/input-limits.md).
"""

from hepstack.spec.models import Layer, StackSpec, json_schema
from hepstack.spec.reading import Limits
from hepstack.spec.stack import Stack, load_stack, local_pip_path
from hepstack.spec.validation import load_document

__all__ = [
    "Layer",
    "Limits",
    "Stack",
    "StackSpec",
    "json_schema",
    "load_document",
    "load_stack",
    "local_pip_path",
]
