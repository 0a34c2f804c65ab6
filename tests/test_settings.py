"""pip's install settings: from its files, PIP_* and the command line, honoured or refused.

Every pip install option is one row of peep.PIP_OPTIONS (or peep.FINDER_OPTIONS);
these tests read the words peep hands to pip, or the refusal naming where a
setting came from. None may be dropped without a word.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import pytest
from conftest import venv_python
from helpers import (
    serve_upload_times,
    Deploy,
    Served,
    block,
    hermetic_env,
    installed_in,
    peep_hash,
    run_peep,
    sdist_bytes,
    wheel_bytes,
)

import peep


def settle(
    tmp_path: Path,
    config: Optional[str] = None,
    env: Optional[Dict[str, str]] = None,
    argv: Sequence[str] = (),
) -> peep.InstallOptions:
    """Parse ``peep install -r r.txt ARGV`` under a pip.conf of ``config`` and ``env``."""
    environ = {"HOME": str(tmp_path), "XDG_CONFIG_DIRS": str(tmp_path / "xdg")}
    environ["PIP_CONFIG_FILE"] = os.devnull
    if config is not None:
        (tmp_path / "pip.conf").write_text(config)
        environ["PIP_CONFIG_FILE"] = str(tmp_path / "pip.conf")
    environ.update(env or {})
    return peep.parse_install_arguments(["-r", "r.txt", *argv], environ)


# --- one row per setting: where it is set, and the words pip gets -------------------

HONOURED = [
    ("[install]\ntarget = /f\n", {}, [], ("--target", "/f")),
    (None, {"PIP_TARGET": "/e"}, [], ("--target", "/e")),
    ("[install]\ntarget = /f\n", {"PIP_TARGET": "/e"}, [], ("--target", "/e")),
    (None, {"PIP_TARGET": "/e"}, ["--target", "/c"], ("--target", "/e", "--target", "/c")),
    ("[global]\nprefix = /g\n[install]\nprefix = /i\n", {}, [], ("--prefix", "/i")),
    (None, {"PIP_ROOT": "/r"}, [], ("--root", "/r")),
    (None, {"PIP_USER": "yes"}, [], ("--user",)),
    ("[install]\nuser = yes\n", {"PIP_USER": "no"}, [], ()),
    # pip reads a --no-X setting's yes/no as X's: PIP_NO_COMPILE=0 means "do not compile".
    (None, {"PIP_NO_COMPILE": "0"}, [], ("--no-compile",)),
    (None, {"PIP_NO_COMPILE": "1"}, [], ("--compile",)),
    (None, {"PIP_NO_COMPILE": "0"}, ["--compile"], ("--no-compile", "--compile")),
    (None, {"PIP_NO_WARN_SCRIPT_LOCATION": "false"}, [], ("--no-warn-script-location",)),
    (None, {"PIP_NO_WARN_SCRIPT_LOCATION": "true"}, [], ()),
    (None, {"PIP_BREAK_SYSTEM_PACKAGES": "1"}, [], ("--break-system-packages",)),
    (None, {"PIP_REQUIRE_VIRTUALENV": "true"}, [], ("--require-virtualenv",)),
    (None, {"PIP_UPGRADE": "1"}, [], ("--upgrade",)),
    (None, {"PIP_FORCE_REINSTALL": "on"}, [], ("--force-reinstall",)),
    ("[install]\nignore-installed = yes\n", {}, [], ("--ignore-installed",)),
    ("[global]\nprogress-bar = on\n[install]\nprogress_bar = off\n", {}, [], ("--progress-bar", "off")),
    (None, {"PIP_ROOT_USER_ACTION": "ignore"}, [], ("--root-user-action", "ignore")),
    (None, {"PIP_UPGRADE_STRATEGY": "eager"}, [], ("--upgrade-strategy", "eager")),
    (None, {"PIP_SRC": "/s"}, [], ("--src", "/s")),
    (None, {"PIP_EXISTS_ACTION": "w"}, [], ("--exists-action", "w")),
    (None, {"PIP_USE_PEP517": "1"}, [], ("--use-pep517",)),
    (None, {"PIP_VERBOSE": "2"}, [], ("--verbose", "--verbose")),
    (None, {"PIP_CONFIG_SETTINGS": "a=1 b=2"}, [], ("--config-settings", "a=1", "--config-settings", "b=2")),
    (None, {"PIP_NO_DEPS": "1", "PIP_REQUIRE_HASHES": "1"}, [], ()),  # always on in peep
    (None, {"PIP_TARGET": "/e"}, ["--isolated"], ("--isolated",)),  # --isolated: no PIP_*
]


@pytest.mark.parametrize("config, env, argv, words", HONOURED)
def test_each_install_setting_reaches_pip_as_an_option(
    tmp_path: Path, config: Optional[str], env: Dict[str, str], argv: Sequence[str], words: Tuple[str, ...]
) -> None:
    assert settle(tmp_path, config, env, argv).pip_options == words


def test_the_command_line_wins_over_the_environment_over_files(tmp_path: Path) -> None:
    options = settle(tmp_path, "[install]\ntarget = /f\nroot = /rf\n", {"PIP_TARGET": "/e"}, ["-t", "/c"])
    assert (options.pip_value("-t", "--target"), options.pip_value("--root")) == ("/c", "/rf")
    command = peep.pip_install_command([], options, "links", str(tmp_path / "reqs.txt"))
    given = command[command.index("--disable-pip-version-check") + 1:command.index("--no-compile")]
    given = [word for word in given if word != "--quiet"]  # peep's own default, before the user's
    assert given == ["--target", "/e", "--root", "/rf", "-t", "/c"]


def test_constraint_and_build_constraint_files_are_read_by_peep(tmp_path: Path) -> None:
    options = settle(
        tmp_path,
        "[install]\nconstraint = f1.txt f2.txt\nbuild-constraint = b1.txt\n",
        {"PIP_BUILD_CONSTRAINT": "b2.txt"},
        ["-c", "c.txt", "--build-constraint", "b3.txt"],
    )
    assert options.constraints == ("f1.txt", "f2.txt", "c.txt")
    assert options.build_constraints == ("b2.txt", "b3.txt")
    assert options.pip_options == ()  # neither reaches pip


def test_pip_configuration_is_read_once_per_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pip's install settings and peep's finder settings come from one reading of its files."""
    (tmp_path / "r.txt").write_text("")
    (tmp_path / "pip.conf").write_text("[install]\ntarget = /f\nindex-url = https://i.invalid/\n")
    environ = {"HOME": str(tmp_path), "PIP_CONFIG_FILE": str(tmp_path / "pip.conf")}
    read: List[str] = []
    real = peep._read_config_file
    monkeypatch.setattr(peep, "_read_config_file", lambda path: read.append(path) or real(path))
    options = peep.parse_install_arguments(["-r", str(tmp_path / "r.txt")], environ)
    _, finder, _ = peep.load_requirements(options, environ)
    assert (options.pip_options, finder.index_url) == (("--target", "/f"), "https://i.invalid/")
    assert read.count(str(tmp_path / "pip.conf")) == 1


# --- refused, saying where ----------------------------------------------------------

BUILD_ISOLATION = "it lets a build import whatever is installed"
REFUSED = [
    ({"PIP_NO_BUILD_ISOLATION": "0"}, "PIP_NO_BUILD_ISOLATION (--no-build-isolation)", BUILD_ISOLATION),
    ({"PIP_NO_USE_PEP517": "1"}, "PIP_NO_USE_PEP517 (--no-use-pep517)", "it makes pip run setup.py"),
    ({"PIP_PLATFORM": "win32"}, "PIP_PLATFORM (--platform)", "peep chooses and verifies files"),
    ({"PIP_PYTHON": "/usr/bin/python3"}, "PIP_PYTHON (--python)", "run peep with that Python instead"),
    ({"PIP_KEYRING_PROVIDER": "subprocess"}, "PIP_KEYRING_PROVIDER (--keyring-provider)", "no keyring"),
    ({"PIP_EDITABLE": "."}, "PIP_EDITABLE (--editable)", "no archive to hash"),
    ({"PIP_GROUP": "dev"}, "PIP_GROUP (--group)", "dependency groups from lock files only"),
]


@pytest.mark.parametrize("env, where, why", REFUSED)
def test_a_refused_setting_from_the_environment_names_the_variable(
    tmp_path: Path, env: Dict[str, str], where: str, why: str
) -> None:
    with pytest.raises(peep.UsageError) as info:
        settle(tmp_path, env=env)
    assert str(info.value).startswith(f"peep install: {where} is not supported: ")
    assert why in str(info.value)


def test_a_refused_setting_from_a_file_names_the_file_section_and_key(tmp_path: Path) -> None:
    with pytest.raises(peep.UsageError) as info:
        settle(tmp_path, "[global]\nno-build-isolation = false\n")
    assert str(info.value).startswith(
        f"peep install: 'no-build-isolation' in {tmp_path / 'pip.conf'} [global] "
        "(--no-build-isolation) is not supported: it lets a build import"
    )


def test_a_bad_yes_or_no_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(peep.PeepError, match=r"^'maybe' is not a valid value for --user in PIP_USER \(use yes or no\)$"):
        settle(tmp_path, env={"PIP_USER": "maybe"})


# --- the whole table: every row from PIP_*, a file and the command line ------------

SAMPLE = {"value": "/x", "list": "a=1", "flag": "yes", "inverted": "no", "count": "1", "peep": "f.txt"}


def _expected_words(option: peep.Option) -> Tuple[str, ...]:
    flag = "--" + option.name
    return () if option.how == "peep" else (flag,) if option.metavar is None else (flag, SAMPLE[option.how])


@pytest.mark.parametrize("option, place", [
    (option, place) for option in peep.PIP_OPTIONS for place in ("env", "file", "command line")
    if place != "command line" or option.how != "peep"  # there, peep's own options
], ids=lambda value: getattr(value, "name", value))
def test_every_pip_install_option_is_honoured_or_refused_from_everywhere(
    tmp_path: Path, option: peep.Option, place: str
) -> None:
    value = SAMPLE[option.how]
    if place == "env":
        call = lambda: settle(tmp_path, env={"PIP_" + option.name.upper().replace("-", "_"): value})  # noqa: E731
    elif place == "file":
        call = lambda: settle(tmp_path, f"[install]\n{option.name} = {value}\n")  # noqa: E731
    else:
        call = lambda: settle(tmp_path, argv=["--" + option.name] + ([value] if option.metavar else []))  # noqa: E731
    if option.refused:
        with pytest.raises(peep.UsageError, match=f"is not supported: {option.refused[:20]}"):
            call()
    else:
        assert call().pip_options == _expected_words(option)


@pytest.mark.parametrize("flag, metavar", [
    (flag, option.metavar) for option in peep.PIP_OPTIONS if option.how == "peep" for flag in option.flags
])
def test_every_name_of_peeps_own_options_is_taken_on_the_command_line(flag: str, metavar: Optional[str]) -> None:
    """Under each of pip's names for it, as from pip's configuration: --no-dependencies is --no-deps."""
    options = peep.parse_install_arguments(["-r", "r.txt", flag] + (["x"] if metavar else []))
    assert options.pip_options == ()  # peep's own, never pip's


# --- end to end: the real pip gets the setting ---------------------------------------


def test_pip_target_from_the_environment_and_from_a_file_is_where_pip_installs(
    deploy: Deploy, tmp_path: Path, bare_venv: Path
) -> None:
    # Run by a throwaway venv's Python: were the setting dropped, pip would install there.
    python = venv_python(bare_venv)
    wheel = deploy.index.add(wheel_bytes("alpha", "1.0"))
    deploy.write(block(wheel.data, "alpha==1.0"))
    from_env = tmp_path / "from-env"
    result = run_peep("install", "-r", str(deploy.requirements), *deploy.finder,
                      env=hermetic_env(PIP_TARGET=str(from_env)), python=python)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert installed_in(from_env) == {"alpha": "1.0"}
    from_file = tmp_path / "from-file"
    (tmp_path / "pip.conf").write_text(f"[install]\ntarget = {from_file}\n")
    result = run_peep("install", "-r", str(deploy.requirements), *deploy.finder, python=python,
                      env=hermetic_env(PIP_CONFIG_FILE=str(tmp_path / "pip.conf")))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert installed_in(from_file) == {"alpha": "1.0"}


def test_a_refused_variable_stops_the_install_before_anything_is_fetched(deploy: Deploy) -> None:
    wheel = deploy.index.add(wheel_bytes("alpha", "1.0"))
    deploy.write(block(wheel.data, "alpha==1.0"))
    result = deploy.install(env=deploy.env(PIP_NO_BUILD_ISOLATION="0"))
    assert result.returncode == peep.EXIT_USAGE
    assert "PIP_NO_BUILD_ISOLATION (--no-build-isolation) is not supported" in result.stderr
    assert deploy.index.requests == [] and deploy.installed() == {}


def test_resume_retries_is_taken_and_has_no_effect(deploy: Deploy) -> None:
    """pip 25.1's option: pip downloads nothing under peep, so it is accepted and unused."""
    archive = deploy.index.add(wheel_bytes("alpha", "1.0"))
    deploy.write(block(archive.data, "alpha==1.0"))
    result = deploy.install("--resume-retries", "3", env=deploy.env(PIP_RESUME_RETRIES="2"))
    assert result.returncode == 0, result.stderr
    assert deploy.installed() == {"alpha": "1.0"}


def test_pip_constraint_from_the_environment_narrows_what_is_installed(deploy: Deploy, tmp_path: Path) -> None:
    old = deploy.index.add(wheel_bytes("alpha", "1.0"))
    new = deploy.index.add(wheel_bytes("alpha", "2.0"))
    deploy.write(f"# sha256: {peep_hash(old.data)}\n# sha256: {peep_hash(new.data)}\nalpha\n")
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("alpha==1.0\n")
    result = deploy.install(env=deploy.env(PIP_CONSTRAINT=str(constraints)))
    assert result.returncode == 0, result.stderr
    assert deploy.installed() == {"alpha": "1.0"}


# --- --uploaded-prior-to ------------------------------------------------------------


def two_releases(deploy: Deploy) -> Tuple[Served, Served]:
    """alpha 1.0 uploaded in January, 2.0 on 2026-03-24; the file takes either."""
    old = deploy.index.add(wheel_bytes("alpha", "1.0"))
    new = deploy.index.add(wheel_bytes("alpha", "2.0"))
    deploy.write(f"# sha256: {peep_hash(old.data)}\n# sha256: {peep_hash(new.data)}\nalpha\n")
    return old, new


@pytest.mark.parametrize("when", ["2026-03-01T00:00:00Z", "2026-03-24T10:00:00+00:00"])
def test_uploaded_prior_to_passes_over_newer_uploads(deploy: Deploy, when: str) -> None:
    old, new = two_releases(deploy)
    serve_upload_times(deploy.index, {old.filename: "2026-01-05T08:00:00.123456Z",
                                      new.filename: "2026-03-24T10:39:00Z"})  # fmt: skip
    result = deploy.install("--uploaded-prior-to", when)
    assert result.returncode == 0, result.stderr
    assert deploy.installed() == {"alpha": "1.0"}
    assert f"/files/{new.filename}" not in deploy.index.file_requests()


def test_uploaded_prior_to_from_the_environment_in_days(deploy: Deploy) -> None:
    old, new = two_releases(deploy)
    serve_upload_times(deploy.index, {old.filename: "2000-01-01T00:00:00Z",
                                      new.filename: "2999-01-01T00:00:00Z"})  # fmt: skip
    result = deploy.install(env=deploy.env(PIP_UPLOADED_PRIOR_TO="P7D"))
    assert result.returncode == 0, result.stderr
    assert deploy.installed() == {"alpha": "1.0"}


def test_uploaded_prior_to_refuses_an_index_page_without_upload_times(deploy: Deploy) -> None:
    two_releases(deploy)
    deploy.index.json_api = False
    result = deploy.install("--uploaded-prior-to", "P3D")
    assert result.returncode == 1
    assert "gives no upload time for 'alpha-1.0-py3-none-any.whl', so --uploaded-prior-to cannot be applied" in result.stderr
    assert deploy.installed() == {}


def test_uploaded_prior_to_leaves_find_links_places_alone(deploy: Deploy, tmp_path: Path) -> None:
    filename, data = wheel_bytes("alpha", "1.0")
    (tmp_path / "links").mkdir()
    (tmp_path / "links" / filename).write_bytes(data)
    deploy.write(block(data, "alpha==1.0"))
    result = deploy.install("--uploaded-prior-to", "P3D", finder=["--no-index", "-f", str(tmp_path / "links")])
    assert result.returncode == 0, result.stderr
    assert deploy.installed() == {"alpha": "1.0"}


@pytest.fixture
def tokyo(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run in a time zone nine hours ahead of UTC, as a deploy host may."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("tokyo")
@pytest.mark.parametrize("uploaded", ["2026-03-24T10:39:00", "2026-03-24T10:39:00Z"])
def test_an_index_upload_time_is_utc_even_without_a_zone(uploaded: str) -> None:
    """PEP 700 times are UTC: local time would make a fresh upload nine hours older here."""
    cutoff = peep.upload_cutoff("2026-03-24T05:00:00Z", "the command line")
    link = peep.Link("https://127.0.0.1:9/alpha-2.0-py3-none-any.whl", upload_time=uploaded)
    assert peep.uploaded_before([link], cutoff, "https://127.0.0.1:9/simple/alpha/") == []


@pytest.mark.parametrize("command", ["install", "hash"])
def test_a_bad_uploaded_prior_to_is_a_usage_error(tmp_path: Path, command: str) -> None:
    (tmp_path / "r.txt").write_text("")
    words = ["-r", str(tmp_path / "r.txt")] if command == "install" else ["alpha==1.0"]
    result = run_peep(command, *words, "--uploaded-prior-to", "last tuesday", "--index-url", "http://127.0.0.1:9/")
    assert result.returncode == peep.EXIT_USAGE, result.stderr
    assert "--uploaded-prior-to 'last tuesday' (from the command line) is not a moment" in result.stderr


@pytest.mark.parametrize("command", ["install", "hash", "lock"])
@pytest.mark.parametrize("option, value, what", [
    ("--timeout", "soon", "a number of seconds above 0"),
    ("--timeout", "-1", "a number of seconds above 0"),  # these four crashed the socket or the
    ("--timeout", "nan", "a number of seconds above 0"),  # retry loop (exit 3) once
    ("--timeout", "inf", "a number of seconds above 0"),
    ("--retries", "-1", "a count, 0 or more"),
])
def test_a_number_option_that_is_not_one_is_a_usage_error(tmp_path: Path, command: str, option: str,
                                                          value: str, what: str) -> None:
    words = {"install": ["-r", str(tmp_path / "r.txt")], "hash": ["alpha==1.0"], "lock": ["-r", str(tmp_path / "r.txt")]}
    (tmp_path / "r.txt").write_text("")
    result = run_peep(command, *words[command], option, value, "--index-url", "http://127.0.0.1:9/")
    assert result.returncode == peep.EXIT_USAGE, result.stderr
    assert result.stderr.strip().splitlines()[-1] == f"peep: {option} {value!r} is not {what}"


@pytest.mark.parametrize("place", ["command line", "env"])
def test_a_proxy_is_not_a_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, place: str) -> None:
    """pip expands "~" in --cert, --client-cert and --cache-dir only: a proxy stays as written."""
    monkeypatch.setenv("HOME", str(tmp_path))
    given = {"proxy": "~/p:3128", "cert": "~/ca.pem"}
    environ = {"PIP_CONFIG_FILE": os.devnull}
    argv = ["-r", "r.txt"]
    if place == "env":
        environ.update({f"PIP_{key.upper()}": value for key, value in given.items()})
    else:
        argv += [word for key, value in given.items() for word in (f"--{key}", value)]
    _, network = peep.settle_settings(peep.parse_install_arguments(argv, environ), environ)
    assert (network.proxy, network.cert) == ("~/p:3128", str(tmp_path / "ca.pem"))


@pytest.mark.parametrize("flag", ["--index-url", "--extra-index-url", "--find-links"])
def test_an_index_url_that_does_not_split_is_a_usage_error(tmp_path: Path, flag: str) -> None:
    (tmp_path / "r.txt").write_text("")
    result = run_peep("install", "-r", str(tmp_path / "r.txt"), flag, "http://[x/")
    assert result.returncode == peep.EXIT_USAGE, result.stderr
    assert f"peep: {flag} 'http://[x/' (from the command line) is not a valid URL (Invalid IPv6 URL)" in result.stderr


@pytest.mark.parametrize("text, expected", [
    ("P3D", 1_000_000.0 - 3 * 86400),
    ("P0D", 1_000_000.0),
    ("2026-03-24T10:39:00Z", 1774348740.0),
    ("2026-03-24T12:39:00+02:00", 1774348740.0),
])
def test_upload_cutoff_grammar(text: str, expected: float) -> None:
    assert peep.upload_cutoff(text, "x", now=1_000_000.0) == expected


def test_a_naive_uploaded_prior_to_is_local_time() -> None:
    import datetime
    assert peep.upload_cutoff("2026-03-24T10:39:00", "x") == datetime.datetime(2026, 3, 24, 10, 39).timestamp()


@pytest.mark.parametrize("text", ["", "P3", "3D", "P-1D", "PT3H", "2026-13-01", "yesterday",
                                  "0001-01-01T00:00:00"])
def test_upload_cutoff_refuses_what_it_cannot_read(text: str) -> None:
    with pytest.raises(peep.UsageError, match="is not a moment"):
        peep.upload_cutoff(text, "x")


# --- --build-constraint -------------------------------------------------------------


@pytest.mark.parametrize("place", ["command line", "env"])
def test_a_build_dependency_hashed_only_in_the_build_constraint_file_builds_and_is_not_installed(
    deploy: Deploy, tmp_path: Path, place: str
) -> None:
    helper = deploy.index.add(wheel_bytes("helper", "1.0"))
    sdist = deploy.index.add(sdist_bytes("beta", "2.0", build_requires=["helper>=1.0"]))
    deploy.write(block(sdist.data, "beta==2.0"))
    pins = tmp_path / "build-constraints.txt"
    pins.write_text(block(helper.data, "helper==1.0"))
    if place == "env":
        result = deploy.install(env=deploy.env(PIP_BUILD_CONSTRAINT=str(pins)))
    else:
        result = deploy.install("--build-constraint", str(pins))
    assert result.returncode == 0, result.stderr
    assert deploy.ran() == ["beta-2.0.ran"]
    assert f"/files/{helper.filename}" in deploy.index.file_requests()
    assert deploy.installed() == {"beta": "2.0"}  # helper served the build only


def test_a_build_constraint_pin_is_verified_like_any_archive(deploy: Deploy, tmp_path: Path) -> None:
    helper = deploy.index.add(wheel_bytes("helper", "1.0"))
    sdist = deploy.index.add(sdist_bytes("beta", "2.0", build_requires=["helper"]))
    deploy.write(block(sdist.data, "beta==2.0"))
    pins = tmp_path / "build-constraints.txt"
    pins.write_text(block(b"not the helper", "helper==1.0"))
    result = deploy.install("--build-constraint", str(pins))
    assert result.returncode == 1
    assert "THE FOLLOWING PACKAGES DIDN'T MATCH THE HASHES" in result.stderr
    assert f"({pins} line 2; {deploy.index.files_url}{helper.filename})" in result.stderr
    assert deploy.ran() == [] and deploy.installed() == {}


def test_a_build_constraint_file_takes_no_finder_options(deploy: Deploy, tmp_path: Path) -> None:
    deploy.write("")
    pins = tmp_path / "build-constraints.txt"
    pins.write_text("--index-url http://127.0.0.1:9/\n")
    result = deploy.install("--build-constraint", str(pins))
    assert result.returncode == 1
    assert f"{pins} line 1: --index-url in a build-constraint file: peep reads only hashed pins from it" in result.stderr


def test_a_constraints_file_from_pip_constraint_does_not_reach_builds(deploy: Deploy, tmp_path: Path) -> None:
    # As in pip 26: constraints narrow what is installed; builds take --build-constraint.
    helper = deploy.index.add(wheel_bytes("helper", "1.0"))
    sdist = deploy.index.add(sdist_bytes("beta", "2.0", build_requires=["helper"]))
    deploy.write(block(sdist.data, "beta==2.0"))
    constraints = tmp_path / "constraints.txt"
    constraints.write_text(block(helper.data, "helper==1.0"))
    result = deploy.install(env=deploy.env(PIP_CONSTRAINT=str(constraints)))
    assert result.returncode == 1
    assert "beta-2.0.tar.gz needs helper (its pyproject.toml)" in result.stderr
    assert deploy.ran() == [] and deploy.installed() == {}


# --- a configured count: ASCII digits, as pip reads them, and at most three words ----------


@pytest.mark.parametrize("config, env", [(None, {"PIP_VERBOSE": "²"}), ("[global]\nverbose = ²\n", {})])
def test_a_count_that_is_not_ascii_digits_is_a_configuration_error(
    tmp_path: Path, config: Optional[str], env: Dict[str, str]
) -> None:
    with pytest.raises(peep.PeepError, match=r"^'²' is not a valid value for .*\(use a number\)$"):
        settle(tmp_path, config, env)


@pytest.mark.parametrize(
    "count, words", [("10000000", 3), ("0" * 5000 + "2", 2), ("9" * 5000, 3), ("0", 0)],
    ids=["ten million", "leading zeros", "5000 digits", "zero"],
)
def test_a_configured_count_is_capped(tmp_path: Path, count: str, words: int) -> None:
    assert settle(tmp_path, env={"PIP_QUIET": count}).pip_options == ("--quiet",) * words


# --- pip's other names for a setting: each a configuration key in pip too -----------------


@pytest.mark.parametrize("config, env, words", [
    (None, {"PIP_REQUIRE_VENV": "yes"}, ("--require-virtualenv",)),
    (None, {"PIP_LOG_FILE": "/l"}, ("--log", "/l")),
    ("[global]\nlocal-log = /l\n", {}, ("--log", "/l")),
    ("[install]\nsource-dir = /s\n", {}, ("--src", "/s")),
    ("[install]\nlog = /a\n", {"PIP_LOG_FILE": "/b"}, ("--log", "/b")),  # one setting: the last wins
])
def test_an_install_setting_under_another_of_its_names_reaches_pip(
    tmp_path: Path, config: Optional[str], env: Dict[str, str], words: Tuple[str, ...]
) -> None:
    assert settle(tmp_path, config, env).pip_options == words


@pytest.mark.parametrize("key, index", [("pypi-url", "https://mirror/simple/"), ("index", None)])
def test_the_index_is_read_from_pips_names_for_it_only(key: str, index: Optional[str]) -> None:
    # pip install reads --pypi-url's key as --index-url's; "index" is pip search's, not install's.
    finder, _ = peep.settings_from_configuration({f":env:.{key}": "https://mirror/simple/"}, {})
    assert finder.index_url == index


def test_install_options_read_with_pip_configuration_are_a_value(tmp_path: Path) -> None:
    """InstallOptions is a frozen record: hashable and comparable, whatever pip's files hold."""
    options = settle(tmp_path, "[install]\ntarget = /f\n", {"PIP_INDEX_URL": "https://i.invalid/"})
    again = settle(tmp_path, "[install]\ntarget = /f\n", {"PIP_INDEX_URL": "https://i.invalid/"})
    assert hash(options) == hash(again) and options == again
    assert options in {options}


@pytest.mark.parametrize("isolated, config_file, index", [
    (False, "file", "https://env.invalid/"),
    (True, "file", "https://global.invalid/"),  # --isolated: no PIP_*, no user files
    (False, "devnull", "https://env.invalid/"),
    (True, "devnull", None),  # PIP_CONFIG_FILE=os.devnull: no file at all
])
def test_finder_settings_follow_isolated_and_a_devnull_config_file(
    tmp_path: Path, isolated: bool, config_file: str, index: Optional[str]
) -> None:
    (tmp_path / "r.txt").write_text("")
    xdg = tmp_path / "xdg" / "pip"
    xdg.mkdir(parents=True)
    (xdg / "pip.conf").write_text("[global]\nindex-url = https://global.invalid/\n")
    user = tmp_path / ".config" / "pip"
    user.mkdir(parents=True)
    (user / "pip.conf").write_text("[global]\nindex-url = https://user.invalid/\n")
    environ = {"HOME": str(tmp_path), "XDG_CONFIG_DIRS": str(tmp_path / "xdg"),
               "XDG_CONFIG_HOME": str(tmp_path / ".config"), "PIP_INDEX_URL": "https://env.invalid/"}
    if config_file == "devnull":
        environ["PIP_CONFIG_FILE"] = os.devnull
    argv = ["-r", str(tmp_path / "r.txt"), *(["--isolated"] if isolated else [])]
    options = peep.parse_install_arguments(argv, environ)
    _, finder, _ = peep.load_requirements(options, environ)
    assert finder.index_url == index
