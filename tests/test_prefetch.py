"""The background import of heavy libraries (reportgen.prefetch): it imports, it can be turned off, and
a library that fails to import does not break anything (the main thread's own import reports it)."""
from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys, threading
from reportgen.prefetch import prefetch
assert "{module}" not in sys.modules
thread = prefetch("no_such_module_anywhere", "{module}")
if thread is not None:
    thread.join()
print("imported" if "{module}" in sys.modules else "not imported", prefetch("{module}") is None)
"""


def _run(module: str, **env: str) -> str:
    import os

    result = subprocess.run([sys.executable, "-c", SCRIPT.format(module=module)], capture_output=True, text=True,
                            env={**os.environ, **env}, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout.strip()


def test_prefetch_imports_in_the_background_past_a_failing_module() -> None:
    assert _run("csv") == "imported True"  # and a second call for the same module starts nothing


def test_prefetch_can_be_turned_off() -> None:
    assert _run("csv", REPORTGEN_PREFETCH="0") == "not imported True"
