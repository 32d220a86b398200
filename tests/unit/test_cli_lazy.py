"""expandctl imports only the module of the command it runs; its help still lists them all."""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys

import pytest

from appliance.cli import COMMANDS, build_parser, command_named

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_table_matches_what_each_module_registers(name: str) -> None:
    module, help_line = COMMANDS[name]
    sub = argparse.ArgumentParser().add_subparsers()
    importlib.import_module(module).register(sub)
    (action,) = sub._choices_actions
    assert (action.dest, action.help) == (name, help_line)


def test_help_lists_every_command_with_its_help_line() -> None:
    text = build_parser(["--help"]).format_help().replace("\n", " ")
    for name, (_, help_line) in COMMANDS.items():
        assert name in text and " ".join(help_line.split()[:3]) in " ".join(text.split())


@pytest.mark.parametrize(("argv", "name"), [
    (["support", "list"], "support"), (["-v", "ha", "status"], "ha"),
    (["--log-file", "x.log", "lab", "up"], "lab"), (["--log-file=x.log", "pbx"], "pbx"),
    (["--help"], ""), ([], "")])
def test_the_command_is_found_after_the_global_options(argv: list[str], name: str) -> None:
    assert command_named(argv) == name


def test_support_list_imports_no_other_command_module() -> None:
    code = ("import sys; from appliance.cli import build_parser, COMMAND_MODULES\n"
            "build_parser(['support', 'list']).parse_args(['support', 'list'])\n"
            "print(' '.join(m for m in COMMAND_MODULES if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    # verify.cli: 'support verify' takes the arguments of 'expandctl verify'.
    assert out == ["tunnel.support.cli", "verify.cli"]


def test_another_command_still_parses_with_its_own_options() -> None:
    args = build_parser(["support", "list", "--json"]).parse_args(["support", "list", "--json"])
    assert args.json and callable(args.func)
