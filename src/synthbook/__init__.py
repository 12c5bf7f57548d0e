"""Helpers for the teaching module *The Politics of Synthetic Data*.

The public API, in one place, by role. Each role imports only the ones above it:
chapters import core modules and never each other, and nothing that a chapter or
an exercise runs imports the tools (``tests/test_layering.py``). Modules that
define ``__all__`` list their public names there; ``tests/test_public_api.py``
checks that this list names every module on disk and that each imports.

Core: what the chapters and exercises import

- :mod:`synthbook.data`: MNIST (the embedded 5,000-image sample by default,
  ``SYNTHBOOK_DATA=mnist`` for the full set), :class:`~synthbook.data.MnistData`,
  stratified splits and the book's three splits (``book_splits``).
- :mod:`synthbook.repro`: ``setup`` seeds everything and fixes the thread count
  (one torch thread unless ``SYNTHBOOK_THREADS`` says otherwise).
- :mod:`synthbook.cache`: the checksummed, atomically written on-disk cache
  (``SYNTHBOOK_CACHE``): ``save_checked``, ``load_checked``, ``make_key``.
- :mod:`synthbook.versions`: ``code_version``, the code part of every cache key.
- :mod:`synthbook.validate`: ``check_count``, ``check_digit``, ``check_seed``,
  ``check_probability`` and the other argument checks behind every clear error.
- :mod:`synthbook.gan`: the tiny conditional GAN: ``GANConfig``, ``train_gan``,
  ``load_or_train``, ``generate``, ``sample_latents``, checkpoints.
- :mod:`synthbook.metrics`: classifiers (one or many at once), the judge, and
  GAN quality: GAN-test/GAN-train, Fréchet distance, k-NN precision and recall.
- :mod:`synthbook.stats`: ``mean_interval``, ``summarise``, ``paired_difference``
  (the book's one rule for "better": an interval that excludes no effect).
- :mod:`synthbook.tails`: long tails on purpose (a rare digit or style), style
  scores, perturbations, and the GAN trained on the book's long tail.
- :mod:`synthbook.membership`: distances to the closest record and membership
  attacks, for any generator.
- :mod:`synthbook.plotting`: digit grids that say whether they show real,
  synthetic or mixed data (``show_digits``, ``label_provenance``), ``OKABE_ITO``.
- :mod:`synthbook.widgets`: panels that work live and in the static book:
  ``generator_panel`` (the generator in the reader's browser), ``render``,
  ``precomputed_panel``, images with alt text.
- :mod:`synthbook.checks`: the exercises' check primitives (``check_close``,
  ``check_equal``, ...); the answer keys live beside the exercises, in
  ``exercise_keys``.

Chapters: one module or subpackage per chapter, named after it

- :mod:`synthbook.chapters.variability`: *Variability, exposure and the odd*:
  ways to refill a rare digit, shocks, the experiment over seeds, its panels.
- :mod:`synthbook.chapters.separating_power`: *Separating power*: the 2-D view,
  synthetic pools and labelling rules, the experiment and its controls, panels.
- :mod:`synthbook.chapters.no_real_risk`: *No real data, no real risk?*:
  generated diversity for writers the training data left out.
- :mod:`synthbook.chapters.too_real`: *Too real, not real enough*: copying
  statistics, the data-copying test, attacks by training size and length.
- :mod:`synthbook.chapters.differential_privacy`: *A defence with a price*:
  DP-SGD training through the one GAN trainer, budgets, the privacy/fidelity
  curve.
- :mod:`synthbook.chapters.fix_the_data`: *Fix the data, fix the algorithm?*:
  the same data through different model designs.
- :mod:`synthbook.chapters.precision`: *Precision, portability and the
  generated anomaly*: bespoke synthetic sets, their attacks, generated
  anomalies.

Tools: authoring and teaching, never imported at runtime

- :mod:`synthbook.tools.cli`: the command line, ``python -m synthbook COMMAND``.
- :mod:`synthbook.tools.bench`: ``python -m synthbook bench NAME``, one module
  per benchmark (``BENCHMARKS``).
- :mod:`synthbook.tools.build`: ``make book``: prepare, execute, build the HTML.
- :mod:`synthbook.tools.prepare`: the models several chapters share.
- :mod:`synthbook.tools.execution`: notebooks a few at a time, memory measured.
- :mod:`synthbook.tools.inputs`: what a notebook's cached run depends on.
- :mod:`synthbook.tools.memory`: a kernel's peak memory and its CUDA part.
- :mod:`synthbook.tools.sessions`: learner sessions, and warming a cache.
- :mod:`synthbook.tools.exercises`: learner and solution notebooks and book
  pages from one source: finds the sources, writes the files, checks drift.
- :mod:`synthbook.tools.exercise_pages`: builds the three versions of one
  exercise (solution, learner notebook, book page) in memory.
- :mod:`synthbook.tools.lint`: ruff on the chapters' code cells.
- :mod:`synthbook.tools.checkpoints`: checkpoints and samples for the command
  line.
"""

__version__ = "0.1.0"
