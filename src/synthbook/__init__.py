"""Helpers for the teaching module *The Politics of Synthetic Data*.

The chapters import this package for plumbing that two or more of them share:
loading MNIST (:mod:`synthbook.data`), seeding and thread settings
(:mod:`synthbook.repro`), a small on-disk cache (:mod:`synthbook.cache`), a tiny
conditional GAN (:mod:`synthbook.gan`), evaluation metrics
(:mod:`synthbook.metrics`) and widgets (:mod:`synthbook.widgets`).
Instructors drive the same code from the command line: ``python -m synthbook --help``.
"""

__version__ = "0.1.0"
