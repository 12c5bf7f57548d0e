"""One module per chapter of the book, named after it.

Each holds the experiment, figures and panels of its chapter; chapters import
the core modules of :mod:`synthbook`, never each other.
"""
