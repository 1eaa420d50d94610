"""The README's main job, `logweir demo`, as a user runs it (on the test stack's ports)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.stack import isolated

pytestmark = pytest.mark.integration


def test_demo_publishes_stores_and_shows_results(stack):
    settings = isolated(stack)
    env = {**os.environ, **settings.to_env(), "COLUMNS": "200"}
    result = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "demo", "--count", "800", "--timeout", "120"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    # 800 sample lines + the bad inputs, all accounted for, none twice.
    assert "dead-lettered, 0 duplicates" in out
    stored, dead = (
        int(w)
        for w in out.split(" rows stored, ")[0].split()[-1:]
        + out.split(" rows stored, ")[1].split()[:1]
    )
    assert stored + dead == 800 + 11
    assert "rows by service and severity" in out
    assert "formats detected: " in out
    assert "empty" in out  # the dead-letter table with its reason
    assert "logweir stack down" in out
