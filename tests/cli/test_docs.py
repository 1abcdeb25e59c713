"""Docs that are tested: every command and option a user can type is in the README."""

from __future__ import annotations

import re
from pathlib import Path

import click

from disbursement.cli import cli

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def commands(group: click.Group, prefix: str = ""):
    for name, command in group.commands.items():
        yield f"{prefix}{name}", command
        if isinstance(command, click.Group):
            yield from commands(command, f"{prefix}{name} ")


def test_every_command_has_help_and_is_in_the_readme():
    for path, command in commands(cli):
        assert command.help, f"{path} has no help text"
        *group, leaf = path.split()
        # In the usage block: "disbursement review …", or "disbursement audit runs | show RUN …".
        usage = rf"disbursement {path}\b" if not group else rf"(disbursement {group[0]} |\|\s*){leaf}\b"
        assert re.search(usage, README), f"command {path!r} is not in the README's usage block"


def test_every_review_option_is_in_the_readme():
    review = cli.commands["review"]
    for param in review.params:
        if isinstance(param, click.Option) and not param.hidden:
            assert any(opt in README for opt in param.opts), f"review {param.opts} not in README"


def test_readme_states_the_two_setup_commands():
    assert "make demo" in README and "make test" in README
