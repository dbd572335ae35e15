"""``python measure.py SECONDS ARGV...``: run ARGV under 2 GiB of address space, killed after SECONDS;
print {"exit", "seconds", "peak_rss"} as JSON on stdout (ARGV's own output goes to this stderr).

A separate small process, because a child's peak RSS (ru_maxrss) starts at its parent's size when it
is forked: measured from pytest, every run would look as large as pytest.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import threading
import time


def main() -> None:
    seconds, argv = float(sys.argv[1]), sys.argv[2:]
    resource.setrlimit(resource.RLIMIT_AS, (2 * 2**30, 2 * 2**30))  # inherited by the child
    started = time.monotonic()
    child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    timer = threading.Timer(seconds, child.kill)
    timer.start()
    try:
        _, status, usage = os.wait4(child.pid, 0)  # wait4: the child's own peak RSS
    finally:
        timer.cancel()
    child.returncode = os.waitstatus_to_exitcode(status)
    result = {
        "exit": child.returncode,
        "seconds": time.monotonic() - started,
        "peak_rss": usage.ru_maxrss * 1024,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
