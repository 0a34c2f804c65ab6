"""Packaging for peep. peep itself is the one file peep.py; this only installs it."""

import re
from pathlib import Path

from setuptools import setup


def read_version() -> str:
    """Read __version__ from peep.py as text, so importing peep is never needed."""
    text = (Path(__file__).resolve().parent / "peep.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__ = "([^"]+)"$', text, re.MULTILINE)
    if match is None:
        raise RuntimeError("peep.py has no __version__ line")
    return match.group(1)


setup(
    name="peep",
    version=read_version(),
    description='A "pip install" that is cryptographically guaranteed repeatable',
    long_description=(Path(__file__).resolve().parent / "README.rst").read_text(encoding="utf-8"),
    long_description_content_type="text/x-rst",
    license="MIT",
    py_modules=["peep"],
    python_requires=">=3.9",
    # Deliberately none: "pip install peep" must not pull in an unverified
    # package. peep borrows packaging from pip's vendored copy when needed.
    install_requires=[],
    entry_points={"console_scripts": ["peep = peep:main"]},
    classifiers=[
        "Environment :: Console",
        "Intended Audience :: Developers",
        "Intended Audience :: System Administrators",
        "License :: OSI Approved :: MIT License",
        "Programming Language :: Python :: 3",
        "Topic :: Security",
        "Topic :: System :: Installation/Setup",
    ],
)
