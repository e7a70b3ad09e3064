"""Imported by every Python process of CI's night-time run (``PYTHONPATH=.ci/night``): moves
the wall clock by ``INTAKE_TEST_CLOCK_SHIFT`` seconds with time-machine, so the test process and
the worker, gunicorn and CLI processes it starts all read the same fake time, which then runs on.
Monotonic clocks stay real, so timeouts and sleeps behave."""

import os
import sys

if shift := os.environ.get("INTAKE_TEST_CLOCK_SHIFT"):
    import time

    # The processes the test process starts load time-machine without its pytest plugin, which
    # would import pytest and add 0.3 s to every start.
    child = os.environ.get("INTAKE_TEST_CLOCK_CHILD") == "1" and "pytest" not in sys.modules
    if child:
        sys.modules["pytest"] = None  # type: ignore[assignment]
    import time_machine

    if child:
        del sys.modules["pytest"]
    os.environ["INTAKE_TEST_CLOCK_CHILD"] = "1"
    time_machine.travel(time.time() + float(shift), tick=True).start()
