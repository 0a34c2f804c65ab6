"""--help for every command, and the one table of finder options behind them."""

from __future__ import annotations

import argparse
from typing import Callable, Dict, List

import pytest

import peep

PARSERS: Dict[str, Callable[[], argparse.ArgumentParser]] = {
    "install": peep.install_argument_parser,
    "hash": peep.hash_argument_parser,
    "port": peep.port_argument_parser,
    "check": peep.check_argument_parser,
}


def shown_metavar(action: argparse.Action) -> str:
    """Return the metavar argparse prints for an action that takes a value."""
    if action.metavar is not None:
        return str(action.metavar)
    if action.choices is not None:
        return "{" + ",".join(str(choice) for choice in action.choices) + "}"
    return action.dest.upper() if action.option_strings else action.dest


@pytest.mark.parametrize("command", sorted(PARSERS))
def test_every_shown_option_has_help_and_a_sensible_metavar(command: str) -> None:
    parser = PARSERS[command]()
    shown = [action for action in parser._actions if action.help != argparse.SUPPRESS]
    assert len(shown) > 3
    for action in shown:
        name = "/".join(action.option_strings) or action.dest
        assert action.help and action.help.strip(), f"{command} {name} has no help"
        assert "\n" not in action.help, f"{command} {name}: help is more than one line"
        if action.nargs == 0:
            continue
        metavar = shown_metavar(action)
        assert "_" not in metavar, f"{command} {name} shows metavar {metavar!r}"
        assert not metavar.startswith("-"), f"{command} {name} shows metavar {metavar!r}"
    assert "_" not in parser.format_usage()


@pytest.mark.parametrize("command", sorted(PARSERS))
def test_help_through_main_lists_every_shown_option(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert peep.main([command, "--help"]) == peep.EXIT_OK
    text = capsys.readouterr().out
    assert text.startswith(f"usage: peep {command} ")
    for action in PARSERS[command]()._actions:
        if action.help == argparse.SUPPRESS:
            for flag in action.option_strings:
                assert f"{flag} " not in text and f"{flag}," not in text
            continue
        for flag in action.option_strings:
            assert flag in text, f"peep {command} --help does not show {flag}"
        assert "".join(str(action.help).split()) in "".join(text.split())


@pytest.mark.parametrize("command", ["install", "hash", "port"])
def test_every_finder_option_is_in_the_help(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert peep.main([command, "--help"]) == peep.EXIT_OK
    text = capsys.readouterr().out
    for option in peep.FINDER_OPTIONS:
        for flag in option.flags:
            shown = f"{flag} {option.metavar}" if option.metavar else flag
            assert shown in " ".join(text.split()), f"peep {command} --help lacks {shown!r}"
        assert "".join(option.help.split()) in "".join(text.split())


def test_top_level_help_names_every_command_and_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert peep.main(["--help"]) == peep.EXIT_OK
    text = capsys.readouterr().out
    for word in list(PARSERS) + ["--help", "--version"]:
        assert word in text


def hidden_options() -> List[str]:
    parser = peep.install_argument_parser()
    return [
        action.option_strings[-1]
        for action in parser._actions
        if action.help == argparse.SUPPRESS
    ]


def test_install_hides_only_options_it_refuses() -> None:
    assert set(hidden_options()) == {
        "--python", "--platform", "--python-version", "--implementation", "--abi",
        "--no-build-isolation", "--no-use-pep517", "--global-option", "--build-option",
        "--keyring-provider",
    }  # fmt: skip


@pytest.mark.parametrize("flag", hidden_options())
def test_a_hidden_install_option_is_refused_with_a_message(flag: str) -> None:
    parser = peep.install_argument_parser()
    action = next(action for action in parser._actions if flag in action.option_strings)
    words = ["-r", "requirements.txt", flag] + ([] if action.nargs == 0 else ["x"])
    with pytest.raises(peep.UsageError, match=f"{flag} is not supported"):
        peep.parse_install_arguments(words)


# --- the finder option table feeds all three readers -----------------------------

SAMPLE_VALUES = {"value": "https://example.invalid/simple", "list": "a.invalid b.invalid",
                 "names": ":all:", "flag": "yes"}  # fmt: skip
NUMERIC = {"timeout": "7", "retries": "3", "uploaded-prior-to": "P3D"}


@pytest.mark.parametrize("option", peep.FINDER_OPTIONS, ids=lambda option: option.name)
def test_each_finder_option_reaches_its_setting_from_the_command_line(
    option: peep.Option,
) -> None:
    value = NUMERIC.get(option.name, "x.invalid")
    words = [option.flags[-1]] + ([] if option.how == "flag" else [value])
    parsed = peep.parse_install_arguments(["-r", "requirements.txt"] + words)
    expected = (option.name, True if option.how == "flag" else value)
    collected = parsed.network_options if option.network else parsed.finder_options
    assert collected == (expected,)
    assert parsed.pip_options == (tuple(words) if option.also_pip else ())


@pytest.mark.parametrize(
    "option", [option for option in peep.FINDER_OPTIONS if option.config],
    ids=lambda option: option.name,
)
def test_each_configuration_key_changes_its_setting(option: peep.Option) -> None:
    default = peep.settings_from_configuration({}, {})
    for key in option.config:
        value = NUMERIC.get(option.name, SAMPLE_VALUES[option.how])
        if option.name == "cert" or option.name == "client-cert" or option.name == "cache-dir":
            value = "/nowhere"
        finder, network = peep.settings_from_configuration({f"global.{key}": value}, {})
        if option.network:
            assert network != default[1] and finder == default[0], key
        else:
            assert finder != default[0] and network == default[1], key
            assert getattr(finder, option.setting) != getattr(default[0], option.setting), key


def test_every_finder_option_is_read_from_configuration() -> None:
    assert [option.name for option in peep.FINDER_OPTIONS if not option.config] == []


def test_unknown_configuration_keys_are_ignored() -> None:
    config = {"global.no-such-key": "1", "global.format": "columns", "global.hash": "x"}
    assert peep.settings_from_configuration(config, {}) == peep.settings_from_configuration({}, {})


@pytest.mark.parametrize(
    "option", [option for option in peep.FINDER_OPTIONS if option.in_file],
    ids=lambda option: option.name,
)
def test_each_file_option_is_read_from_a_requirements_file(option: peep.Option) -> None:
    words = option.flags[0] + ("" if option.how == "flag" else " x.invalid")
    parsed = peep.parse_line_options(words, peep.Origin("requirements.txt", 1))
    assert parsed == [(option.name, True if option.how == "flag" else "x.invalid")]


@pytest.mark.parametrize(
    "option", [option for option in peep.FINDER_OPTIONS if not option.in_file],
    ids=lambda option: option.name,
)
def test_network_options_are_not_requirements_file_options(option: peep.Option) -> None:
    with pytest.raises(peep.RequirementsFileError, match="no such option"):
        peep.parse_line_options(f"{option.flags[0]} x", peep.Origin("requirements.txt", 1))


@pytest.mark.parametrize("argv", [[], ["help"], ["--help"], ["-h"]])
def test_peep_alone_or_help_shows_peeps_own_usage(argv: List[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert peep.main(argv) == peep.EXIT_OK
    out = capsys.readouterr().out
    assert out == peep.HELP and "peep install -r FILE" in out


@pytest.mark.parametrize("command", sorted(PARSERS))
def test_help_command_shows_peeps_help_for_its_own_commands(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert peep.main(["help", command]) == peep.EXIT_OK
    assert capsys.readouterr().out.startswith(f"usage: peep {command} ")


def test_a_usage_error_ends_with_the_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert peep.main(["install", "--bogus-option"]) == peep.EXIT_USAGE
    err = capsys.readouterr().err
    assert err.rstrip().splitlines()[-1] == "peep install: unrecognized arguments: --bogus-option"
    assert len(err.splitlines()) <= 3  # a pointer to --help, not twenty lines of usage
