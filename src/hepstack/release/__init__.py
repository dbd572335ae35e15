"""Reproducible, auditable releases: a lock file, reproducible builds, an SBOM per image, a release diff.

- :mod:`hepstack.release.lockfile`: ``stack.lock``, what each layer was made of, exactly.
- :mod:`hepstack.release.resolve`: make a lock from built images (dpkg, pip, parent digests, PyPI hashes).
- :mod:`hepstack.release.archive`: whether the Debian archive still serves every locked version.
- :mod:`hepstack.release.sbom`: SPDX 2.3 JSON per image, validated against the vendored schema.
- :mod:`hepstack.release.diff`: what changed between two locks, SBOMs or images.
"""
