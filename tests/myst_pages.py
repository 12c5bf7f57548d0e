"""What the tests need to write a MyST Markdown notebook as the book's chapters are."""

from __future__ import annotations

#: The jupytext front matter every chapter and exercise source starts with.
MYST_HEADER = """\
---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
    format_version: 0.13
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
"""
