"""The one validating/quoting function per output format that carries user values.

Every value a user, a site file or a spec gives that ends up in a job script, a scheduler directive, an
HTCondor submit file, a mount option or a Containerfile goes through exactly one of these. Each either
returns the text to splice into its format or raises :class:`ValueRejected` (``error:`` + ``hint:``)
for a value the format cannot carry: nothing is silently dropped or changed.

==========================  ===========================================================================
format                      function
==========================  ===========================================================================
bash word (job scripts)     :func:`bash_word` (job-time variables become ``"${NAME}"``)
argv element                :func:`argument` (anything but NUL)
``#SBATCH`` value           :func:`slurm_word`
``#$`` value (SGE/UGE)      :func:`sge_word`
``#BSUB`` value             :func:`lsf_word`
HTCondor submit file        :func:`htcondor_value`, :func:`classad_string`
``--mount`` option value    :func:`mount_option_value` (podman, docker, buildah's ``RUN --mount``)
``SRC:DST[:opts]`` binds    :func:`bind_field` (apptainer --bind, shifter --volume, ch-run --bind)
QEMU ``-opt key=value,...`` :func:`qemu_option_value` (-drive, -virtfs, -chardev)
Containerfile               :func:`containerfile_line` (shell form), :func:`containerfile_string`
                            (ENV/LABEL word), :func:`containerfile_json` (exec/JSON form)
remote shell (ssh)          :func:`remote_command` (an argv as the one line ssh hands the login shell)
==========================  ===========================================================================

Every function rejects control characters first (:func:`check_text`), then what its own format
cannot carry. The scheduler rules were measured against the real parsers where they run here (sbatch
of SLURM 22.05, qsub of Son of Grid Engine 8.1.9; docs/quoting.md has the experiments); LSF and
HTCondor cannot run here, so their rules follow their documentation and reject whatever it leaves open.
"""

from __future__ import annotations

import re
import shlex

from hepstack.errors import HepstackError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn


class ValueRejected(HepstackError):
    """A value that its output format cannot carry, or that breaks the grammar of what it names."""


# C0 controls (line feed, carriage return, NUL, ESC, ...), DEL, the C1 controls (U+0085 NEXT LINE among
# them) and the Unicode line and paragraph separators: each ends or alters a line for some reader of
# the file (bash, sbatch, qsub, condor_submit, Python's str.splitlines, editors and log viewers).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_SHOWN = 80


def shown(value: str) -> str:
    """``value`` as an error message shows it: repr, so invisible characters are visible; long ones cut."""
    text = repr(value)
    return text if len(text) <= _SHOWN else f"{text[: _SHOWN - 5]}...' ({len(value)} characters)"


def reject(value: str, what: str, reason: str, hint: str) -> NoReturn:
    raise ValueRejected(f"{what} {shown(value)} {reason}", hint=hint)


# --- job-time variables ---------------------------------------------------------------------------

# A value the job knows only when it runs (the task index, a site's $SCRATCH) travels through the
# runtime's argv as NUL NAME NUL, which bash_word turns into "${NAME}". NUL cannot occur in any argv,
# environment or path, and every value read from a file is checked for control characters, so a
# user's value can never forge one: "@@HOME@@" or "${HOME}" in --env stays literally what was typed.
_JOB_VARIABLE = re.compile("\x00([A-Za-z_][A-Za-z0-9_]*)\x00")


def job_variable(name: str) -> str:
    """The placeholder for the job-time variable ``name`` inside an argv element."""
    from hepstack.names import ENV_NAME

    if not ENV_NAME.match(name):
        reject(name, "job variable", "is not a shell variable name", "use letters, digits and '_'")
    return f"\x00{name}\x00"


def job_variables_in(value: str) -> list[str]:
    return _JOB_VARIABLE.findall(value)


def check_text(value: str, what: str, *, job_variables: bool = False, hint: str | None = None) -> str:
    """``value`` if it holds no control character (job-time variables allowed where ``job_variables``)."""
    text = _JOB_VARIABLE.sub("", value) if job_variables else value
    found = _CONTROL.search(text)
    if found:
        character = found[0]
        reject(
            value,
            what,
            f"contains the control character U+{ord(character):04X} ({character!r})",
            hint or "remove it: line breaks, NUL and other control characters cannot be written here",
        )
    return value


# --- bash -----------------------------------------------------------------------------------------


def argument(value: str, what: str) -> str:
    """An argv element: anything but NUL, which no argv can hold (job-time variables allowed)."""
    if "\x00" in _JOB_VARIABLE.sub("", value):
        reject(value, what, "contains NUL", "NUL cannot be part of a command-line argument")
    return value


def bash_word(value: str) -> str:
    """One word for bash: single-quoted where needed (shlex.quote), job-time variables as "${NAME}".

    Inside single quotes bash takes every character literally, newlines included, so no value can end
    the word, start a command or expand anything; only NUL cannot be written (bash drops it).
    """
    argument(value, "a job script word")
    if "\x00" not in value:
        return shlex.quote(value)
    words = []
    for position, piece in enumerate(_JOB_VARIABLE.split(value)):
        if position % 2:
            words.append(f'"${{{piece}}}"')
        elif piece:
            words.append(shlex.quote(piece))
    return "".join(words) or "''"


# --- scheduler directives -------------------------------------------------------------------------

# Words every directive parser below takes unquoted.
_BARE_WORD = re.compile(r"^[A-Za-z0-9_@%+=:,./-]+\Z")  # shlex.quote's safe characters


def slurm_word(value: str, what: str) -> str:
    """A value in an ``#SBATCH`` line, double-quoted if needed.

    sbatch reads directives with its own parser (src/sbatch/opt.c, _get_argument): words end at
    whitespace, ``"`` and ``'`` quote, ``\\`` escapes the next character inside quotes and out, and an
    unquoted ``#`` ends the line. Measured here: ``--job-name="a\\"b#c\\\\d'e"`` gives the name
    ``a"b#c\\d'e``. Only a line break cannot be carried (bash would run the next line).
    """
    check_text(value, what)
    if _BARE_WORD.match(value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def sge_word(value: str, what: str, *, forbidden: str = "") -> str:
    """A value in an ``#$`` line (SGE/UGE qsub), double-quoted if it has spaces.

    Measured with qsub 8.1.9: ``"`` and ``'`` both toggle quoting (``"it's"`` gives ``its``), no
    escape exists, and ``#`` ends the directive even inside quotes. So quotes and ``#`` cannot be
    carried; ``forbidden`` adds what the option itself gives a meaning (``,`` and ``:`` in -o paths).
    """
    check_text(value, what)
    _refuse(value, what, "\"'#" + forbidden, "qsub")
    return value if _BARE_WORD.match(value) else f'"{value}"'


def lsf_word(value: str, what: str, *, forbidden: str = "") -> str:
    """A value in an ``#BSUB`` line, double-quoted if needed.

    bsub(1) documents double-quoted values in directives (``-J "name[1-10]"``, ``-R "res_req"``) and a
    ``#`` after the options as a comment, but no escape: quotes, ``\\``, ``#``, ``$`` and backquotes are
    refused rather than guessed (LSF cannot run here to measure it).
    """
    check_text(value, what)
    _refuse(value, what, "\"'\\#$`" + forbidden, "bsub")
    return value if _BARE_WORD.match(value) else f'"{value}"'


def htcondor_value(value: str, what: str) -> str:
    """A value after ``key =`` in a submit description (condor_submit(1), "Submit Description File").

    One line per command; ``$(...)`` macros are expanded in every value, a trailing ``\\`` joins the
    next line, and surrounding whitespace is dropped. So ``$``, a trailing backslash and surrounding
    whitespace are refused (hepstack's own ``$(Process)`` is added outside this function).
    """
    check_text(value, what)
    if "$" in value:
        reject(value, what, "contains '$', which HTCondor expands as a $(macro)", "remove the '$'")
    if value.endswith("\\"):
        reject(value, what, "ends in '\\', which joins the next line of job.sub", "remove the backslash")
    if value != value.strip():
        reject(value, what, "has leading or trailing whitespace, which HTCondor drops", "remove it")
    return value


def classad_string(value: str, what: str) -> str:
    """A ClassAd string literal (``+JobFlavour = "espresso"``): ``\\`` and ``"`` escaped (ClassAd
    reference, "String literals"), and checked as a submit-file value."""
    check_text(value, what)
    return htcondor_value('"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"', what)


def _refuse(value: str, what: str, characters: str, reader: str) -> None:
    bad = sorted({character for character in value if character in characters})
    if bad:
        listed = " ".join(repr(character) for character in bad)
        reject(
            value,
            what,
            f"contains {listed}, which {reader} cannot carry in a directive",
            f"choose a value without {listed}",
        )


# --- mounts ---------------------------------------------------------------------------------------


def mount_option_value(value: str, what: str) -> str:
    """A value in ``--mount type=bind,source=V,target=V`` (podman, docker; buildah's RUN --mount).

    The option is one CSV record (docker opts/mount.go and podman read it with encoding/csv): ``,``
    starts another key (``source=/tmp,source=/etc`` would bind /etc) and ``"`` starts a quoted field.
    """
    check_text(value, what, job_variables=True)
    for character in ',"':
        if character in value:
            reject(
                value,
                what,
                f"contains {character!r}, which would add or change a mount option",
                "bind a path without ',' or '\"' (make a symlink to it, or rename it)",
            )
    return value


def bind_field(value: str, what: str) -> str:
    """One field of ``SRC:DST[:opts]`` (apptainer --bind, shifter --volume, ch-run --bind).

    ``:`` separates the fields, ``,`` separates binds in apptainer's list and ``;`` in shifter's.
    """
    check_text(value, what, job_variables=True)
    for character in ":,;":
        if character in value:
            reject(
                value,
                what,
                f"contains {character!r}, which separates bind fields or binds",
                "bind a path without ':', ',' or ';' (make a symlink to it, or rename it)",
            )
    return value


def qemu_option_value(value: str, what: str) -> str:
    """A value in a QEMU option list (``-drive file=V,format=qcow2``, ``-virtfs local,path=V,...``).

    QEMU's option parser (util/qemu-option.c, get_opt_value) ends a value at ``,`` unless it is doubled:
    ``path=/a,,b`` is the path ``/a,b``. So every comma is doubled, and nothing else can end the value.
    """
    check_text(value, what)
    return value.replace(",", ",,")


# --- Containerfiles -------------------------------------------------------------------------------

# "<<WORD" (but not bash's "<<<" here-string): BuildKit (and buildah >= 1.33) then read the following
# lines, up to WORD, as a here-document of this instruction (buildkit frontend/dockerfile/docs
# syntax.md, "Here-Documents"), swallowing hepstack's next instructions (USER among them).
_HEREDOC = re.compile(r"(?<!<)<<(?!<)")


def containerfile_line(value: str, what: str) -> str:
    """Text that must stay on its one Containerfile line (a RUN step, USER, WORKDIR, FROM)."""
    check_text(value, what, hint="write one line; put several steps in several list entries")
    if value.rstrip().endswith("\\"):
        reject(
            value,
            what,
            "ends in '\\', which joins the next Containerfile instruction to it",
            "remove the trailing backslash",
        )
    if _HEREDOC.search(value):
        reject(
            value,
            what,
            "contains '<<', which BuildKit reads as a here-document swallowing the next instructions",
            "write the file with COPY, or the text with printf",
        )
    return value


def containerfile_string(value: str, what: str) -> str:
    """A double-quoted word of ENV or LABEL, taken literally: ``\\``, ``"`` and ``$`` escaped, so the
    builder substitutes no ``$VAR`` (the Dockerfile reference: ``\\$`` is a literal dollar) and the
    image holds exactly the spec's value, as a native run of the layer does. Non-ASCII characters are
    written as they are (json.dumps would write ``\\u00e9``, which buildah keeps literally as ``u00e9``)."""
    check_text(value, what)
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$") + '"'


def containerfile_json(values: list[str], what: str) -> str:
    """The exec (JSON array) form of CMD, ENTRYPOINT or COPY: every character escaped by JSON; NUL,
    which no argv or path can hold, is refused."""
    import json  # here: `hepstack run` never writes a Containerfile

    for value in values:
        argument(value, what)
    return json.dumps(values)


# --- ssh ------------------------------------------------------------------------------------------


def remote_command(argv: list[str], what: str = "a remote command word") -> str:
    """``argv`` as the one command line ssh gives the remote login shell (ssh joins its words with
    spaces and runs ``$SHELL -c LINE``): every word single-quoted where needed (shlex.quote).

    Inside single quotes a POSIX shell (sh, bash, dash, zsh, ksh) takes every character literally; csh
    would not take a line break there, so control characters are refused rather than sent. A job-time
    variable cannot be expanded on a login node and is refused too.
    """
    words = []
    for value in argv:
        if job_variables_in(value):
            reject(value, what, "holds a job-time variable", "remote commands take literal values only")
        check_text(value, what)
        words.append(shlex.quote(value))
    if not words:
        raise HepstackError("an empty remote command", hint="this is a bug in hepstack: please report it")
    return " ".join(words)
