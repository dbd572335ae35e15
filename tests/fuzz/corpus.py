"""The valid documents the fuzzer starts from, and the hostile values, paths and files it puts in them."""

from __future__ import annotations

STACK = """\
# a valid stack spec: every kind of layer and every field that names a file
stack: demo
release: "1.0"
description: fuzz base
size_budget: {layer: 1GB, image: 2GiB}
layers:
  base:
    bootstrap: {suite: bookworm, variant: minbase}
    packages: [python3, python3-pip]
    labels: {org.opencontainers.image.vendor: "Demo"}
  framework:
    from: base
    pip: ["numpy==2.0.2", "-r req.txt", "./pkg"]
    profile: setup.sh
    env: &env {DEMO_HOME: /opt/demo}
    size_budget: {layer: 500MB}
  release:
    from: framework
    copy: &code
      app.py: /opt/demo/app.py
      pkg/: /opt/demo/pkg/
    env: {<<: *env, DEMO_RELEASE: "1.0"}
    run: ["python3 -m compileall -q /opt/demo"]
    user: "1000"
    workdir: /opt/demo
    entrypoint: [python3]
    cmd: [/opt/demo/app.py]
  study:
    from: release
    containerfile: files/study.Containerfile
  external:
    from: docker.io/library/debian:bookworm-slim
    copy: *code
"""

CONTAINERFILE = """\
ARG FLAVOUR=plain
FROM docker.io/library/debian:bookworm AS builder
RUN echo built > /artifact
FROM builder AS final
COPY --from=builder /artifact /artifact
COPY app.py /opt/study/app.py
COPY ["data/", "/opt/study/data/"]
ENV STUDY=1
"""

STACK_FILES: dict[str, str] = {
    "app.py": "print('hello')\n",
    "setup.sh": "export DEMO=1\n",
    "req.txt": "six\n",
    "pkg/__init__.py": "",
    "pkg/module.py": "x = 1\n",
    "files/study.Containerfile": CONTAINERFILE,
    "files/app.py": "print('study')\n",
    "files/data/table.txt": "1 2 3\n",
}

SITE = """\
# a valid site file
name: fuzzsite
description: SLURM + podman, for the fuzz test
scheduler: slurm
runtime: podman
runtime_tool: podman-hpc
binds:
  - $SCRATCH:/scratch
  - /data:/data:ro
env:
  OMP_NUM_THREADS: "1"
resources:
  cpus: 4
  memory: 2G
  time: "04:00:00"
  queue: regular
  account: m0000
directives:
  - --constraint=cpu
"""

STUDY = """\
# a valid study file
study: fuzzstudy
description: fuzz base
image: demo/release
events: 20
repetitions: 3
warmup: 1
seed: 7
confidence: 0.95
start_latency_runs: 2
workloads:
  - name: reco
    command: [lat-run, reco, -n, "{events}", --seed, "{seed}", -i, "{input}/raw.dat",
              -o, "{output}/out.root", --timing-db, "{timing_db}"]
    inputs: inputs
    timing_db: timing.db
    outputs: ["*.root"]
    events: 10
arms:
  - {name: native, runtime: native, env: {PATH: "/usr/bin:/bin"}}
  - name: podman
    runtime: podman
    image: demo/release:1.0
    command_prefix: [taskset, -c, "1"]
"""

STUDY_FILES: dict[str, str] = {"inputs/raw.dat": "raw\n"}

# Values a hostile user might put anywhere: wrong types, extremes, encodings, markup, shell.
VALUES: list[object] = [
    None,
    True,
    False,
    0,
    -1,
    2**63,
    -(2**64),
    10**30,
    1.5,
    -0.0,
    "",
    " ",
    "\t",
    "\n",
    "~",
    "null",
    "yes",
    "1.0",
    "0x1f",
    "2024-01-01",
    "\0",
    "a\0b",
    "\ud800",
    "x\udfffy",
    "\x1b[31mred",
    "\x7f",
    "\u2028",
    "\ufeff",
    "\U0001f600",
    "[/]",
    "[bold]x",
    "$(id)",
    "`id`",
    "; rm -rf /",
    "${HOME}",
    "{events}",
    "{",
    "}",
    "{0}",
    "{events.__class__}",
    "%s%n",
    "a" * 300,
    "a" * 70_000,
    "é" * 40_000,
    [],
    {},
    [None],
    {"": ""},
    {"x": {"y": {"z": [1, [2, [3]]]}}},
    ["a"] * 50,
]

# Paths for fields that name files (relative to the document's directory unless absolute).
PATHS: list[str] = [
    "",
    " ",
    ".",
    "..",
    "./",
    "../../../../etc/shadow",
    "../outside.txt",
    "/etc/passwd",
    "/dev/zero",
    "/dev/null",
    "/proc/self/status",
    "fifo",
    "sock",
    "loop",
    "loop/x",
    "link-zero",
    "link-passwd",
    "link-up",
    "treefifo/",
    "treesock/",
    "treeloop/",
    "treedeep/",
    "treedev/",
    "a" * 300,
    "a/" * 2100,
    ("b" * 200 + "/") * 30,
    "nonexistent",
    "pkg/../../x",
    "pkg/../app.py",
    "~/x",
    "$HOME/x",
    "*",
    "app.py\n",
    "app.py\0",
    "\ud800",
    "-r",
    "--from=x",
]

CONTAINERFILES: list[bytes] = [
    b"FROM debian\nCOPY ../../../../etc/shadow /x\n",
    b"FROM debian\nCOPY /etc/passwd /x\n",
    b'FROM debian\nCOPY ["app.py", "/x"]\n',
    b'FROM debian\nCOPY --chown=1:1 ["app.py", "data/", "/x/"]\n',
    b"FROM debian\nCOPY [app.py, /x]\n",
    b'FROM debian\nCOPY ["app.py"]\n',
    b"FROM debian\nCOPY *.py /x/\n",
    b"FROM debian\nCOPY *.nothing /x/\n",
    b"FROM debian\nCOPY d?ta/ [a-z]*.py /x/\n",
    b"FROM debian\nCOPY ../*/* /x/\n",
    b"FROM --platform=linux/amd64\n",
    b"FROM --platform=linux/amd64 debian AS x\nFROM x\n",
    b"\xff\xfeF\x00R\x00O\x00M\x00",
    b"FROM debian\nRUN echo \xe9t\xe9\n",
    b"",
    b"# only a comment\n",
    b"ARG X=1\n",
    b"ARG X=1\nRUN true\n",
    b"FROM debian\nRUNN true\n",
    b"FROM debian\nRUN a \\\n",
    b"FROM debian\nCOPY <<EOF /x\nhello\nEOF\n",
    b"FROM debian\nCOPY\n",
    b"FROM debian\nCOPY app.py\n",
    b"FROM debian\nCOPY $SRC /x\n",
    b"FROM debian\nCOPY fifo /x\n",
    b"FROM debian\nCOPY sock /x\n",
    b"FROM debian\nCOPY loop /x\n",
    b"FROM debian\nCOPY treefifo/ /x\n",
    b"FROM debian\nCOPY link-zero /x\n",
    b"FROM debian\nCOPY " + b"a" * 300 + b" /x\n",
    b"FROM debian\nADD https://example.org/x.tar /x\n",
    b"FROM debian\nCOPY --from=builder / /x\n",
    b"FROM a AS b\nFROM b AS a\n",
    b"from debian\ncopy app.py /x\n",
    b"FROM debian\nCOPY / /x\n",
    b"FROM debian\n\x00COPY app.py /x\n",
    b"FROM debian\nCOPY app.py /x\n" * 40_000,
    b"FROM debian\nONBUILD COPY ../../etc/passwd /x\n",
]

SIZES: list[object] = [
    -1,
    0,
    True,
    False,
    1e300,
    "9" * 400,
    "9" * 400 + "GB",
    "1e3GB",
    2**63 - 1,
    "-5GB",
    "",
    "1.5.5GB",
    "0.0000001B",
    "1PB",
    "1TiB",
    [],
    {},
    None,
]

# YAML constructs inserted at random places.
TOKENS: list[str] = [
    "[",
    "]",
    "{",
    "}",
    ": ",
    "- ",
    "&a ",
    "*a",
    "*nope",
    "!!python/object/apply:os.system [true] ",
    "!!python/name:os.system ",
    "!!binary aGk= ",
    "!!set {a} ",
    "!!omap [a: 1] ",
    "!local ",
    "!<tag:yaml.org,2002:str> ",
    "!!int ",
    "!!float ",
    "!!bool ",
    "? ",
    "<<: ",
    "<<: *a\n",
    "|\n",
    ">-\n",
    "'",
    '"',
    "# ",
    "%YAML 1.1\n---\n",
    "%TAG !e! tag:example.com,2000:\n---\n",
    "---\n",
    "...\n",
    "\t",
    "\\",
    "\ufeff",
    '"\\0"',
    '"\\ud800"',
    '"\\x1b"',
    "@",
    "`",
]

CONTROL_BYTES = [
    b"\x00",
    b"\x01",
    b"\x08",
    b"\x0b",
    b"\x1b",
    b"\x7f",
    b"\x85",
    b"\xff",
    b"\xc3",
    b"\r",
    b"\t",
]
