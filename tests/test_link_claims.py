"""A link's hash claims on an index page: read as written, never trusted alone."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Dict

import peep

GOOD = "ab" * 32  # a well-formed sha256


def _hash_release_status(tmp_path: Path, fragment: str, body: bytes) -> int:
    """Return hash_downloads' status for one file whose index link ends in ``fragment``."""
    path = tmp_path / "alpha-1.0.tar.gz"
    path.write_bytes(body)
    page = f'<a href="alpha-1.0.tar.gz#{fragment}">alpha-1.0.tar.gz</a>'
    links = peep.parse_html_links(page, tmp_path.as_uri() + "/")  # a local page: no network
    candidate = peep.candidate_from_link(links[0], "alpha")
    assert candidate is not None
    err = io.StringIO()
    transport = peep.Transport(peep.FinderSettings())
    progress = peep.Progress(err, quiet=True)
    _, status = peep.hash_downloads(transport, [candidate], "sha256", progress, "peep hash")
    # Left out for its bytes, never for a download that failed.
    assert status == peep.EXIT_OK or "the index says sha256" in err.getvalue(), err.getvalue()
    return status


def _claims(url: str) -> Dict[str, str]:
    """Return the hash claims an index page's link to ``url`` makes."""
    return dict(peep.parse_html_links(f'<a href="{url}">a</a>', "https://h/")[0].hashes)


def test_an_index_claim_stays_a_claim_beside_a_legacy_egg(tmp_path: Path) -> None:
    # A link may carry an "#egg=" that is no project name beside the digest. The
    # egg is no business of a link's; the digest is still the page's claim, and
    # bytes that do not match it must be left out by "peep hash NAME==VERSION".
    assert _claims(f"https://h/a.tar.gz#egg=alpha[x]&sha256={GOOD}") == {"sha256": GOOD}
    status = _hash_release_status(tmp_path, f"egg=alpha[x]&sha256={GOOD}", b"tampered bytes")
    assert status == peep.EXIT_FAILED


def test_a_malformed_claim_does_not_erase_a_well_formed_one(tmp_path: Path) -> None:
    claims = _claims(f"https://h/a.tar.gz#sha512=zz&sha256={GOOD}")
    assert claims.get("sha256") == GOOD
    status = _hash_release_status(tmp_path, f"sha512=zz&sha256={GOOD}", b"tampered bytes")
    assert status == peep.EXIT_FAILED


def test_a_garbled_claim_matches_no_bytes(tmp_path: Path) -> None:
    # A truncated digest on the page is not "no claim": no bytes can match it,
    # so peep hash leaves the file out rather than vouching for it.
    body = b"whatever the server sends"
    assert _hash_release_status(tmp_path, "sha256=" + GOOD[:-1], body) == peep.EXIT_FAILED
    # and a well-formed matching claim is still accepted
    real = peep.hash_file(os.fspath(tmp_path / "alpha-1.0.tar.gz"), ("sha256",))["sha256"]
    assert _hash_release_status(tmp_path, f"sha256={real}", body) == peep.EXIT_OK
