"""hepstack: build an experiment's software stack in layers, ship it to any farm, prove it matches native."""

from hepstack.errors import HepstackError

__version__ = "0.1.0"
__all__ = ["HepstackError", "__version__"]
