"""README's table of training options is the truth: every cell matches what the command takes."""

from __future__ import annotations

import re
from pathlib import Path

import typer.main

from embedlab.cli.app import app

README = Path(__file__).resolve().parents[1] / "README.md"


def _table() -> tuple[list[str], list[list[str]]]:
    lines = README.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| option | train word2vec"))
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows[0][1:], rows[2:]


def _options(command: str) -> set[str]:
    group, name = command.split()
    cli = typer.main.get_command(app)
    cmd = cli.commands[group].commands[name]  # type: ignore[attr-defined]
    return {opt for p in cmd.params for opt in (*p.opts, *p.secondary_opts)}


def test_the_readme_options_table_matches_the_commands() -> None:
    commands, rows = _table()
    assert len(commands) == 9 and len(rows) >= 15
    options = {c: _options(c) for c in commands}
    for row in rows:
        names = re.findall(r"`(--[a-z-]+)`", row[0])
        assert names, row
        for command, cell in zip(commands, row[1:], strict=True):
            has = cell.startswith("yes")
            assert has or cell.startswith("-"), (row[0], command, cell)
            for name in names:
                assert (name in options[command]) == has, f"{name} on {command}: README says {cell}"


def test_the_table_would_catch_a_wrong_cell() -> None:
    # the check above is not vacuous: glove has no --resume, bilm no --precision
    assert "--resume" not in _options("train glove") and "--resume" in _options("train word2vec")
    assert "--precision" not in _options("pretrain bilm")
    assert "--no-lowercase" in _options("train fasttext")
