"""Answer keys of the exercise notebooks, one module per chapter.

Each module has one ``check_task_N(...)`` function per task with a check: a
learner's check cell is a single call that passes the answers by name, e.g.

.. code-block:: python

    key.check_task_2(splits=splits, class_means=class_means,
                     closest_pair=closest_pair, closest_distance=closest_distance)

The function computes the expected values from the data, along a different
route from the one the solution takes (mostly PyTorch where the solutions use
NumPy, or a library where they count by hand), and compares them with the
answers through the check primitives of :mod:`synthbook.checks`, which print
``✓ ...`` or raise an :class:`AssertionError` that says what is wrong. So the
check cell does not show the route to the answer, and no expected value is
typed in.

The keys are not part of the runtime package ``synthbook``: they live beside
the exercises (``exercises/exercise_keys/``) and are installed with it as a
second top-level package (see ``[tool.setuptools.packages.find]`` in
``pyproject.toml``), so ``from exercise_keys import meet_the_data as key``
works wherever ``synthbook`` is installed: in the repository (an editable
install), in the book build, on Binder and JupyterHub, and on Colab after
``pip install`` of the repository.
"""
