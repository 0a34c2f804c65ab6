"""Bounded input: sizes, depth and time of what peep reads, and what it prints."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import peep
from helpers import ROOT


# --- Printing -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain\ttext\n", "plain\ttext\n"),
        ("\x1b]0;owned\x07", "\\x1b]0;owned\\x07"),
        ("a\rb\x7fc\x9bd\x00", "a\\rb\\x7fc\\x9bd\\x00"),
        ("see https://user:secret@host/x", "see https://user:****@host/x"),
        ("https://TOKEN@host/\x1b[2J", "https://****@host/\\x1b[2J"),
        ("caf\u00e9 \u2713", "caf\u00e9 \u2713"),
    ],
)
def test_printable_escapes_controls_and_hides_secrets(text: str, shown: str) -> None:
    assert peep.printable(text) == shown


def test_report_escapes_what_a_server_says() -> None:
    peep.load_packaging()
    requirement = peep.Requirement(text="foo==1", origin=peep.Origin("r.txt", 1), name="foo")
    failure = peep.DownloadError(requirement, "https://u:pw@host/f: HTTP 500 \x1b[31mred\x1b[0m")
    report = peep.format_report([failure])
    assert "\x1b" not in report and "\\x1b[31m" in report and "pw" not in report


# --- Parsing in linear time ---------------------------------------------------

_HOSTILE_PAGES = """
import peep
peep.load_packaging()
size = 512 * 1024
for unit in ('<a href="x', '<a ', "<a x='", '<!--', '<![', '</', '<a' ):
    page = unit * (size // len(unit))
    peep.parse_html_links(page, "https://host/simple/a/", lambda name: True)
name = "a-" * (size // 2) + "1.0.tar.gz"
assert not peep.is_archive_name(name)
assert peep.parse_archive_name(name, "b") is None
page = "".join('<a href="%s">x</a>' % ("a-" * 200 + str(i) + ".tar.gz") for i in range(600))
links = peep.parse_html_links(page, "https://host/simple/a/", peep._MayMatch(
    peep.Requirement(text="a-a", origin=peep.Origin("r.txt", 1), name="a-a")))
print("done")
"""


def test_hostile_pages_and_names_parse_in_bounded_work() -> None:
    # Before: html.parser took minutes on these (quadratic), and the names'
    # split was quadratic in their length. The timeout is ten times what a
    # slow machine needs now, and a fraction of what the old code needed.
    result = subprocess.run(
        [sys.executable, "-c", _HOSTILE_PAGES], cwd=ROOT, capture_output=True, text=True,
        timeout=60, env={"PYTHONPATH": str(ROOT), "PATH": ""},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "done\n"


def test_page_scan_reads_tags_like_html() -> None:
    peep.load_packaging()
    page = textwrap.dedent("""\
        <!-- <a href="/commented-1.0.tar.gz"> -->
        <BASE href="/files/">
        <img alt='<a href="/in-attribute-1.0.tar.gz">'>
        <A HREF="a-1.0.tar.gz#sha256=AB" data-requires-python="&gt;=3.8" data-yanked>a</A>
        <a href=b-1.0.zip>b</a>
        <a href="c-1.0.tar.gz
    """)
    links = peep.parse_html_links(page, "https://host/simple/a/")
    assert [(link.url, link.requires_python, link.yanked) for link in links] == [
        ("https://host/files/a-1.0.tar.gz#sha256=AB", ">=3.8", ""),
        ("https://host/files/b-1.0.zip", None, None),
    ]
