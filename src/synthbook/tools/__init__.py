"""Authoring and teaching tools (command line, benchmarks, exercise generator).

Nothing in the runtime package imports these modules; chapters never need them.
"""
