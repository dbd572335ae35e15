"""Under sudo, containers run as the user sudo recorded; SUDO_UID/SUDO_GID that are not ids are an error."""

from __future__ import annotations

import os
import pwd

import pytest

from hepstack.errors import HepstackError
from hepstack.identity import invoking_user
from tests.conftest import hepstack

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="SUDO_UID/SUDO_GID are read only when root runs hepstack"
)

BAD = {
    "letters": ("SUDO_GID", "abc"),
    "empty": ("SUDO_GID", ""),
    "negative": ("SUDO_UID", "-1"),
    "a fraction": ("SUDO_UID", "1.5"),
    "spaces": ("SUDO_GID", " 100"),
    "non-ASCII digits": ("SUDO_UID", "\u0661\u0662"),
    "beyond 32 bits": ("SUDO_GID", str(2**32)),
    "(uid_t) -1": ("SUDO_UID", str(2**32 - 1)),
}


@pytest.mark.parametrize(("variable", "value"), BAD.values(), ids=BAD.keys())
def test_a_sudo_id_that_is_not_a_number_is_an_error(variable: str, value: str) -> None:
    with pytest.raises(HepstackError) as error:
        invoking_user({"SUDO_UID": "1001", "SUDO_GID": "1001", variable: value})
    assert error.value.message.startswith(f"{variable}={value!r} is not a ")
    assert error.value.hint is not None and variable in error.value.hint


def test_sudo_ids_name_the_invoking_user() -> None:
    user = pwd.getpwuid(os.geteuid())  # root, in a table that surely has it
    invoker = invoking_user({"SUDO_UID": "0", "SUDO_GID": "0"})
    assert (invoker.uid, invoker.gid, invoker.name) == (0, 0, user.pw_name)
    nobody = pwd.getpwnam("nobody")
    without_gid = invoking_user({"SUDO_UID": str(nobody.pw_uid)})
    assert (without_gid.uid, without_gid.gid, without_gid.name) == (nobody.pw_uid, nobody.pw_gid, "nobody")


def test_hepstack_run_explains_a_bad_sudo_gid() -> None:
    image = "localhost/demo/release:0123456789ab"
    result = hepstack("run", "--print", "--runtime", "native", image, "--", "true", check=False,
                      env={"SUDO_UID": "1001", "SUDO_GID": "abc"})  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.startswith("error: SUDO_GID='abc' is not a group id") and "hint: " in result.stderr
    assert "Traceback" not in result.stderr
