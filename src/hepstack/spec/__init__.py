"""Stack specs: models, YAML with line numbers, whole-spec validation, the layer graph."""

from hepstack.spec.models import Layer, StackSpec, json_schema
from hepstack.spec.stack import Stack, load_stack, local_pip_path

__all__ = ["Layer", "Stack", "StackSpec", "json_schema", "load_stack", "local_pip_path"]
