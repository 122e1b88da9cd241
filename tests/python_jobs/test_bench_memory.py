"""The benchmarks' peak memory: a process tree's resident sets, a fork's shared copy of its parent counted once."""

import os
import subprocess
import sys
import time

import pytest

from python_jobs.bench.memory import PeakMemory, process_tree, rss_bytes

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc (Linux)")

HOLD_200_MB = (
    "import sys, time; block = bytearray(200 * 2**20); sys.stdout.write('ready\\n'); sys.stdout.flush(); "
    "time.sleep(30)"
)


def test_a_child_running_its_own_program_is_counted():
    child = subprocess.Popen([sys.executable, "-c", HOLD_200_MB], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == "ready\n"
        assert child.pid in process_tree(os.getpid())
        with PeakMemory(interval_seconds=0.01) as memory:
            time.sleep(0.2)
        assert memory.peak >= rss_bytes(os.getpid()) + 200 * 2**20
    finally:
        child.kill()
        child.wait()


def test_a_fork_that_runs_no_program_is_its_parents_pages_and_not_counted_again():
    ballast = bytearray(300 * 2**20)  # resident in this process, so a fork's copy would show it too
    ballast[::4096] = b"x" * len(ballast[::4096])
    pid = os.fork()
    if pid == 0:  # the fork: shares the pages, runs nothing, and leaves without Python's clean-up
        time.sleep(2)
        os._exit(0)
    try:
        time.sleep(0.2)
        assert pid not in process_tree(os.getpid())
        with PeakMemory(interval_seconds=0.01) as memory:
            time.sleep(0.2)
        assert memory.peak < 1.5 * rss_bytes(os.getpid())
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    del ballast
