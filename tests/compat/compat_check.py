"""Small assertion helpers shared by the compatibility scripts.

Every check is recorded; a section that raises counts as one failure and the script goes on,
so one run reports everything that does not match. `finish()` prints a summary and exits 1 if
anything failed.
"""

import contextlib
import sys
import traceback

_failures = []
_passed = 0
_section = "main"


def check(condition, message, detail=None):
    """Records one expectation."""
    global _passed
    if condition:
        _passed += 1
        return True
    text = f"[{_section}] {message}"
    if detail is not None:
        text += f"\n      got: {detail!r}"
    _failures.append(text)
    print("FAIL " + text, flush=True)
    return False


def equal(actual, expected, message):
    return check(actual == expected, f"{message}: expected {expected!r}", actual)


@contextlib.contextmanager
def section(name):
    """A named group of checks; an exception inside fails the section, not the script."""
    global _section
    previous, _section = _section, name
    print(f"-- {name}", flush=True)
    try:
        yield
    except Exception as error:  # noqa: BLE001 - any error is a failed section
        _failures.append(f"[{name}] raised {type(error).__name__}: {error}")
        print(f"FAIL [{name}] raised:\n{traceback.format_exc()}", flush=True)
    finally:
        _section = previous


def finish():
    print(f"\n{_passed} checks passed, {len(_failures)} failed", flush=True)
    if _failures:
        print("Failures:", flush=True)
        for failure in _failures:
            print("  - " + failure, flush=True)
        sys.exit(1)
    sys.exit(0)
