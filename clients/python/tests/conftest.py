import os
import sys
from collections import defaultdict
from pathlib import Path

# Tests import the package from src/ when it is not installed (ci.sh installs it).
sys.path.insert(0, str(Path(__file__).resolve().parent))
try:
    import keyward_client  # noqa: F401
except ImportError:  # pragma: no cover
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

_vector_counts: dict = defaultdict(lambda: {"passed": 0, "failed": 0})


def pytest_runtest_logreport(report):
    # Count the shared vectors per file ("vectors[canonical.json:name]").
    if report.when != "call" or "::test_vector[" not in report.nodeid:
        return
    name = report.nodeid.split("::test_vector[", 1)[1]
    file = name.split(":", 1)[0]
    _vector_counts[file]["passed" if report.passed else "failed"] += 1


def pytest_terminal_summary(terminalreporter):
    if not _vector_counts:
        return
    terminalreporter.section("shared test vectors (testdata/)")
    for file, c in sorted(_vector_counts.items()):
        terminalreporter.line(f"{file}: {c['passed']} passed, {c['failed']} failed")
