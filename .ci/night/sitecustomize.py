"""Imported by every Python process of CI's night-time run (``PYTHONPATH=.ci/night``): moves
the wall clock by ``INTAKE_TEST_CLOCK_SHIFT`` seconds with time-machine, so the test process and
the worker, gunicorn and CLI processes it starts all read the same fake time, which then runs on.
Monotonic clocks stay real, so timeouts and sleeps behave."""

import os

if shift := os.environ.get("INTAKE_TEST_CLOCK_SHIFT"):
    import time

    import time_machine

    time_machine.travel(time.time() + float(shift), tick=True).start()
