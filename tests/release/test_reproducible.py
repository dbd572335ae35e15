"""Lock a small stack, build it twice from nothing in separate podman stores: every digest equal
(tests/data/lock); the SBOM of the result matches dpkg-query and pip inside the image
(on the small stack); provenance labels name the lock and the git revision; `push --locked` publishes
each image's SBOM beside the release manifest, and it describes the image the registry serves."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

import tests.registry.conftest as registry_fixtures
from hepstack.catalog import Catalog
from hepstack.release.lockfile import lock_hash, read_lock
from hepstack.release.sbom import validate
from tests.conftest import hepstack, tool_works
from tests.release.helpers import copy_stack, empty_store, storage_conf

pytestmark = [pytest.mark.podman, pytest.mark.mmdebstrap, pytest.mark.slow]
LAYERS = ("base", "tools", "app")
# The session's docker-registry with htpasswd auth, as the registry tests run it.
registry = registry_fixtures.registry
credentials = registry_fixtures.credentials


def podman(store: Path, *argv: str) -> str:
    environment = {**os.environ, "CONTAINERS_STORAGE_CONF": str(store)}
    return subprocess.run(
        ["podman", *argv], env=environment, capture_output=True, text=True, check=True
    ).stdout


def git(directory: Path, *argv: str) -> str:
    identity = ["-c", "user.name=Release Manager", "-c", "user.email=rm@example.org"]
    return subprocess.run(
        ["git", "-C", str(directory), *identity, *argv], capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The stack in a git checkout, locked with store a, built --locked in fresh stores b and c."""
    if not tool_works("podman", "info"):
        pytest.skip("podman does not work here (run scripts/setup-host.sh)")
    root = tmp_path_factory.mktemp("reproducible")
    spec = copy_stack(root / "stack")
    git(spec.parent, "init", "-q")
    git(spec.parent, "add", "-A")
    git(spec.parent, "commit", "-q", "-m", "release 0.1")
    stores = {}
    for name in "abc":
        (root / name).mkdir()
        stores[name] = storage_conf(root / name)
    hepstack("lock", str(spec), env={"CONTAINERS_STORAGE_CONF": str(stores["a"])})
    git(spec.parent, "add", "stack.lock")
    git(spec.parent, "commit", "-q", "-m", "lock release 0.1")
    for name in "bc":
        hepstack("build", "--locked", str(spec), env={"CONTAINERS_STORAGE_CONF": str(stores[name])})
    yield {"spec": spec, "stores": stores, "revision": git(spec.parent, "rev-parse", "HEAD")}
    for store in stores.values():
        empty_store(store)


def inspected(store: Path, layer: str, repository: str = "") -> dict[str, object]:
    text = podman(store, "image", "inspect", f"{repository or f'localhost/locktest/{layer}'}:0.1")
    info: dict[str, object] = json.loads(text)[0]
    return info


def test_every_layer_digest_equal(release: dict[str, object]) -> None:
    stores = release["stores"]
    assert isinstance(stores, dict)
    for layer in LAYERS:
        first, second = inspected(stores["b"], layer), inspected(stores["c"], layer)
        assert first["RootFS"] == second["RootFS"], f"layer digests of {layer} differ"
        assert first["Id"] == second["Id"], f"image (config) digest of {layer} differs"


def test_locked_versions_are_what_the_image_holds(release: dict[str, object]) -> None:
    spec, stores = release["spec"], release["stores"]
    assert isinstance(spec, Path) and isinstance(stores, dict)
    lock = read_lock(spec.parent / "stack.lock")
    assert lock.layers["tools"].apt == {"python3-six": lock.layers["tools"].apt["python3-six"]}
    assert [(pin.name, pin.version) for pin in lock.layers["app"].pip] == [("packaging", "24.0")]
    assert len(lock.layers["base"].apt) > 50 and "python3-pip" in lock.layers["base"].apt
    listed = podman(
        stores["c"],
        "run",
        "--rm",
        "localhost/locktest/app:0.1",
        "dpkg-query",
        "-W",
        "-f",
        "${binary:Package}=${Version}\n",
    )
    held = dict(line.split("=", 1) for line in listed.split())
    for entry in lock.layers.values():
        for package, version in entry.apt.items():
            assert held[package] == version


def test_provenance_labels(release: dict[str, object]) -> None:
    spec, stores = release["spec"], release["stores"]
    assert isinstance(spec, Path) and isinstance(stores, dict)
    labels = inspected(stores["b"], "app")["Labels"]
    assert isinstance(labels, dict)
    assert labels["io.hepstack.lock"] == lock_hash(spec.parent / "stack.lock")
    assert labels["org.opencontainers.image.revision"] == release["revision"]  # committed: no -dirty
    epoch = read_lock(spec.parent / "stack.lock").source_date_epoch
    created = datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert labels["org.opencontainers.image.created"] == created  # the lock's date, not the build's


def test_sbom_matches_dpkg_and_pip_inside_the_image(release: dict[str, object], tmp_path: Path) -> None:
    spec, stores = release["spec"], release["stores"]
    assert isinstance(spec, Path) and isinstance(stores, dict)
    output = tmp_path / "app.spdx.json"
    environment = {"CONTAINERS_STORAGE_CONF": str(stores["c"])}
    hepstack("sbom", str(spec), "app", "--output", str(output), env=environment)
    document = json.loads(output.read_text())
    assert document["spdxVersion"] == "SPDX-2.3"
    image = "localhost/locktest/app:0.1"
    assert document["packages"][0]["checksums"][0]["checksumValue"] == inspected(stores["c"], "app")["Id"]
    debs = {
        p["name"]: p["versionInfo"] for p in document["packages"] if p["SPDXID"].startswith("SPDXRef-deb-")
    }
    dpkg = podman(stores["c"], "run", "--rm", image, "dpkg-query", "-W", "-f", "${Package}=${Version}\n")
    assert debs == dict(line.split("=", 1) for line in dpkg.split())
    pypi = {
        p["name"].lower(): p["versionInfo"]
        for p in document["packages"]
        if p["SPDXID"].startswith("SPDXRef-pypi-")
    }
    listed = json.loads(
        podman(stores["c"], "run", "--rm", image, "python3", "-m", "pip", "list", "-v", "--format=json")
    )
    from_pip = {d["name"].lower(): d["version"] for d in listed if d["location"].startswith("/usr/local/")}
    assert pypi == from_pip and pypi["packaging"] == "24.0"
    files = {f["fileName"]: f["checksums"] for f in document["files"]}
    app_sha256 = hashlib.sha256((spec.parent / "files" / "app.py").read_bytes()).hexdigest()
    assert {"algorithm": "SHA256", "checksumValue": app_sha256} in files["/opt/app/app.py"]
    validate(document)  # against the vendored SPDX 2.3 JSON Schema


def test_push_publishes_the_sboms_with_the_manifest(
    release: dict[str, object],
    registry: registry_fixtures.RegistryServer,
    credentials: dict[str, str],
    tmp_path: Path,
) -> None:
    """The locked build recorded each image's SBOM; `push --locked --manifest` writes them beside the
    manifest, named with their sha256, and the SBOM's image digest is that of the image pulled back."""
    spec, stores = release["spec"], release["stores"]
    assert isinstance(spec, Path) and isinstance(stores, dict)
    manifest = tmp_path / "published" / "locktest-0.1.json"
    pushed = hepstack(
        "push",
        "--locked",
        str(spec),
        "--registry",
        f"{registry.host}/hep",
        "--no-tls-verify",
        "--manifest",
        str(manifest),
        env={**credentials, "CONTAINERS_STORAGE_CONF": str(stores["c"])},
    )
    assert "(3 SBOMs beside it)" in pushed.stdout, pushed.stdout
    content = json.loads(manifest.read_text())
    assert [image["layer"] for image in content["images"]] == list(LAYERS)
    lock = read_lock(spec.parent / "stack.lock")
    for image in content["images"]:
        sbom = image["sbom"]
        data = (manifest.parent / sbom["file"]).read_bytes()
        assert sbom["file"] == f"locktest-0.1.{image['layer']}.spdx.json" and sbom["format"] == "SPDX-2.3"
        assert sbom["sha256"] == hashlib.sha256(data).hexdigest()
        document = json.loads(data)
        validate(document)
        described = document["packages"][0]["checksums"][0]["checksumValue"]
        assert described == image["image_id"].removeprefix("sha256:")
        debs = {
            p["name"]: p["versionInfo"]
            for p in document["packages"]
            if p["SPDXID"].startswith("SPDXRef-deb-")
        }
        for package, version in lock.layers["base"].apt.items():  # binary:Package, e.g. gcc-12-base:amd64
            assert debs[package.split(":")[0]] == version
    # A site: another store and catalog; the release pulled by digest brings its SBOMs into the catalog.
    elsewhere = tmp_path / "site"
    elsewhere.mkdir()
    site = {
        "CONTAINERS_STORAGE_CONF": str(storage_conf(elsewhere)),
        "HEPSTACK_DATA_DIR": str(elsewhere / "data"),
    }
    try:
        pulled = hepstack("pull", "--manifest", str(manifest), "--no-tls-verify", env={**credentials, **site})
        assert "3 SBOMs (SPDX 2.3) from beside the manifest kept in the catalog" in pulled.stdout, (
            pulled.stdout
        )
        catalog = Catalog(elsewhere / "data" / "catalog.sqlite")
        for image in content["images"]:
            local = inspected(Path(site["CONTAINERS_STORAGE_CONF"]), image["layer"], image["repository"])
            assert local["Id"] == image["image_id"].removeprefix("sha256:")  # the image the SBOM describes
            assert catalog.sbom(image["image_id"]) == (manifest.parent / image["sbom"]["file"]).read_text()
    finally:
        empty_store(Path(site["CONTAINERS_STORAGE_CONF"]))


def test_diff_between_two_commits(release: dict[str, object]) -> None:
    """The next release changes one pip pin and one release file; the diff of the locks shows those."""
    spec, stores = release["spec"], release["stores"]
    assert isinstance(spec, Path) and isinstance(stores, dict)
    first = spec.parent.parent / "first.lock"
    first.write_bytes((spec.parent / "stack.lock").read_bytes())
    (spec.parent / "files" / "requirements.txt").write_text("packaging==24.1\n")
    with (spec.parent / "files" / "app.py").open("a") as app:
        app.write("print('release 0.2')\n")
    git(spec.parent, "commit", "-q", "-a", "-m", "release 0.2: packaging 24.1, a line more")
    hepstack("lock", str(spec), env={"CONTAINERS_STORAGE_CONF": str(stores["a"])})
    result = hepstack("diff", str(first), str(spec.parent / "stack.lock"))
    rows = [line for line in result.stdout.splitlines() if " changed " in line or " added " in line]
    assert len(rows) == 2, result.stdout
    assert "packaging" in rows[0] and "24.0" in rows[0] and "24.1" in rows[0]
    assert "files/app.py" in rows[1]
    assert "0 added, 0 removed, 2 changed" in result.stdout
