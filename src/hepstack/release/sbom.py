"""An SPDX 2.3 JSON software bill of materials for one image, validated against the published schema.

SPDX rather than CycloneDX (docs/releases.md): SPDX is an ISO standard (ISO/IEC 5962:2021), Debian's and the
reproducible-builds community's tools read it, and its model (a document that DESCRIBES a package that
CONTAINS packages and files, each file with SHA1 and SHA256) is the one a release audit needs; CycloneDX
is equally able for packages but centres on vulnerability exchange. The document is made from the image
itself (dpkg's database, Python's distribution metadata, the release's files hashed inside the image),
and dated by the image's own creation time, so a reproducible image has a reproducible SBOM.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from hepstack import __version__, proc
from hepstack.build.engines import Engine
from hepstack.build.keys import walk_files
from hepstack.errors import HepstackError
from hepstack.release.contents import ImageContents, read_contents
from hepstack.release.lockfile import Lock
from hepstack.spec import Stack

SPDX_VERSION = "SPDX-2.3"
NAMESPACE = "https://hepstack.invalid/spdx"  # .invalid (RFC 2606): a URI that names, never resolves
_SPDX_ID = re.compile(r"^[A-Za-z0-9.+-]+\Z")  # a license id we may put in licenseDeclared as is
_CLASSIFIER_LICENSES = {  # https://pypi.org/classifiers/ -> SPDX license list ids
    "License :: OSI Approved :: BSD License": "BSD-3-Clause",
    "License :: OSI Approved :: MIT License": "MIT",
    "License :: OSI Approved :: Apache Software License": "Apache-2.0",
    "License :: OSI Approved :: Python Software Foundation License": "PSF-2.0",
    "License :: OSI Approved :: Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
}


@dataclass(frozen=True)
class ImageFacts:
    reference: str
    image_id: str  # sha256:...
    created: str  # ISO 8601 UTC, from the image config
    size: int


def image_facts(engine: Engine, reference: str) -> ImageFacts:
    result = proc.run(
        [engine.binary(), "image", "inspect", "--format", "{{.Id}}\t{{.Created}}\t{{.Size}}", reference],
        hint=f"is {reference} built? (`hepstack images`)",
    )
    image_id, created, size = result.stdout.strip().split("\t")
    image_id = image_id if image_id.startswith("sha256:") else f"sha256:{image_id}"
    return ImageFacts(reference, image_id, _iso_utc(created), int(size) if size.isdigit() else 0)


def release_files(stack: Stack, layer: str) -> dict[str, str]:
    """Image path -> spec-relative source of every file the spec copies into ``layer`` or its parents."""
    targets: dict[str, str] = {}
    from hepstack.build.render import profile_path

    base = stack.directory.resolve()
    for name in stack.chain(layer):
        spec_layer = stack.layer(name)
        copies = dict(spec_layer.copy_)
        if spec_layer.profile:
            copies[spec_layer.profile] = profile_path(name)
        for source, target in copies.items():
            top = (stack.directory / source).resolve()
            for file in walk_files(top):
                inside = target if not top.is_dir() else target.rstrip("/") + "/" + str(file.relative_to(top))
                if target.endswith("/") and not top.is_dir():
                    inside = target + file.name
                targets[inside] = str(file.relative_to(base))
    return dict(sorted(targets.items()))


def hash_files_argv(engine: Engine, reference: str, paths: list[str]) -> list[str]:
    script = (
        'for f in "$@"; do [ -f "$f" ] || continue; '
        'printf "%s\\t%s\\t%s\\n" "$(sha1sum < "$f" | cut -d" " -f1)" '
        '"$(sha256sum < "$f" | cut -d" " -f1)" "$f"; '
        "done"
    )
    return [
        engine.binary(), "run", "--rm", "--network=none", "--user=0", "--entrypoint=/bin/sh",
        reference, "-c", script, "hepstack-hash", *paths,
    ]  # fmt: skip


def file_hashes(engine: Engine, reference: str, paths: list[str]) -> dict[str, tuple[str, str]]:
    """Path -> (sha1, sha256) of each of ``paths`` that the image holds as a regular file."""
    if not paths:
        return {}
    result = proc.run(hash_files_argv(engine, reference, paths))
    found: dict[str, tuple[str, str]] = {}
    for line in result.stdout.splitlines():
        sha1, sha256, path = line.split("\t", 2)
        found[path] = (sha1, sha256)
    return found


@dataclass(frozen=True)
class Subject:
    """What the SBOM describes: ``stack/layer`` at ``release`` (or an image hepstack did not build)."""

    stack: str
    layer: str
    release: str


def make_sbom(
    engine: Engine,
    reference: str,
    *,
    stack: Stack | None = None,
    layer: str | None = None,
    lock: Lock | None = None,
) -> dict[str, Any]:
    """The SPDX document of image ``reference``, validated; with ``stack`` and ``layer`` it lists the
    release's files too (those the spec copies into the layer and its parents)."""
    facts = image_facts(engine, reference)
    contents = read_contents(engine, reference)
    sources = release_files(stack, layer) if stack is not None and layer is not None else {}
    hashes = file_hashes(engine, reference, list(sources))
    if stack is not None and layer is not None:
        subject = Subject(stack.name, layer, stack.spec.release)
    else:
        name, _, tag = reference.rpartition(":") if ":" in reference.split("/")[-1] else (reference, "", "")
        subject = Subject(name.rsplit("/", 1)[0] or name, name.rsplit("/", 1)[-1], tag or "NOASSERTION")
    document = spdx_document(subject, facts, contents, hashes, sources, lock)
    validate(document)
    return document


def spdx_document(
    subject: Subject,
    facts: ImageFacts,
    contents: ImageContents,
    hashes: dict[str, tuple[str, str]],
    sources: dict[str, str],
    lock: Lock | None,
) -> dict[str, Any]:
    digest = facts.image_id.removeprefix("sha256:")
    image = {
        "SPDXID": "SPDXRef-Image",
        "name": f"{subject.stack}/{subject.layer}",
        "versionInfo": subject.release,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": False,
        "primaryPackagePurpose": "CONTAINER",
        "checksums": [{"algorithm": "SHA256", "checksumValue": digest}],
        "externalRefs": [_purl(f"pkg:oci/{subject.layer}@sha256%3A{digest}")],
        "annotations": [_annotation(facts.created, f"image size {facts.size} bytes")],
    }
    packages: list[dict[str, Any]] = [image]
    for index, package in enumerate(sorted(contents.debian.values(), key=lambda p: p.name)):
        name = package.name.split(":")[0]
        packages.append(
            {
                "SPDXID": f"SPDXRef-deb-{index}",
                "name": name,
                "versionInfo": package.version,
                "supplier": "Organization: Debian",
                "downloadLocation": "NOASSERTION",
                "filesAnalyzed": False,
                "licenseDeclared": "NOASSERTION",
                "sourceInfo": f"built from Debian source package {package.source}",
                "externalRefs": [
                    _purl(f"pkg:deb/debian/{name}@{package.version}?arch={package.architecture}")
                ],
            }
        )
    pinned = _pinned_hashes(lock)
    for index, distribution in enumerate(sorted(contents.python.values(), key=lambda d: d.name.lower())):
        if distribution.from_debian:
            continue  # dpkg's: listed above as the Debian package that installed it
        entry: dict[str, Any] = {
            "SPDXID": f"SPDXRef-pypi-{index}",
            "name": distribution.name,
            "versionInfo": distribution.version,
            "downloadLocation": distribution.local_url or "NOASSERTION",
            "filesAnalyzed": False,
            "licenseDeclared": _license_id(distribution.license, distribution.license_classifiers),
            "externalRefs": [_purl(f"pkg:pypi/{distribution.name.lower()}@{distribution.version}")],
        }
        if distribution.license:
            entry["licenseComments"] = distribution.license[:500]
        known = pinned.get((distribution.name.lower().replace("_", "-"), distribution.version))
        if known:  # the lock's hashes: one of these files is what pip installed
            entry["checksums"] = [{"algorithm": "SHA256", "checksumValue": h.split(":")[1]} for h in known]
        packages.append(entry)
    files = [
        {
            "SPDXID": f"SPDXRef-File-{index}",
            "fileName": path,
            "checksums": [
                {"algorithm": "SHA1", "checksumValue": sha1},
                {"algorithm": "SHA256", "checksumValue": sha256},
            ],
            "comment": f"copied from {sources.get(path, '?')} of the stack spec",
        }
        for index, (path, (sha1, sha256)) in enumerate(sorted(hashes.items()))
    ]
    relationships = [
        {
            "spdxElementId": "SPDXRef-DOCUMENT",
            "relationshipType": "DESCRIBES",
            "relatedSpdxElement": "SPDXRef-Image",
        }
    ]
    relationships += [
        {
            "spdxElementId": "SPDXRef-Image",
            "relationshipType": "CONTAINS",
            "relatedSpdxElement": item["SPDXID"],
        }
        for item in packages[1:] + files
    ]
    return {
        "spdxVersion": SPDX_VERSION,
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": f"{subject.stack}/{subject.layer} {subject.release}",
        "documentNamespace": f"{NAMESPACE}/{subject.stack}/{subject.layer}/{digest}",
        "creationInfo": {"created": facts.created, "creators": [f"Tool: hepstack-{__version__}"]},
        "documentDescribes": ["SPDXRef-Image"],
        "packages": packages,
        "files": files,
        "relationships": relationships,
    }


def validate(document: dict[str, Any]) -> None:
    """Check ``document`` against the vendored SPDX 2.3 JSON Schema; an error names the first problem."""
    import jsonschema

    errors = sorted(
        jsonschema.Draft7Validator(spdx_schema()).iter_errors(document), key=lambda e: list(e.path)
    )
    if errors:
        where = "/".join(str(part) for part in errors[0].path) or "(document)"
        raise HepstackError(
            f"the SBOM is not valid SPDX 2.3 at {where}: {errors[0].message}",
            hint="this is a bug in hepstack's SBOM writer; please report it with the image",
        )


@cache
def spdx_schema() -> dict[str, Any]:
    text = resources.files("hepstack.release").joinpath("schemas/spdx-2.3-schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def write_sbom(document: dict[str, Any], path: Path) -> None:
    from hepstack import private

    private.write_atomically(str(path), sbom_text(document).encode(), mode=0o666)


def sbom_text(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _pinned_hashes(lock: Lock | None) -> dict[tuple[str, str], tuple[str, ...]]:
    if lock is None:
        return {}
    return {(pin.name, pin.version): pin.hashes for entry in lock.layers.values() for pin in entry.pip}


def _license_id(text: str, classifiers: tuple[str, ...]) -> str:
    """An SPDX license id when the metadata gives one plainly, else NOASSERTION (raw text is kept in
    licenseComments): free-form License fields ("BSD License", whole license texts) are not SPDX."""
    if text and _SPDX_ID.match(text.strip()) and not text.strip().upper().startswith("UNKNOWN"):
        return text.strip()
    for classifier in classifiers:
        if classifier in _CLASSIFIER_LICENSES:
            return _CLASSIFIER_LICENSES[classifier]
    return "NOASSERTION"


def _purl(locator: str) -> dict[str, str]:
    return {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": locator}


def _annotation(date: str, comment: str) -> dict[str, str]:
    return {
        "annotationDate": date,
        "annotationType": "OTHER",
        "annotator": f"Tool: hepstack-{__version__}",
        "comment": comment,
    }


def _iso_utc(text: str) -> str:
    """podman/docker print e.g. ``2025-12-01 00:00:00 +0000 UTC``; SPDX wants ``2025-12-01T00:00:00Z``."""
    from datetime import UTC, datetime

    cleaned = text.strip().split(" UTC")[0].split(".")[0]
    for pattern in ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S"):
        try:
            moment = datetime.strptime(cleaned.replace("Z", "+0000"), pattern)
            break
        except ValueError:
            continue
    else:
        return text.strip()
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
