"""Docs that are tested: every command and option a user can type is in the README."""

from __future__ import annotations

from pathlib import Path

import click

from disbursement.cli import cli

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def commands(group: click.Group, prefix: str = ""):
    for name, command in group.commands.items():
        yield f"{prefix}{name}", command
        if isinstance(command, click.Group):
            yield from commands(command, f"{prefix}{name} ")


def test_every_command_has_help_and_is_in_the_readme():
    for path, command in commands(cli):
        assert command.help, f"{path} has no help text"
        leaf = path.split()[-1]
        assert f"disbursement {path}" in README or f" {leaf} " in README or f"| {leaf}" in README, (
            f"command {path!r} is not documented in README.md")


def test_every_review_option_is_in_the_readme():
    review = cli.commands["review"]
    for param in review.params:
        if isinstance(param, click.Option) and not param.hidden:
            assert any(opt in README for opt in param.opts), f"review {param.opts} not in README"


def test_readme_states_the_two_setup_commands():
    assert "make demo" in README and "make test" in README
