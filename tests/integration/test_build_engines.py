"""Acceptance with the real engines (podman and docker): cached rebuilds call no build, a changed file
rebuilds its layer and descendants only, and no CA bundle or secret lands in any image layer."""

from __future__ import annotations

import io
import re
import tarfile
import uuid
from pathlib import Path

import pytest

from tests.conftest import hepstack, tool_works
from tests.integration.conftest import run

pytestmark = [pytest.mark.slow]

STACK = """\
stack: keytest-{engine}
release: "t1"
size_budget: {{layer: 5MB, image: 100MB}}
layers:
  framework:
    from: {base}
    pip: ["six==1.16.0"]
    copy: {{fw/: /opt/fw/}}
  release:
    from: framework
    copy: {{rel.txt: /opt/rel.txt}}
  sibling:
    from: {base}
    copy: {{sib.txt: /opt/sib.txt}}
"""
ENGINES = {"podman": "podman", "docker": "/usr/bin/docker"}


def _statuses(output: str) -> dict[str, str]:
    rows = re.findall(r"│ (\w+)\s+│ ([0-9a-f]{12}) │ (built|cached)", output)
    return {layer: status for layer, _key, status in rows}


@pytest.fixture(scope="module", params=["podman", "docker"])
def engine_stack(
    request: pytest.FixtureRequest, example_images: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, Path]:
    engine = request.param
    if engine == "docker":
        if not tool_works("/usr/bin/docker", "info"):
            pytest.skip("the docker engine is not running")
        archive = tmp_path_factory.mktemp("base") / "base.tar"
        run("podman", "save", "--output", str(archive), example_images["base"])
        run("/usr/bin/docker", "load", "--input", str(archive))
    directory = tmp_path_factory.mktemp(f"stack-{engine}")
    (directory / "fw").mkdir()
    nonce = uuid.uuid4().hex  # fresh content, so no earlier run's images make this one "cached"
    (directory / "fw" / "settings.txt").write_text(f"v1 {nonce}\n")
    (directory / "rel.txt").write_text(f"release {nonce}\n")
    (directory / "sib.txt").write_text(f"sibling {nonce}\n")
    spec = directory / "stack.yaml"
    spec.write_text(STACK.format(engine=engine, base=example_images["base"]))
    return engine, spec


def test_cached_rebuild_and_change_propagation(engine_stack: tuple[str, Path]) -> None:
    engine, spec = engine_stack
    first = hepstack("build", str(spec), "--engine", engine)
    built = {"framework": "built", "release": "built", "sibling": "built"}
    assert _statuses(first.stdout) == built, first.stdout

    logs = Path(__import__("os").environ["HEPSTACK_DATA_DIR"]) / "logs" / f"keytest-{engine}"
    logs_before = sorted(logs.iterdir())
    second = hepstack("build", str(spec), "--engine", engine)
    assert set(_statuses(second.stdout).values()) == {"cached"}, second.stdout
    assert sorted(logs.iterdir()) == logs_before  # no engine build ran: it would have written a log

    settings = spec.parent / "fw" / "settings.txt"
    settings.write_text(settings.read_text() + "v2\n")
    third = hepstack("build", str(spec), "--engine", engine)
    assert _statuses(third.stdout) == {"framework": "built", "release": "built", "sibling": "cached"}

    # The base is ~245 MB: every image is over the 100MB budget; only what a layer adds counts per layer.
    for layer in ("framework", "release", "sibling"):
        assert re.search(rf"warning: {layer}: image \d+\.\d MB is over the budget of 100MB", third.stdout)
    assert "layer adds" not in third.stdout  # six + a text file are far below 5MB

    images = hepstack("images", "--stack", f"keytest-{engine}").stdout
    assert images.count(f"keytest-{engine}/framework") == 2  # both builds recorded in the catalog


def _layer_files(engine: str, reference: str, scratch: Path) -> dict[str, bytes]:
    """Every regular file in every layer of the saved image (path -> bytes)."""
    archive = scratch / "image.tar"
    run(ENGINES[engine], "save", "--output", str(archive), reference)
    files: dict[str, bytes] = {}
    with tarfile.open(archive) as outer:
        for member in outer.getmembers():
            if not member.isfile():
                continue
            handle = outer.extractfile(member)
            assert handle is not None
            data = handle.read()
            if member.name.endswith(("layer.tar", ".tar")) or tarfile.is_tarfile(io.BytesIO(data)):
                try:
                    with tarfile.open(fileobj=io.BytesIO(data)) as layer:
                        for inner in layer.getmembers():
                            if inner.isfile():
                                extracted = layer.extractfile(inner)
                                assert extracted is not None
                                files[f"{member.name}!{inner.name}"] = extracted.read()
                except tarfile.ReadError:
                    files[member.name] = data
            else:
                files[member.name] = data
    archive.unlink()
    return files


def _host_only_certificates() -> list[bytes]:
    """Base64 bodies of CA certificates this host added (not Debian's stock set): what an image must
    never contain if the build mounted the host bundle correctly."""
    bodies = []
    for certificate in Path("/usr/local/share/ca-certificates").glob("**/*.crt"):
        text = certificate.read_text(errors="replace")
        body = "".join(text.split("-----BEGIN CERTIFICATE-----")[-1].split("-----END")[0].split())
        if body:
            bodies.append(body[:120].encode())
    return bodies


def test_no_ca_bundle_or_secret_in_any_layer(engine_stack: tuple[str, Path], tmp_path: Path) -> None:
    engine, spec = engine_stack
    hepstack("build", str(spec), "--engine", engine)
    from hepstack.catalog import Catalog
    from hepstack.context import Context

    record = Catalog(Context.from_environment().catalog_path).newest(f"keytest-{engine}", "framework", engine)
    assert record is not None
    host_bundle = Path("/etc/ssl/certs/ca-certificates.crt").read_bytes()
    host_only = _host_only_certificates()
    files = _layer_files(engine, record.reference, tmp_path)
    assert files, "the saved image has no files"
    for name, data in files.items():
        assert data != host_bundle, f"{name} is the host CA bundle"
        for body in host_only:
            assert body not in data, f"{name} contains a host-only CA certificate"
    binary = ENGINES[engine]
    history = run(binary, "history", "--no-trunc", "--format", "{{.CreatedBy}}", record.reference).stdout
    config = run(binary, "image", "inspect", "--format", "{{json .Config.Env}}", record.reference).stdout
    for text in (history, config):
        assert "BEGIN CERTIFICATE" not in text
        assert not re.search(r"(?i)(password|token|secret)=\S", text), text
        assert "PIP_CERT=" not in config and "REQUESTS_CA_BUNDLE" not in config
    # The pip step really did run (so the absence above means something): six is installed.
    assert any(name.endswith("six.py") for name in files)
