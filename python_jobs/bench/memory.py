"""Peak resident memory of a process tree, sampled from /proc, and the load average the machine ran at: what every
benchmark reports beside its times."""

from __future__ import annotations

import os
import threading

# The kernel's flag of a process forked and not (yet) running a program of its own: it shares its parent's pages
# (a JVM starting a helper program, for one, is such a copy of the whole JVM for a moment), so its resident set is
# the parent's counted twice.
FORKED_NOT_EXECUTED = 0x40


def process_tree(root: int) -> list[int]:
    """`root` and its descendants, less those forked but not running a program of their own (see above)."""
    children: dict[int, list[int]] = {}
    copies: set[int] = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            parent, flags = int(fields[1]), int(fields[6])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry))
        if flags & FORKED_NOT_EXECUTED:
            copies.add(int(entry))
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        if pid == root or pid not in copies:
            found.append(pid)
        stack.extend(children.get(pid, []))
    return found


def rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class _Sampler:
    """Calls `take()` every `interval` seconds in a background thread while the `with` block runs (and once at
    its start)."""

    def __init__(self, interval_seconds: float) -> None:
        self.interval = interval_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def take(self) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        while True:
            self.take()
            if self._stop.wait(self.interval):
                return

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


class PeakMemory(_Sampler):
    """Samples the resident memory of a process tree (this process's, or `pid`'s) in a background thread; Linux
    only (0 elsewhere)."""

    def __init__(self, pid: int | None = None, interval_seconds: float = 0.05) -> None:
        super().__init__(interval_seconds)
        self.pid = os.getpid() if pid is None else pid
        self.peak = 0

    def take(self) -> None:
        if os.path.isdir("/proc"):
            self.peak = max(self.peak, sum(rss_bytes(pid) for pid in process_tree(self.pid)))


class LoadAverage(_Sampler):
    """The machine's 1-minute load average, sampled every few seconds in a background thread while a benchmark
    runs: on a shared machine, what the figures were measured under (None where the OS does not say)."""

    def __init__(self, interval_seconds: float = 5.0) -> None:
        super().__init__(interval_seconds)
        self.samples: list[float] = []

    def take(self) -> None:
        if hasattr(os, "getloadavg"):
            self.samples.append(os.getloadavg()[0])

    @property
    def mean(self) -> float | None:
        return sum(self.samples) / len(self.samples) if self.samples else None
