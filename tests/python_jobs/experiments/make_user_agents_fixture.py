"""How `user_agents.csv` was assembled (kept to reproduce it; not a test and not run by the suite).

The agents are real ones, labelled by hand in the test fixtures that device-detector (the Python port of Matomo's
detector) ships: a random sample (seed 2026) of 95 smartphones and 15 phablets (our `mobile`), 80 tablets, 80
desktops and 60 bots, single-line and under 600 characters. Run it with device-detector installed
(`pip install device-detector==6.5.1`): `python tests/python_jobs/experiments/make_user_agents_fixture.py`.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

import yaml

SAMPLE = {"mobile": {"smartphone*.yml": 95, "phablet*.yml": 15}, "tablet": {"tablet*.yml": 80}}
SAMPLE |= {"desktop": {"desktop*.yml": 80}, "bot": {"bots.yml": 60}}


def fixture_agents(fixtures: Path, pattern: str) -> list[tuple[str, str]]:
    found = []
    for path in sorted(fixtures.glob(pattern)):
        for entry in yaml.load(path.read_text(), Loader=yaml.CSafeLoader) or []:
            agent = entry.get("user_agent")
            if agent and "\n" not in agent and len(agent) < 600:
                found.append((agent, path.name))
    return found


def main() -> None:
    import device_detector

    fixtures = Path(device_detector.__file__).parent / "tests" / "fixtures" / "upstream"
    rng = random.Random(2026)
    with (Path(__file__).parent / "user_agents.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["expected_device", "fixture_file", "user_agent"])
        for device, patterns in SAMPLE.items():
            for pattern, count in patterns.items():
                for agent, name in rng.sample(fixture_agents(fixtures, pattern), count):
                    writer.writerow([device, name, agent])


if __name__ == "__main__":
    main()
