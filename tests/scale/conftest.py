"""Fixtures for scaling tests: the real-engine ones (test user, release image in its rootless store)
come from tests/integration/conftest.py, imported here rather than duplicated."""

from __future__ import annotations

from tests.integration.conftest import (  # noqa: F401 - fixtures, used by name
    image_archive,
    release_ref,
    rootless_image,
    shared_tmp,
    test_user,
    user_env,
)
