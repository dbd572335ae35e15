"""Fixtures for the servers' tests. The test user and the scratch space it can reach come from
tests/integration/conftest.py, imported rather than duplicated (as tests/batch/conftest.py does)."""

from __future__ import annotations

import os
import pwd
import uuid
from pathlib import Path

import pytest

from tests.integration.conftest import shared_tmp, test_user  # noqa: F401 - fixtures, used by name


@pytest.fixture
def user_dir(shared_tmp: Path, test_user: pwd.struct_passwd) -> Path:
    """An empty directory of this test, owned by the test user (a job's working directory)."""
    path = shared_tmp / uuid.uuid4().hex[:12]
    path.mkdir()
    os.chown(path, test_user.pw_uid, test_user.pw_gid)
    return path


from tests.integration.conftest import user_env  # noqa: E402, F401 - fixtures, used by name
from tests.services.calib_jobs import (  # noqa: E402, F401 - fixtures, used by name
    calibrations,
    digi_input,
    native_python,
    recon_ref,
    rootless_recon,
)
