"""Names users write in specs, study files and on the command line, checked the same way everywhere."""

from __future__ import annotations

import re

# An environment variable name as POSIX shells accept it (and env(1) in the login wrapper needs).
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
