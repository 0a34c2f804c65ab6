"""pip's configuration, transport (TLS, proxies, auth, retries), the verified
cache, parallel downloads and progress: all against loopback servers."""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import socket
import ssl
import subprocess
import sys
import threading
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

import pytest
import trustme
from conftest import venv_python
from helpers import (
    PEEP,
    Deploy,
    LoopbackIndex,
    LoopbackProxy,
    basic,
    block,
    hermetic_env,
    peep_hash,
    run_peep,
    serve_http,
    stop_http,
    wheel_bytes,
)

import peep


# --- pip's configuration ----------------------------------------------------------


# pip's own merged view of its configuration, from pip's Configuration
# object (pip's internals are fine in tests). "pip config list" stopped
# being a merged view in pip 26: it lists every file's values, so a key set
# in two files appears twice there. Configuration.items() gives (key, value)
# pairs up to pip 25 and (file, values) pairs, in override order, from 26.
_PIP_MERGED_CONFIG = """
import json
from pip._internal.configuration import Configuration
configuration = Configuration(isolated=False)
configuration.load()
merged = {}
for key, value in configuration.items():
    if isinstance(value, dict):
        merged.update(value)
    else:
        merged[key] = value
print(json.dumps(merged))
"""


def pip_config_list(python: str, env: Dict[str, str]) -> Dict[str, str]:
    """What pip's configuration amounts to, in pip's own words."""
    result = subprocess.run([python, "-c", _PIP_MERGED_CONFIG], env=env, capture_output=True, text=True, check=True)
    return dict(json.loads(result.stdout))


def peep_config(python: str, env: Dict[str, str]) -> Dict[str, str]:
    code = "import json, os, peep; print(json.dumps(peep.load_pip_configuration(os.environ)))"
    result = subprocess.run([python, "-c", code], env=dict(env, PYTHONPATH=str(PEEP.parent)),
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


@pytest.fixture
def config_home(tmp_path: Path, bare_venv: Path) -> Iterator[Tuple[Path, Dict[str, str]]]:
    """A HOME and XDG dirs of our own, and the bare venv's site config file."""
    home = tmp_path / "home"
    (home / ".pip").mkdir(parents=True)
    (home / "xdg-config" / "pip").mkdir(parents=True)
    (tmp_path / "xdg-dirs" / "pip").mkdir(parents=True)
    env = {k: v for k, v in hermetic_env().items() if not k.startswith("PIP_")}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / "xdg-config"), XDG_CONFIG_DIRS=str(tmp_path / "xdg-dirs"))
    site_file = bare_venv / "pip.conf"
    yield tmp_path, env
    if site_file.exists():
        site_file.unlink()


CONFIG_CASES = {
    "layers": {
        "xdg-dirs/pip/pip.conf": "[global]\nindex-url = https://global.invalid/simple\ntimeout = 1\n",
        "home/.pip/pip.conf": "[global]\nindex-url = https://legacy.invalid/simple\nretries = 2\n",
        "home/xdg-config/pip/pip.conf": "[global]\nindex-url = https://user.invalid/simple\n[install]\npre = yes\n",
        "SITE": "[global]\nfind-links = /a /b\n",
    },
    "config-file-env-skips-user": {
        "home/xdg-config/pip/pip.conf": "[global]\nindex-url = https://user.invalid/simple\n",
        "custom.conf": "[global]\nextra-index-url = https://custom.invalid/simple\n",
        "ENV": {"PIP_CONFIG_FILE": "custom.conf"},
    },
    "devnull-keeps-variables-only": {
        "home/xdg-config/pip/pip.conf": "[global]\nindex-url = https://user.invalid/simple\n",
        "ENV": {"PIP_CONFIG_FILE": os.devnull, "PIP_INDEX_URL": "https://env.invalid/simple",
                "PIP_DEFAULT_TIMEOUT": "9", "PIP_NO_CACHE_DIR": "off"},
    },
    "underscores-and-sections": {
        "home/xdg-config/pip/pip.conf": "[global]\nextra_index_url = https://u.invalid/simple\n[freeze]\nall = yes\n",
        "ENV": {"PIP_TRUSTED_HOST": "a.invalid b.invalid"},
    },
}


@pytest.mark.parametrize("case", sorted(CONFIG_CASES))
def test_configuration_matches_pip_config_list(case: str, config_home: Tuple[Path, Dict[str, str]], bare_venv: Path) -> None:
    root, env = config_home
    for relative, content in CONFIG_CASES[case].items():
        if relative == "ENV":
            continue
        path = bare_venv / "pip.conf" if relative == "SITE" else root / relative
        path.write_text(content)  # type: ignore[arg-type]
    for key, value in CONFIG_CASES[case].get("ENV", {}).items():  # type: ignore[union-attr]
        env[key] = value if value == os.devnull else (str(root / value) if value.endswith(".conf") else value)
    python = venv_python(bare_venv)
    expected = pip_config_list(python, env)
    assert expected, "the case should configure something"
    assert peep_config(python, env) == expected


@pytest.mark.parametrize(
    ("config", "finder", "network"),
    [
        # [install] beats [global] and PIP_* beat both, as in pip.
        ({"global.index-url": "https://g/", "install.index-url": "https://i/"}, {"index_url": "https://i/"}, {}),
        ({"install.index-url": "https://i/", ":env:.index-url": "https://e/"}, {"index_url": "https://e/"}, {}),
        ({"global.extra-index-url": "https://a/ https://b/"}, {"extra_index_urls": ("https://a/", "https://b/")}, {}),
        ({"global.find-links": "x", ":env:.find-links": "y z"}, {"find_links": ("y", "z")}, {}),
        ({"global.no-index": "true", ":env:.no-index": "false"}, {"no_index": False}, {}),
        ({"global.only-binary": ":all:", "install.no-binary": "foo"},
         {"only_binary": frozenset({":all:"}), "no_binary": frozenset({"foo"})}, {}),
        ({":env:.default-timeout": "3.5", "global.retries": "1"}, {}, {"timeout": 3.5, "retries": 1}),
        ({"global.cert": "/ca.pem", "global.client-cert": "/me.pem", "global.proxy": "http://p:3128"}, {},
         {"cert": "/ca.pem", "client_cert": "/me.pem", "proxy": "http://p:3128"}),
        ({"global.cache-dir": "/c", ":env:.no-cache-dir": "false"}, {}, {"cache_dir": None}),
        # Paths are expanded as pip expands them, from its files as from its command line.
        ({"global.cert": "~/ca.pem", ":env:.client-cert": "~/me.pem", "global.cache-dir": "~/c"}, {},
         {"cert": os.path.expanduser("~/ca.pem"), "client_cert": os.path.expanduser("~/me.pem"),
          "cache_dir": os.path.expanduser("~/c")}),
        ({"global.unknown-option": "whatever", "freeze.all": "1"}, {}, {}),
    ],
)
def test_effective_settings(config: Dict[str, str], finder: Dict[str, object], network: Dict[str, object]) -> None:
    settings, net = peep.settings_from_configuration(config, {"XDG_CACHE_HOME": "/xdg"})
    default, default_net = peep.settings_from_configuration({}, {"XDG_CACHE_HOME": "/xdg"})
    assert default_net.cache_dir == "/xdg/pip"
    # The settings named change, and no other: an unknown key or another command's changes none.
    assert (settings, net) == (replace(default, **finder), replace(default_net, **network))


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"global.no-index": "maybe"}, "'maybe' is not a valid value for no-index in pip's configuration [global] (use yes or no)"),
        ({":env:.timeout": "soon"}, "'soon' is not a valid value for timeout in the environment"),
        ({":env:.timeout": "0"}, "'0' is not a valid value for timeout in the environment"),
        ({"global.retries": "-1"}, "'-1' is not a valid value for retries in pip's configuration [global]"),
        # Each value is checked as it is read, as pip checks it, though a later one wins.
        ({"global.timeout": "soon", ":env:.timeout": "5"},
         "'soon' is not a valid value for timeout in pip's configuration [global]"),
    ],
)
def test_invalid_configuration_values(config: Dict[str, str], message: str) -> None:
    with pytest.raises(peep.PeepError) as info:
        peep.settings_from_configuration(config, {})
    assert str(info.value) == message


def test_command_line_then_files_over_configuration(tmp_path: Path) -> None:
    config = tmp_path / "pip.conf"
    config.write_text("[global]\nindex-url = https://config.invalid/simple\nextra-index-url = https://extra.invalid/\n")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("--extra-index-url https://file.invalid/\n")
    options = peep.parse_install_arguments(["-r", str(requirements), "-i", "https://cli.invalid/", "--timeout", "2"])
    env = {"PIP_CONFIG_FILE": str(config), "PIP_RETRIES": "7", "HOME": str(tmp_path)}
    _, finder, network = peep.load_requirements(options, env)
    assert finder.index_urls(peep.pip_default_index) == ("https://cli.invalid/", "https://extra.invalid/", "https://file.invalid/")
    assert (network.timeout, network.retries) == (2.0, 7)


@pytest.mark.parametrize("where", ["PIP_ISOLATED", "config"])
def test_isolated_only_from_the_command_line_keeps_pip_configuration_out(tmp_path: Path, where: str) -> None:
    """As in pip: only --isolated on the command line ignores pip's files and PIP_*."""
    config = tmp_path / "pip.conf"
    config.write_text("[global]\nisolated = yes\n" if where == "config" else "")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("")
    env = {"PIP_CONFIG_FILE": str(config), "PIP_INDEX_URL": "https://env.invalid/simple/",
           "HOME": str(tmp_path), **({"PIP_ISOLATED": "1"} if where == "PIP_ISOLATED" else {})}
    options = peep.parse_install_arguments(["-r", str(requirements)], env)
    assert options.pip_flag("--isolated")  # pip is told, as the setting says
    _, finder, _ = peep.load_requirements(options, env)
    assert finder.index_url == "https://env.invalid/simple/"
    isolated = peep.parse_install_arguments(["-r", str(requirements), "--isolated"], env)
    assert peep.load_requirements(isolated, env)[1].index_url is None


def test_install_uses_the_index_from_pip_config_and_environment(
    deploy: Deploy, tmp_path: Path, index: LoopbackIndex, other_index: LoopbackIndex
) -> None:
    wheel = index.add(wheel_bytes("alpha", "1.0"))
    extra = other_index.add(wheel_bytes("beta", "1.0"))
    config = tmp_path / "pip.conf"
    config.write_text(f"[install]\nindex-url = {index.url}\n")
    deploy.write(block(wheel.data, "alpha==1.0") + block(extra.data, "beta==1.0"))
    env = deploy.env(PIP_CONFIG_FILE=str(config), PIP_EXTRA_INDEX_URL=other_index.url)
    result = deploy.install(finder=(), env=env)
    assert result.returncode == 0, result.stderr
    assert deploy.installed() == {"alpha": "1.0", "beta": "1.0"}


# --- TLS ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def loopback_ca() -> trustme.CA:
    """The certificate authority behind the loopback servers' certificates."""
    return trustme.CA()


@pytest.fixture
def tls_index(loopback_ca: trustme.CA) -> Iterator[LoopbackIndex]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    loopback_ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    server = LoopbackIndex(tls=context).start()
    yield server
    server.stop()


def test_https_verified_against_the_configured_ca(tmp_path: Path, tls_index: LoopbackIndex, loopback_ca: trustme.CA) -> None:
    deploy = Deploy(tmp_path, tls_index)
    wheel = tls_index.add(wheel_bytes("alpha", "1.0"))
    deploy.write(block(wheel.data, "alpha==1.0"))
    ca_file = tmp_path / "ca.pem"
    loopback_ca.cert_pem.write_to_path(str(ca_file))

    refused = deploy.install()
    assert refused.returncode == 1
    assert "CERTIFICATE_VERIFY_FAILED" in refused.stderr or "certificate verify failed" in refused.stderr
    assert deploy.installed() == {}

    accepted = deploy.install("--cert", str(ca_file))
    assert accepted.returncode == 0, accepted.stderr

    trusted = deploy.install("--trusted-host", "127.0.0.1", "--force-reinstall")
    assert trusted.returncode == 0, trusted.stderr


def test_a_trusted_host_does_not_lend_its_unchecked_certificate_to_a_redirect(
        tls_index: LoopbackIndex) -> None:
    """pip checks the certificate of the host a --trusted-host redirects to; so does peep."""
    def redirect(handler: BaseHTTPRequestHandler) -> bool:
        if handler.headers["Host"].startswith("localhost:"):
            return False  # served: the page below
        handler.send_response(302)
        handler.send_header("Location", f"https://localhost:{tls_index.port}{handler.path}")
        handler.send_header("Content-Length", "0")
        handler.end_headers()
        return True

    tls_index.pages["/page"] = b"reached"
    tls_index.hook = redirect
    url = f"https://127.0.0.1:{tls_index.port}/page"
    trusting = peep.FinderSettings(index_url=url, trusted_hosts=frozenset({"127.0.0.1"}))
    with pytest.raises(peep.FetchError, match="certificate verify failed"):
        peep.Transport(trusting).open(url).close()
    both = replace(trusting, trusted_hosts=frozenset({"127.0.0.1", "localhost"}))
    with peep.Transport(both).open(url) as stream:  # trusted too: followed, unchecked
        assert stream.read() == b"reached"


def test_client_certificate(tmp_path: Path, loopback_ca: trustme.CA) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    loopback_ca.issue_cert("127.0.0.1").configure_cert(context)
    loopback_ca.configure_trust(context)
    context.verify_mode = ssl.CERT_REQUIRED
    server = LoopbackIndex(tls=context).start()
    deploy = Deploy(tmp_path, server)
    try:
        wheel = server.add(wheel_bytes("alpha", "1.0"))
        deploy.write(block(wheel.data, "alpha==1.0"))
        ca_file, client_file = tmp_path / "ca.pem", tmp_path / "client.pem"
        loopback_ca.cert_pem.write_to_path(str(ca_file))
        client = loopback_ca.issue_cert("peep-client@example.invalid")
        client.private_key_and_cert_chain_pem.write_to_path(str(client_file))
        without = deploy.install("--cert", str(ca_file), "--retries", "0")
        assert without.returncode == 1
        with_cert = deploy.install("--cert", str(ca_file), "--client-cert", str(client_file))
        assert with_cert.returncode == 0, with_cert.stderr
    finally:
        server.stop()


@pytest.mark.parametrize("command", ["check", "port"])
def test_a_requirements_file_by_url_is_fetched_as_pip_is_configured(
    tmp_path: Path, tls_index: LoopbackIndex, loopback_ca: trustme.CA, command: str
) -> None:
    # check and port read "-r URL" with the same transport as install: the
    # CA (PIP_CERT) and trusted hosts of pip's configuration apply to them too.
    digest = "a" * 64
    tls_index.pages["/requirements.txt"] = f"alpha==1.0 --hash=sha256:{digest}\n".encode()
    url = f"https://127.0.0.1:{tls_index.port}/requirements.txt"
    args = ["check", "-r", url, "--path", str(tmp_path)] if command == "check" else ["port", url]
    ca_file = tmp_path / "ca.pem"
    loopback_ca.cert_pem.write_to_path(str(ca_file))
    config = tmp_path / "pip.conf"
    config.write_text("[global]\ntrusted-host = 127.0.0.1\n")

    refused = run_peep(*args)
    assert "certificate verify failed" in refused.stderr.lower(), refused.stderr
    for env in (hermetic_env(PIP_CERT=str(ca_file)), hermetic_env(PIP_CONFIG_FILE=str(config))):
        before = len(tls_index.requests)
        result = run_peep(*args, env=env)
        assert "certificate" not in result.stderr.lower(), result.stderr
        assert tls_index.requests[before:] == ["/requirements.txt"]
        if command == "check":  # the file was read: its requirement is reported missing
            assert result.returncode == 1 and "alpha" in result.stderr, result.stderr
        else:
            assert result.returncode == 0 and f"--hash=sha256:{digest}" in result.stdout, result.stderr


def test_plain_http_refused_unless_trusted() -> None:
    transport = peep.Transport(peep.FinderSettings())
    with pytest.raises(peep.FetchError) as info:
        transport.open("http://example.invalid/simple/")
    assert "refusing plain-HTTP http://example.invalid/simple/" in str(info.value)


# --- Proxies -------------------------------------------------------------------------


@pytest.fixture
def proxy() -> Iterator[LoopbackProxy]:
    server = LoopbackProxy()
    yield server
    server.stop()


def test_proxy_option_and_environment(deploy: Deploy, tmp_path: Path, index: LoopbackIndex, proxy: LoopbackProxy) -> None:
    wheel = index.add(wheel_bytes("alpha", "1.0"))
    deploy.write(block(wheel.data, "alpha==1.0"))
    result = deploy.install("--proxy", proxy.url)
    assert result.returncode == 0, result.stderr
    assert f"{index.files_url}alpha-1.0-py3-none-any.whl" in proxy.seen

    proxy.seen.clear()
    env = hermetic_env(http_proxy=proxy.url)
    result = deploy.install("--force-reinstall", env=env)
    assert result.returncode == 0, result.stderr
    assert f"{index.url}alpha/" in proxy.seen

    proxy.seen.clear()
    env = hermetic_env(http_proxy=proxy.url, no_proxy="127.0.0.1")
    result = deploy.install("--force-reinstall", env=env)
    assert result.returncode == 0, result.stderr
    assert proxy.seen == []


# --- Credentials ---------------------------------------------------------------------

SECRET = "s3cret-never-shown"


def test_userinfo_credentials_are_sent_only_to_their_host_and_never_shown(
    deploy: Deploy, index: LoopbackIndex, other_index: LoopbackIndex
) -> None:
    index.auth = basic("deploy", SECRET)
    hosted = other_index.add(wheel_bytes("beta", "1.0"))
    wheel = index.add(wheel_bytes("alpha", "1.0"))
    deploy.write(block(wheel.data, "alpha==1.0")
                 + block(hosted.data, f"{other_index.files_url}beta-1.0-py3-none-any.whl"))
    authed = index.url.replace("http://", f"http://deploy:{SECRET}@")
    result = deploy.install(finder=["-i", authed])
    assert result.returncode == 0, result.stderr
    assert all("Authorization" not in headers for _, headers in other_index.headers_seen)
    assert SECRET not in result.stdout + result.stderr

    wrong = index.url.replace("http://", "http://deploy:wrong-password@")
    failed = deploy.install("--force-reinstall", finder=["-i", wrong])
    assert failed.returncode == 1
    assert "HTTP 401" in failed.stderr
    assert "http://deploy:****@127.0.0.1" in failed.stderr
    assert "wrong-password" not in failed.stdout + failed.stderr


def test_netrc_credentials(deploy: Deploy, tmp_path: Path, index: LoopbackIndex) -> None:
    index.auth = basic("robot", SECRET)
    wheel = index.add(wheel_bytes("alpha", "1.0"))
    deploy.write(block(wheel.data, "alpha==1.0"))
    netrc_file = tmp_path / "netrc"
    netrc_file.write_text(f"machine 127.0.0.1 login robot password {SECRET}\n")
    netrc_file.chmod(0o600)
    result = deploy.install(env=hermetic_env(NETRC=str(netrc_file)))
    assert result.returncode == 0, result.stderr
    assert SECRET not in result.stdout + result.stderr
    refused = deploy.install("--force-reinstall")  # no netrc: 401
    assert refused.returncode == 1 and "HTTP 401" in refused.stderr


def test_a_url_requirements_own_credentials_are_sent(deploy: Deploy, index: LoopbackIndex) -> None:
    """pip sends the user:password of a URL requirement; so does peep, to that origin only."""
    index.auth = basic("robot", SECRET)
    wheel = index.add(wheel_bytes("alpha", "1.0"))
    url = f"http://robot:{SECRET}@127.0.0.1:{index.port}/files/{wheel.filename}"
    deploy.write(block(wheel.data, f"alpha @ {url}"))
    result = deploy.install(finder=["--no-index"])
    assert result.returncode == 0, result.stderr
    assert deploy.installed() == {"alpha": "1.0"}
    assert SECRET not in result.stdout + result.stderr


def test_credentials_do_not_follow_a_redirect_to_another_host(
    index: LoopbackIndex, other_index: LoopbackIndex
) -> None:
    def redirect(handler: BaseHTTPRequestHandler) -> bool:
        handler.send_response(302)
        handler.send_header("Location", f"http://localhost:{other_index.port}/files/x.whl")
        handler.send_header("Content-Length", "0")
        handler.end_headers()
        return True

    index.hook = redirect
    transport = peep.Transport(peep.FinderSettings(index_url=f"http://u:{SECRET}@127.0.0.1:{index.port}/simple/"))
    with pytest.raises(peep.FetchError):
        transport.open(f"http://u:{SECRET}@127.0.0.1:{index.port}/files/x.whl").close()
    assert index.headers_seen[0][1]["Authorization"] == basic("u", SECRET)
    assert other_index.headers_seen and all("Authorization" not in h for _, h in other_index.headers_seen)


# --- Retries and short bodies -------------------------------------------------------------


def test_retries_5xx_and_429_then_succeeds(deploy: Deploy, tmp_path: Path, index: LoopbackIndex) -> None:
    wheel = index.add(wheel_bytes("alpha", "1.0"))
    index.status_for["/simple/alpha/"] = [503]
    index.status_for["/files/alpha-1.0-py3-none-any.whl"] = [500, 429]
    deploy.write(block(wheel.data, "alpha==1.0"))
    result = deploy.install()
    assert result.returncode == 0, result.stderr
    assert index.requests.count("/files/alpha-1.0-py3-none-any.whl") == 3
    assert index.requests.count("/simple/alpha/") == 2


def test_retry_after_is_honoured() -> None:
    assert peep._backoff(0, "2") == 2.0
    assert peep._backoff(0, "100000") == peep.MAX_RETRY_AFTER
    assert peep._backoff(3, "Wed, 21 Oct 2015 07:28:00 GMT") == 2.0
    assert peep._backoff(3, "nan") == peep._backoff(3, "-5") == 2.0  # no wait at all, once
    assert [peep._backoff(n) for n in range(3)] == [0.25, 0.5, 1.0]


def test_short_body_is_retried_then_reported(deploy: Deploy, tmp_path: Path, index: LoopbackIndex) -> None:
    wheel = index.add(wheel_bytes("alpha", "1.0"))
    index.truncate["alpha-1.0-py3-none-any.whl"] = 1
    deploy.write(block(wheel.data, "alpha==1.0"))
    result = deploy.install()
    assert result.returncode == 0, result.stderr
    assert index.requests.count("/files/alpha-1.0-py3-none-any.whl") == 2

    index.truncate["alpha-1.0-py3-none-any.whl"] = 100
    result = deploy.install("--retries", "1", "--force-reinstall")
    assert result.returncode == 1
    assert f"got {len(wheel.data) // 2} bytes of the {len(wheel.data)} announced" in result.stderr


def test_a_stalled_server_times_out(deploy: Deploy, tmp_path: Path, index: LoopbackIndex) -> None:
    wheel = index.add(wheel_bytes("alpha", "1.0"))
    index.file_delay = 3.0
    deploy.write(block(wheel.data, "alpha==1.0"))
    result = deploy.install("--timeout", "0.5", "--retries", "0")
    assert result.returncode == 1
    assert "could not be fetched" in result.stderr and "timed out" in result.stderr


# --- The verified cache ----------------------------------------------------------------


def test_warm_cache_needs_no_network_at_all(deploy: Deploy, tmp_path: Path, index: LoopbackIndex) -> None:
    import hashlib

    alpha = index.add(wheel_bytes("alpha", "1.0"))
    beta = index.add(wheel_bytes("beta", "2.0"))
    cache = tmp_path / "cache"
    deploy.write(block(alpha.data, "alpha==1.0") + f"beta==2.0 --hash=sha512:{hashlib.sha512(beta.data).hexdigest()}\n"
    )
    cold = deploy.install("--cache-dir", str(cache))
    assert cold.returncode == 0, cold.stderr
    assert len(index.file_requests()) == 2
    index.requests.clear()
    shutil.rmtree(deploy.target)
    warm = deploy.install("--cache-dir", str(cache))
    assert warm.returncode == 0, warm.stderr
    assert index.requests == []  # not even an index page
    assert deploy.installed() == {"alpha": "1.0", "beta": "2.0"}
    assert not list(cache.rglob(".partial-*"))
    assert "peep: cached alpha-1.0-py3-none-any.whl" in warm.stderr


def test_tampered_cache_entry_is_discarded_and_fetched_again(deploy: Deploy, tmp_path: Path, index: LoopbackIndex) -> None:
    alpha = index.add(wheel_bytes("alpha", "1.0"))
    cache = tmp_path / "cache"
    deploy.write(block(alpha.data, "alpha==1.0"))
    assert deploy.install("--cache-dir", str(cache)).returncode == 0
    [entry] = [p for p in cache.rglob("alpha-1.0-py3-none-any.whl")]
    entry.write_bytes(b"tampered on disk")
    index.requests.clear()
    result = deploy.install("--cache-dir", str(cache), "--force-reinstall")
    assert result.returncode == 0, result.stderr
    assert "peep: warning: the cached alpha-1.0-py3-none-any.whl no longer matches its hash" in result.stderr
    assert index.file_requests() == ["/files/alpha-1.0-py3-none-any.whl"]
    assert entry.read_bytes() == alpha.data  # stored again, verified


def test_unusable_cache_degrades_to_no_cache_with_one_warning(deploy: Deploy, tmp_path: Path, index: LoopbackIndex) -> None:
    alpha = index.add(wheel_bytes("alpha", "1.0"))
    beta = index.add(wheel_bytes("beta", "1.0"))
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("in the way")
    deploy.write(block(alpha.data, "alpha==1.0") + block(beta.data, "beta==1.0"))
    result = deploy.install("--cache-dir", str(not_a_dir / "cache"))
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("continuing without a cache") == 1


def test_no_cache_dir_writes_nothing(deploy: Deploy, tmp_path: Path, index: LoopbackIndex) -> None:
    alpha = index.add(wheel_bytes("alpha", "1.0"))
    deploy.write(block(alpha.data, "alpha==1.0"))
    env = hermetic_env(XDG_CACHE_HOME=str(tmp_path / "xdg-cache"))
    del env["PIP_NO_CACHE_DIR"]
    assert deploy.install("--no-cache-dir", env=env).returncode == 0
    assert not (tmp_path / "xdg-cache" / "pip" / "peep-archives").exists()
    assert deploy.install("--force-reinstall", env=env).returncode == 0
    assert (tmp_path / "xdg-cache" / "pip" / "peep-archives").is_dir()  # the default location


# --- Parallel downloads and progress -------------------------------------------------------


def test_parallel_downloads_with_a_deterministic_report(deploy: Deploy, tmp_path: Path, index: LoopbackIndex) -> None:
    served = [index.add(wheel_bytes(f"pkg{n:02d}", "1.0")) for n in range(12)]
    index.file_delay = 0.2
    deploy.write("".join(f"pkg{n:02d}==1.0\n" for n in range(12)))
    result = deploy.install()
    assert result.returncode == 1
    assert index.most_in_flight > 1  # several downloads were in progress at once
    shown = [line.strip() for line in result.stderr.splitlines() if line.strip().startswith("# sha256:")]
    assert shown == [f"# sha256: {peep_hash(s.data)}" for s in served]  # requirement order


def test_progress_lines_when_not_a_terminal_and_silence_with_quiet(deploy: Deploy, tmp_path: Path, index: LoopbackIndex) -> None:
    alpha = index.add(wheel_bytes("alpha", "1.0"))
    beta = index.add(wheel_bytes("beta", "1.0"))
    deploy.write(block(alpha.data, "alpha==1.0") + block(beta.data, "beta==1.0"))
    result = deploy.install()
    lines = [line for line in result.stderr.splitlines() if line.startswith("peep: downloaded")]
    assert sorted(line.split(" (")[0] for line in lines) == [
        "peep: downloaded alpha-1.0-py3-none-any.whl", "peep: downloaded beta-1.0-py3-none-any.whl"]
    assert "\r" not in result.stderr
    quiet = deploy.install("-q", "--force-reinstall")
    assert quiet.returncode == 0
    assert not [line for line in quiet.stderr.splitlines() if line.startswith("peep")]


def test_live_progress_on_a_terminal(deploy: Deploy, tmp_path: Path, index: LoopbackIndex) -> None:
    alpha = index.add(wheel_bytes("alpha", "1.0"))
    deploy.write(block(alpha.data, "alpha==1.0"))
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, str(PEEP), "install", "-r", str(deploy.requirements),
         "--target", str(deploy.target), "-i", index.url],
        stdout=subprocess.DEVNULL, stderr=follower, env=hermetic_env(),
    )
    os.close(follower)
    seen = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    assert process.wait(timeout=60) == 0
    assert b"\r\x1b[Kpeep: 1/1 files, " in seen
    assert b"peep: downloaded" not in seen  # the live line replaces per-file lines



def test_an_unreachable_index_fails_at_once_and_is_reported_once(tmp_path: Path) -> None:
    # Nothing listens on the port: retrying cannot help, and thirty-five
    # requirements must not wait out thirty-five rounds of back-off, nor
    # print the same reason thirty-five times.
    closed = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # bound, never listening
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    try:
        url = f"http://127.0.0.1:{port}/simple/"
        transport = peep.Transport(peep.FinderSettings(index_url=url), peep.NetworkSettings(retries=5))
        attempts = []
        real_opener = transport._opener
        transport._opener = lambda: attempts.append(True) or real_opener()  # type: ignore[method-assign]
        for project in ("alpha", "beta"):
            with pytest.raises(peep.FetchError, match=f"cannot reach 127.0.0.1:{port}: "):
                transport.open(url + project + "/")
        assert len(attempts) == 1  # one refused connection, no retry, then no second try at all
        requirements = tmp_path / "r.txt"
        requirements.write_text("".join(f"{name}==1.0\n" for name in ("alpha", "beta", "gamma")))
        result = run_peep("install", "-r", str(requirements), "-i", url, "--target", str(tmp_path / "t"))
    finally:
        closed.close()
    assert result.returncode == 1
    assert result.stderr.count(f"cannot reach 127.0.0.1:{port}") == 1, result.stderr
    for name in ("alpha", "beta", "gamma"):
        assert f"{name}==1.0 ({requirements} line" in result.stderr


# --- cancelling wakes a download that waits on a silent server ---------------------------


def _stalling_server(tls: Optional[ssl.SSLContext], sent: threading.Event,
                     release: threading.Event) -> ThreadingHTTPServer:
    """Announce 100 bytes, send 10, then say nothing until released."""

    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "100")
        handler.end_headers()
        handler.wfile.write(b"0123456789")
        handler.wfile.flush()
        sent.set()
        release.wait(30)
        handler.close_connection = True

    return serve_http(answer, tls)


def _cancel_wakes(url: str, network: peep.NetworkSettings, sent: threading.Event,
                  tmp_path: Path) -> None:
    transport = peep.Transport(peep.FinderSettings(trusted_hosts=frozenset()), network)
    outcome: List[BaseException] = []

    def download() -> None:
        try:
            transport.download(url, str(tmp_path / "file.whl"), ())
        except BaseException as exc:  # noqa: B036 (recorded, asserted on below)
            outcome.append(exc)

    worker = threading.Thread(target=download, daemon=True)
    worker.start()
    assert sent.wait(10)
    worker.join(0.5)  # blocked in recv on a silent body: the server sends no more
    assert worker.is_alive()
    transport.cancel()
    worker.join(20)  # far less than the 30 s timeout: shutdown() woke it
    assert not worker.is_alive()
    assert outcome and isinstance(outcome[0], peep.FetchError), outcome
    assert not (tmp_path / "file.whl").exists()


@pytest.mark.parametrize("tls", [False, True])
def test_cancel_shuts_down_the_socket_a_download_waits_on(tmp_path: Path, tls: bool) -> None:
    context, network = None, peep.NetworkSettings(timeout=30, retries=0)
    if tls:
        ca = trustme.CA()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(context)
        ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
        network = replace(network, cert=str(tmp_path / "ca.pem"))
    sent, release = threading.Event(), threading.Event()
    server = _stalling_server(context, sent, release)
    try:
        port = server.server_address[1]
        url = f"{'https' if tls else 'http'}://127.0.0.1:{port}/files/alpha-1.0-py3-none-any.whl"
        _cancel_wakes(url, network, sent, tmp_path)
    finally:
        release.set()
        stop_http(server)
