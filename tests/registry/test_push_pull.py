"""Push to a real registry with htpasswd auth, pull on a clean store, digests equal; the release manifest;
re-push uploads nothing; a wrong password is a clear error without the secret; a registry outage mid-push.

Pushed: the `release` layer with its ancestors (base ... release, 5 of the example's 11 layers), a
representative subset that shows blob sharing between layer repositories within the time budget."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_STACK
from tests.registry.conftest import CLI, PASSWORD, RegistryServer, cli, podman_in

pytestmark = [pytest.mark.registry, pytest.mark.podman, pytest.mark.slow]


@pytest.fixture(scope="module")
def pushed(
    example_images: dict[str, str],
    registry: RegistryServer,
    credentials: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, object]:
    manifest = tmp_path_factory.mktemp("manifest") / "lat-1.0.json"
    before = registry.blob_uploads()
    result = cli(
        "push",
        str(EXAMPLE_STACK),
        "release",
        "--registry",
        f"{registry.host}/hep",
        "--no-tls-verify",
        "--manifest",
        str(manifest),
        env=credentials,
    )
    return {
        "output": result.stdout + result.stderr,
        "manifest": manifest,
        "uploads": registry.blob_uploads() - before,
    }


def test_push_records_digests_and_release(pushed: dict[str, object]) -> None:
    content = json.loads(Path(str(pushed["manifest"])).read_text())
    from hepstack.spec import load_stack

    assert [image["layer"] for image in content["images"]] == load_stack(EXAMPLE_STACK).chain("release")
    assert all(image["digest"].startswith("sha256:") for image in content["images"])
    assert PASSWORD not in str(pushed["output"])
    assert int(str(pushed["uploads"])) > 0
    # Lower layers' blobs are mounted from the parent's repository, not uploaded again.
    summary = re.search(r"(\d+) blobs uploaded, (\d+) already there", str(pushed["output"]))
    assert summary is not None and int(summary[1]) == int(str(pushed["uploads"])) and int(summary[2]) > 0
    listing = cli("images", "--stack", "lat", "--release", "1.0").stdout
    for image in content["images"]:
        assert image["digest"] in listing and image["repository"] in listing
    assert PASSWORD not in Path(os.environ["HEPSTACK_DATA_DIR"], "catalog.sqlite").read_bytes().decode(
        errors="replace"
    )


def test_pushing_again_uploads_nothing(
    pushed: dict[str, object], registry: RegistryServer, credentials: dict[str, str]
) -> None:
    before = registry.blob_uploads()
    again = cli(
        "push",
        str(EXAMPLE_STACK),
        "release",
        "--registry",
        f"{registry.host}/hep",
        "--no-tls-verify",
        env=credentials,
    )
    assert "0 blobs uploaded" in again.stdout, again.stdout
    assert registry.blob_uploads() == before


def test_release_manifest_pulls_everything_into_a_clean_store(
    pushed: dict[str, object],
    registry: RegistryServer,
    credentials: dict[str, str],
    clean_store: dict[str, str],
) -> None:
    content = json.loads(Path(str(pushed["manifest"])).read_text())
    result = cli(
        "pull", "--manifest", str(pushed["manifest"]), "--no-tls-verify", env={**credentials, **clean_store}
    )
    digests = podman_in(
        clean_store, "images", "--digests", "--format", "{{.Repository}}:{{.Tag}} {{.Digest}}"
    )
    for image in content["images"]:
        assert f"{image['repository']}:1.0 {image['digest']}" in digests, digests
        assert image["digest"] in result.stdout


def test_wrong_password_is_a_clear_error_without_the_secret(
    example_images: dict[str, str], registry: RegistryServer
) -> None:
    wrong = "wrong-Pa55-do-not-print"
    result = cli(
        "push",
        str(EXAMPLE_STACK),
        "base",
        "--registry",
        f"{registry.host}/hep",
        "--no-tls-verify",
        env={"HEPSTACK_REGISTRY_USER": "release-manager", "HEPSTACK_REGISTRY_PASSWORD": wrong},
        check=False,
    )
    assert result.returncode == 2
    assert "refused the credentials" in result.stderr
    assert wrong not in result.stdout + result.stderr and PASSWORD not in result.stdout + result.stderr


def test_registry_outage_mid_push_is_retried_and_completes(
    example_images: dict[str, str], registry: RegistryServer, credentials: dict[str, str]
) -> None:
    before = registry.blob_uploads_started()
    environment = {
        **os.environ,
        **credentials,
        "HEPSTACK_REGISTRY_BACKOFF": "1",
        "HEPSTACK_REGISTRY_RETRIES": "6",
    }
    push = subprocess.Popen(
        [
            *CLI,
            "push",
            str(EXAMPLE_STACK),
            "legacy-base",
            "--registry",
            f"{registry.host}/outage",
            "--no-tls-verify",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )
    deadline = time.monotonic() + 60
    while registry.blob_uploads_started() == before and time.monotonic() < deadline and push.poll() is None:
        time.sleep(0.05)
    registry.stop()  # mid-push: an upload has started
    time.sleep(2)
    registry.start()
    stdout, stderr = push.communicate(timeout=240)
    assert push.returncode == 0, stdout + stderr
    assert "retrying" in stderr, stderr
    digest = subprocess.run(
        [
            "skopeo",
            "inspect",
            "--tls-verify=false",
            "--creds",
            f"release-manager:{PASSWORD}",
            "--format",
            "{{.Digest}}",
            f"docker://{registry.host}/outage/lat/legacy-base:1.0",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert digest in stdout


def test_pull_one_reference_into_a_clean_store(
    pushed: dict[str, object],
    registry: RegistryServer,
    credentials: dict[str, str],
    clean_store: dict[str, str],
) -> None:
    base = json.loads(Path(str(pushed["manifest"])).read_text())["images"][0]
    reference = f"{base['repository']}:1.0"
    result = cli("pull", reference, "--no-tls-verify", env={**credentials, **clean_store})
    assert base["digest"] in result.stdout
    pulled = podman_in(clean_store, "image", "inspect", "--format", "{{.Digest}}", reference).strip()
    assert pulled == base["digest"]
