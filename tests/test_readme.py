"""The README opens with the two set-up commands, and CI runs exactly its test command."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _opening_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```bash\n(.+?)\n```", text)[:2]


def test_readme_opens_with_an_install_and_launch_and_an_install_and_test_command():
    launch, test = _opening_commands()
    assert "pip install ." in launch and launch.rstrip().endswith("cnnviz")
    assert 'pip install ".[test]"' in test


def test_ci_runs_exactly_the_readme_test_command():
    test_command = _opening_commands()[1].split("&&")[-1].strip()
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert test_command in ci_lines
    assert any(line.startswith('python -m pip install -q ".[test]"') for line in ci_lines)

