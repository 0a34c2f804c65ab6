"""Completing a requirements file takes one run: every problem is reported at once.

Build dependencies, their own dependencies and omitted runtime dependencies
are found from what archives say (read, never run) before any build
environment is made; each missing project gets one block to paste, of one
version that fits everyone who needs it; files fetched only for those
blocks are cached, so the run after pasting needs no network for them.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

import peep
from helpers import Deploy, LoopbackIndex, block, sdist_bytes, sha256_hex, wheel_bytes

BUILD_DEPENDENCY = "The following sdists need build dependencies that are not among the verified files"
OMITTED = "The following dependencies are needed by packages being installed but are"
NO_ENVIRONMENT = "peep: preparing a build environment"


def pasted(data: bytes, line: str) -> str:
    """Return a hash block as the report shows it, indented under its entry."""
    return "".join(f"        {text}\n" for text in block(data, line).splitlines())


def test_build_dependencies_of_build_dependencies_and_omitted_ones_come_in_one_run(
    deploy: Deploy,
) -> None:
    helper = deploy.index.add(wheel_bytes("helper", "1.0"))
    flitlike = deploy.index.add(wheel_bytes("flitlike", "1.0", requires=["helper"]))
    beta = deploy.index.add(sdist_bytes("beta", "2.0", build_requires=["flitlike"],
                                        extra_build_requires=["helper"]))
    gamma = deploy.index.add(wheel_bytes("gamma", "3.0"))
    alpha = deploy.index.add(wheel_bytes("alpha", "1.0", requires=["gamma>=2"]))
    text = (block(beta.data, "beta==2.0") + block(flitlike.data, "flitlike==1.0")
            + block(alpha.data, "alpha==1.0"))
    deploy.write(text)
    result = deploy.install()
    assert result.returncode == 1, result.stderr
    assert BUILD_DEPENDENCY in result.stderr and OMITTED in result.stderr
    assert ("    beta-2.0.tar.gz needs helper (a dependency of flitlike 1.0):\n"
            + pasted(helper.data, "helper==1.0")) in result.stderr
    assert "    gamma>=2, needed by alpha==1.0 (" in result.stderr
    assert pasted(gamma.data, "gamma==3.0") in result.stderr
    # Found from metadata alone: no backend ran, no environment was made.
    assert deploy.ran() == []
    assert NO_ENVIRONMENT not in result.stderr
    # The pasted blocks are all the next run needs.
    deploy.write(text + block(helper.data, "helper==1.0") + block(gamma.data, "gamma==3.0"))
    result = deploy.install()
    assert result.returncode == 0, result.stderr
    assert deploy.installed() == {"alpha": "1.0", "beta": "2.0", "flitlike": "1.0",
                                  "gamma": "3.0", "helper": "1.0"}


def test_what_a_suggested_file_needs_is_suggested_in_the_same_run(deploy: Deploy) -> None:
    helper = deploy.index.add(wheel_bytes("helper", "1.0"))
    flitlike = deploy.index.add(wheel_bytes("flitlike", "1.0", requires=["helper>=1"]))
    beta = deploy.index.add(sdist_bytes("beta", "2.0", build_requires=["flitlike"]))
    deploy.write(block(beta.data, "beta==2.0"))
    result = deploy.install()
    assert result.returncode == 1, result.stderr
    assert ("    beta-2.0.tar.gz needs flitlike (its pyproject.toml):\n"
            + pasted(flitlike.data, "flitlike==1.0")) in result.stderr
    assert ("    helper>=1, a dependency of flitlike 1.0 (suggested above):\n"
            + pasted(helper.data, "helper==1.0")) in result.stderr
    assert deploy.ran() == []
    deploy.write(block(beta.data, "beta==2.0") + block(flitlike.data, "flitlike==1.0")
                 + block(helper.data, "helper==1.0"))
    result = deploy.install()
    assert result.returncode == 0, result.stderr
    assert deploy.installed() == {"beta": "2.0", "flitlike": "1.0", "helper": "1.0"}


@pytest.mark.parametrize("hashed", [True, False])
def test_a_url_dependency_is_reported_in_the_same_run_hashed_or_not(deploy: Deploy,
                                                                    hashed: bool) -> None:
    """A dependency named by URL is omitted like any other, whether its dependent was verified
    or fetched only for its missing hash; the URL itself is never fetched."""
    url = deploy.index.plant(wheel_bytes("helper", "1.0"))
    helper = deploy.index.add(wheel_bytes("helper", "1.0"))
    app = deploy.index.add(wheel_bytes("app", "1.0", requires=[f"helper @ {url}"]))
    deploy.write(block(app.data, "app==1.0") if hashed else "app==1.0\n")
    result = deploy.install()
    assert result.returncode == 1, result.stderr
    assert OMITTED in result.stderr and "    helper, needed by app==1.0 (" in result.stderr
    assert pasted(helper.data, "helper==1.0") in result.stderr
    assert not [path for path in deploy.index.requests if path.startswith("/evil/")]


def test_a_build_dependency_block_is_in_the_format_of_the_file_that_needs_it(deploy: Deploy) -> None:
    flitlike = deploy.index.add(wheel_bytes("flitlike", "1.0"))
    beta = deploy.index.add(sdist_bytes("beta", "2.0", build_requires=["flitlike"]))
    deploy.write(f"beta==2.0 --hash=sha256:{sha256_hex(beta.data)}\n")
    result = deploy.install()
    assert result.returncode == 1, result.stderr
    assert ("    beta-2.0.tar.gz needs flitlike (its pyproject.toml):\n"
            "        flitlike==1.0 \\\n"
            f"            --hash=sha256:{sha256_hex(flitlike.data)}\n") in result.stderr
    assert "# sha256:" not in result.stderr


def test_each_block_is_in_the_format_of_the_file_of_the_requirement_it_is_under(
    deploy: Deploy,
) -> None:
    common = deploy.index.add(wheel_bytes("common", "1.0"))
    gamma = deploy.index.add(wheel_bytes("gamma", "3.0"))
    delta = deploy.index.add(wheel_bytes("delta", "4.0"))
    alpha = deploy.index.add(wheel_bytes("alpha", "1.0", requires=["gamma", "common"]))
    beta = deploy.index.add(wheel_bytes("beta", "2.0", requires=["delta", "common"]))
    (deploy.root / "a.txt").write_text(block(alpha.data, "alpha==1.0"))
    (deploy.root / "b.txt").write_text(f"beta==2.0 --hash=sha256:{sha256_hex(beta.data)}\n")
    deploy.write("-r a.txt\n-r b.txt\n")
    result = deploy.install()
    assert result.returncode == 1, result.stderr

    def pip_style(data: bytes, line: str) -> str:
        return f"        {line} \\\n            --hash=sha256:{sha256_hex(data)}\n"

    # a.txt writes peep's comments, b.txt pip's options: each block as its own file does.
    assert "    gamma, needed by alpha==1.0 (" in result.stderr
    assert "    delta, needed by beta==2.0 (" in result.stderr
    assert pasted(gamma.data, "gamma==3.0") in result.stderr
    assert pasted(common.data, "common==1.0") in result.stderr
    assert pip_style(delta.data, "delta==4.0") in result.stderr
    assert pip_style(common.data, "common==1.0") in result.stderr
    assert pasted(delta.data, "delta==4.0") not in result.stderr


def test_build_dependencies_no_one_version_fits_are_named_with_each_need(deploy: Deploy) -> None:
    for version in ("3.0", "4.0"):
        deploy.index.add(wheel_bytes("flitcore", version))
    beta = deploy.index.add(sdist_bytes("beta", "2.0", build_requires=["flitcore<4"]))
    delta = deploy.index.add(sdist_bytes("delta", "4.0", build_requires=["flitcore>=4"]))
    deploy.write(block(beta.data, "beta==2.0") + block(delta.data, "delta==4.0"))
    result = deploy.install()
    assert result.returncode == 1, result.stderr
    assert ("    beta-2.0.tar.gz needs flitcore<4 (its pyproject.toml),\n"
            "    delta-4.0.tar.gz needs flitcore>=4 (its pyproject.toml):\n"
            "        (no one version fits them all, flitcore<4,>=4: vet a wheel of one of these "
            "instead)\n") in result.stderr


def test_no_backend_runs_while_a_static_build_dependency_is_missing(deploy: Deploy) -> None:
    """Dynamic requirements are a second round, run only when the first found nothing."""
    deploy.index.add(wheel_bytes("helper", "1.0"))
    beta = deploy.index.add(sdist_bytes("beta", "2.0", build_requires=["helper"]))
    delta = deploy.index.add(sdist_bytes("delta", "4.0", extra_build_requires=["helper"]))
    deploy.write(block(beta.data, "beta==2.0") + block(delta.data, "delta==4.0"))
    result = deploy.install()
    assert result.returncode == 1, result.stderr
    assert "    beta-2.0.tar.gz needs helper (its pyproject.toml):" in result.stderr
    assert deploy.ran() == []
    assert NO_ENVIRONMENT not in result.stderr


def test_one_version_of_a_build_dependency_fits_every_sdist(deploy: Deploy) -> None:
    wheels = {version: deploy.index.add(wheel_bytes("flitcore", version))
              for version in ("3.2", "3.4", "3.5", "4.0")}
    beta = deploy.index.add(sdist_bytes("beta", "2.0", build_requires=["flitcore>=3.2,<4"]))
    delta = deploy.index.add(sdist_bytes("delta", "4.0", build_requires=["flitcore>=3.4"]))
    text = block(beta.data, "beta==2.0") + block(delta.data, "delta==4.0")
    deploy.write(text)
    result = deploy.install()
    assert result.returncode == 1, result.stderr
    # One block, the newest that fits both, shown once under both sdists.
    assert ("    beta-2.0.tar.gz needs flitcore>=3.2,<4 (its pyproject.toml),\n"
            "    delta-4.0.tar.gz needs flitcore>=3.4 (its pyproject.toml):\n"
            + pasted(wheels["3.5"].data, "flitcore==3.5")) in result.stderr
    assert result.stderr.count("flitcore==") == 1
    deploy.write(text + block(wheels["3.5"].data, "flitcore==3.5"))
    result = deploy.install()
    assert result.returncode == 0, result.stderr
    assert deploy.installed() == {"beta": "2.0", "delta": "4.0", "flitcore": "3.5"}


def test_no_binary_all_converges_with_build_dependencies_as_wheels(deploy: Deploy) -> None:
    flitlike = deploy.index.add(wheel_bytes("flitlike", "1.0"))
    deploy.index.add(sdist_bytes("flitlike", "1.0"))  # a backend's sdist needs a backend
    beta = deploy.index.add(sdist_bytes("beta", "2.0", build_requires=["flitlike"]))
    deploy.write(block(beta.data, "beta==2.0"))
    result = deploy.install("--no-binary", ":all:")
    assert result.returncode == 1, result.stderr
    assert result.stderr.count(
        "peep: build dependencies are taken as wheels even under --no-binary") == 1
    suggested = "--only-binary flitlike\n" + block(flitlike.data, "flitlike==1.0")
    assert ("    beta-2.0.tar.gz needs flitlike (its pyproject.toml):\n"
            + "".join(f"        {line}\n" for line in suggested.splitlines())) in result.stderr
    deploy.write(block(beta.data, "beta==2.0") + suggested)
    result = deploy.install("--no-binary", ":all:")
    assert result.returncode == 0, result.stderr
    assert deploy.installed() == {"beta": "2.0", "flitlike": "1.0"}
    assert deploy.ran() == ["beta-2.0.ran"]  # flitlike's own sdist was never built


def test_files_fetched_only_for_a_suggestion_are_cached(deploy: Deploy, tmp_path: Path) -> None:
    cache = ["--cache-dir", str(tmp_path / "cache")]
    alpha = deploy.index.add(wheel_bytes("alpha", "1.0", requires=["gamma"]))
    gamma = deploy.index.add(wheel_bytes("gamma", "3.0"))
    helper = deploy.index.add(wheel_bytes("helper", "1.0"))
    beta = deploy.index.add(sdist_bytes("beta", "2.0", build_requires=["helper"]))
    deploy.write(block(beta.data, "beta==2.0") + "alpha==1.0\n")
    result = deploy.install(*cache)
    assert result.returncode == 1, result.stderr
    for data, line in ((alpha.data, "alpha==1.0"), (gamma.data, "gamma==3.0"),
                       (helper.data, "helper==1.0")):
        assert block(data, line).splitlines()[0] in result.stderr
    deploy.index.requests.clear()
    deploy.write(block(beta.data, "beta==2.0") + block(alpha.data, "alpha==1.0")
                 + block(gamma.data, "gamma==3.0") + block(helper.data, "helper==1.0"))
    result = deploy.install(*cache)
    assert result.returncode == 0, result.stderr
    assert deploy.index.file_requests() == []  # every pasted file came from the cache
    assert deploy.installed() == {"alpha": "1.0", "beta": "2.0", "gamma": "3.0", "helper": "1.0"}


def _suggesting(index: LoopbackIndex, tmp_path: Path) -> peep.Suggesting:
    """What an install run asks the loopback index for suggestions with; nothing is provided."""
    settings = peep.FinderSettings(index_url=index.url)
    (tmp_path / "work" / "downloads").mkdir(parents=True)
    fetcher = peep.Fetcher(transport=peep.Transport(settings), settings=settings,
                           environment=peep.Environment.current(), workdir=str(tmp_path / "work"),
                           progress=peep.Progress(io.StringIO(), quiet=True),
                           cache=peep.ArchiveCache(str(tmp_path / "cache"), print), warn=print)
    return peep.Suggesting(fetcher, lambda dependency: False, peep.marker_environment())


def _needs(sdist: str, dependency: str) -> peep.Problem:
    requirement = peep.Requirement(f"{sdist}==1.0", peep.Origin("requirements.txt", 1), sdist)
    return peep.framed("build dependency", requirement, f"{sdist}-1.0.tar.gz needs {dependency}",
                       dependency=dependency)


@pytest.mark.parametrize("on_the_index", [False, True])
def test_a_project_named_by_urls_gets_no_index_block_though_a_suggested_file_needs_it(
    index: LoopbackIndex, tmp_path: Path, on_the_index: bool
) -> None:
    foo = index.add(wheel_bytes("foo", "1.0"))
    if not on_the_index:
        index.files.remove(foo)
    index.add(wheel_bytes("flitlike", "1.0", requires=["foo"]))
    by_url = [_needs("beta", "foo @ https://example.invalid/a/foo-1.0-py3-none-any.whl"),
              _needs("gamma", "foo @ https://example.invalid/b/foo-2.0-py3-none-any.whl")]
    shown = peep.with_suggestions(_suggesting(index, tmp_path), by_url + [_needs("beta", "flitlike")])
    # Only the file at its URL will do for a failure that names one: no block of another.
    assert [problem.text for problem in shown[:2]] == [problem.text for problem in by_url]
    # The suggested file's own need of foo, by name, still gets the index's answer.
    by_name = shown[-1].text
    assert by_name.startswith("    foo, a dependency of flitlike 1.0 (suggested above):\n")
    if on_the_index:
        assert by_name.endswith("\n" + pasted(foo.data, "foo==1.0").rstrip("\n"))
    else:
        assert by_name.endswith("(no file on the indexes satisfies foo)")
