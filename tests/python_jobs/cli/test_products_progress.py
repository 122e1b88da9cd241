"""The product run's progress bar: rich on a terminal, plain throttled lines elsewhere."""

from __future__ import annotations

import io

from python_jobs.cli.products import ProgressDisplay
from python_jobs.product_segmentation.job import RunProgress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def feed(display: ProgressDisplay) -> None:
    for done in range(0, 101, 5):
        stage = "extraction" if done < 50 else "refinement"
        display(RunProgress("RUN_x", stage, 0, 1, 0, 0, 0, 1, done, 100, float(done), 10, 0))
    display.echo("Run RUN_x done.")
    display.finish()


def test_on_a_terminal_the_bar_is_rich():
    stream = Terminal()
    feed(ProgressDisplay(stream))
    screen = stream.getvalue()
    assert "━" in screen  # rich's bar, not a hand-drawn one
    assert "refinement" in screen
    assert "calls 100/100" in screen
    assert "Run RUN_x done." in screen


def test_off_a_terminal_there_are_no_escape_codes():
    stream = io.StringIO()
    feed(ProgressDisplay(stream))
    text = stream.getvalue()
    assert "\x1b" not in text
    assert "\r" not in text
    assert text.splitlines()[-1].startswith("100.0%  refinement")
