"""Names and grammars users write in specs, site files, study files and on the command line.

The one home of every such pattern: a check anywhere in hepstack uses these, never its own copy.
Every pattern is ASCII-only (``[0-9]``, not ``\\d``, which also matches ``٣``) and anchored with ``\\Z``
(``$`` in Python also matches before a final newline, so ``^[A-Z]+$`` accepts ``"ABC\\n"``).
The ``*_PATTERN`` strings are for pydantic's ``Field(pattern=...)`` (Rust regex, where ``$`` is the end).
"""

from __future__ import annotations

import re

# --- environment variables ------------------------------------------------------------------------

# A shell variable name (POSIX XBD 3.235 "Name"): what env(1) in the login wrapper and "${NAME}" in a
# job script accept. A name such as "--split-string" would be an env(1) option, not an assignment.
_ENV_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
ENV_NAME = re.compile(rf"^{_ENV_NAME}\Z")
# $NAME or ${NAME} in a site's bind source: a variable of the compute node, expanded by the job.
VARIABLE_REFERENCE = re.compile(rf"\$\{{({_ENV_NAME})\}}|\$({_ENV_NAME})")

# A secret's name (`--secret NAME=FILE`, a site's `secrets:`): the file /run/secrets/NAME in the container
# and the variable HEPSTACK_SECRET_<NAME in upper case> that names the file for every runtime. Lower-case
# letters, digits and '_' only, so that the upper-cased name is a variable name and no two names map to one.
SECRET_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}\Z")
SECRET_NAME_RULE = "a lower-case letter, then lower-case letters, digits and '_' (at most 63)"

# --- hepstack's own names: stacks, layers, sites --------------------------------------------------

# One OCI path component (distribution/reference, reference.go: path-component := alpha-numeric
# [separator alpha-numeric]*; separator := /[_.]|__|[-]+/), because stack and layer names become the
# repository localhost/<stack>/<layer>. Site names follow the same rule, so there is one rule to learn.
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
NAME_PATTERN = rf"^{_PATH_COMPONENT}$"
NAME = re.compile(rf"^{_PATH_COMPONENT}\Z")
NAME_RULE = "lower-case letters and digits, separated by '.', '_', '__' or '-' (an OCI name component)"
STACK_LAYER = re.compile(rf"^({_PATH_COMPONENT})/({_PATH_COMPONENT})\Z")

# An image tag (reference.go: tag := /[\w][\w.-]{0,127}/, Go's \w being ASCII): a release.
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
TAG_PATTERN = rf"^{_TAG}$"

# --- OCI image references -------------------------------------------------------------------------

# The grammar of github.com/distribution/reference (reference.go, regexp.go, v0.6.0):
#   reference := name [ ":" tag ] [ "@" digest ]
#   name      := [domain '/'] remote-name            (at most 255 characters: NameTotalLengthMax)
#   domain    := host [':' port-number];  host := domain-name | '[' IPv6address ']'
#   domain-component := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
#   digest    := algorithm ":" hex;  algorithm := /[A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*/;
#   hex       := /[0-9a-fA-F]{32,}/
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])"
_IMAGE_NAME = rf"(?:{_HOST}(?::[0-9]+)?/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
IMAGE_REFERENCE = re.compile(rf"^(?P<name>{_IMAGE_NAME})(?::{_TAG})?(?:@{_DIGEST})?\Z")
IMAGE_NAME_MAX = 255

# --- batch jobs -----------------------------------------------------------------------------------

# A job name every scheduler takes as it is (SGE's -N refuses '/', ':', '@', '*', '?' and spaces, and a
# leading '-' would read as an option). At most 64 characters.
JOB_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}\Z")
_NOT_IN_JOB_NAME = re.compile(r"[^A-Za-z0-9_.-]+")
# A queue, partition, project or account: letters, digits and the separators schedulers use in them
# (SLURM and SGE lists "a,b", SGE "queue@host" and "*.q", HTCondor "group.user"); no spaces, quotes,
# '#', '$' or '=', which would end or change a directive, and no leading '-', which would be an option.
SCHEDULER_NAME = re.compile(r"^[A-Za-z0-9_*][A-Za-z0-9_.,@+*-]{0,127}\Z")
SCHEDULER_NAME_RULE = "letters, digits and '_', '.', ',', '@', '+', '*', '-' (no spaces), at most 128"
# A scheduler option a site adds: -l, -pe, --constraint, -hold_jid (then its values).
DIRECTIVE_OPTION = re.compile(r"^--?[A-Za-z][A-Za-z0-9_-]*\Z")
# A command that replaces a runtime's own (podman-hpc for podman): a name or path, no spaces or options.
COMMAND_NAME = re.compile(r"^[A-Za-z0-9_/+][A-Za-z0-9_./+-]{0,254}\Z")
# An HTCondor submit command or job ClassAd attribute (+Attr, MY.Attr), condor_submit(1).
HTCONDOR_KEY = re.compile(r"^\+?[A-Za-z_][A-Za-z0-9_.]*\Z")

# --- storage and remote sites ----------------------------------------------------------------------

# A file on an xrootd server, as xrdcp takes it: root://HOST[:PORT]//PATH (the XRootD protocol's URL,
# "root://host[:port]//absolute/path"). The path's components are letters, digits and '_', '.', '+',
# ',', '@', '%', '-' ("." and ".." refused by :func:`xrootd_url`); no '?' (CGI options), '#', '=' (the
# separator of --stage-in/--stage-out), quotes, spaces or '$' other than a job variable
# (``${HEPSTACK_TASK_INDEX}``), which the caller replaces before matching.
_PATH_PIECE = r"[A-Za-z0-9_.+,@%-]+"
XROOTD_PATH = re.compile(rf"^(?:/{_PATH_PIECE})+\Z")
XROOTD_URL = re.compile(
    rf"^(?P<server>root://(?P<host>{_HOST})(?::(?P<port>[0-9]{{1,5}}))?)/(?P<path>(?:/{_PATH_PIECE})+)\Z"
)
XROOTD_URL_RULE = (
    "root://HOST[:PORT]//PATH, the path of letters, digits and '_', '.', '+', ',', '@', '%', '-'"
)
# An ssh destination: [USER@]HOST[:PORT], HOST a name, an address or an ~/.ssh/config alias. A leading
# '-' would be an ssh option ("-oProxyCommand=..."), so neither user nor host may start with one.
_SSH_USER = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}"
LOGIN_HOST = re.compile(
    rf"^(?:(?P<user>{_SSH_USER})@)?(?P<host>{_HOST}|[A-Za-z0-9_][A-Za-z0-9_.-]{{0,253}})"
    r"(?::(?P<port>[0-9]{1,5}))?\Z"
)
LOGIN_HOST_RULE = "[USER@]HOST[:PORT] or an ~/.ssh/config alias (letters, digits, '.', '_', '-')"

# --- Containerfile values -------------------------------------------------------------------------

# A Debian package as apt-get install takes it (Debian Policy 5.6.1 Package: lower-case letters,
# digits, '+', '-', '.', at least two, starting alphanumerically; 5.6.12 Version), optionally with
# :architecture and =version or /release. An "option-like" name (-oAPT::...) does not match.
DEBIAN_PACKAGE = re.compile(r"^[a-z0-9][a-z0-9+.-]+(?::[a-z0-9-]+)?(?:=[A-Za-z0-9.+~:-]+|/[a-z0-9.-]+)?\Z")
# USER in a Containerfile: name or uid, optionally :group or :gid (Dockerfile reference, USER).
_USER_PART = r"(?:[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?|[0-9]{1,10})"
CONTAINER_USER = re.compile(rf"^{_USER_PART}(?::{_USER_PART})?\Z")
# A Debian suite (bookworm, bullseye-backports) and architecture (amd64, arm64).
DEBIAN_SUITE = re.compile(r"^[a-z][a-z0-9-]*\Z")
DEBIAN_ARCHITECTURE = re.compile(r"^[a-z0-9][a-z0-9-]*\Z")
# An OCI annotation / image label key (image-spec annotations.md: reverse-domain keys).
LABEL_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}\Z")

# --- numbers --------------------------------------------------------------------------------------

DIGITS = re.compile(r"^[0-9]+\Z")


def is_decimal(text: str) -> bool:
    """Only ASCII digits: ``str.isdigit`` is also true for ``²`` and ``٣``, which ``int()`` refuses or
    reads as another number."""
    return DIGITS.match(text) is not None


def is_image_reference(text: str) -> bool:
    """An OCI image reference (``localhost/lat/release:1.0``, ``docker.io/library/debian@sha256:...``)."""
    match = IMAGE_REFERENCE.match(text)
    return match is not None and len(match["name"]) <= IMAGE_NAME_MAX


def registry_host(reference: str) -> str | None:
    """The registry an image reference names (``HOST[:PORT]`` before the first '/', with a '.' or a ':'
    in it, docker's rule), else None: ``localhost/lat/release:KEY`` and ``lat/digi`` name a local store."""
    first, slash, _ = reference.removeprefix("docker://").partition("/")
    return first if slash and ("." in first or ":" in first) else None


def job_name(text: str) -> str:
    """``text`` made into a job name every scheduler accepts: other characters become '-'."""
    name = _NOT_IN_JOB_NAME.sub("-", text).lstrip("-.")[:64]
    return name or "hepstack"
