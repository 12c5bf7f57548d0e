"""How good are generated digits, and for what? Classifiers, scores and distances.

The public API, in two modules:

- :mod:`synthbook.metrics.classifiers`: :class:`Classifier`,
  :func:`train_classifier` (one model), :func:`train_classifiers` (many at
  once, as one batched model), :func:`accuracy`,
  :func:`load_or_train_classifier` and :func:`load_or_train_judge`.
- :mod:`synthbook.metrics.quality`: GAN-test and GAN-train (Shmelkov et al.
  2018), the Fréchet distance in the judge's feature space with its
  real-vs-real floor, k-NN precision and recall (Kynkäänniemi et al. 2019),
  nearest-neighbour distances, and :func:`evaluate_generator`.
"""

from synthbook.metrics.classifiers import (
    CLASSIFIER_ARCHES,
    JUDGE_MAX_SHIFT,
    Classifier,
    accuracy,
    load_or_train_classifier,
    load_or_train_judge,
    train_classifier,
    train_classifiers,
)
from synthbook.metrics.quality import (
    GAN_TRAIN_EPOCHS,
    evaluate_generator,
    frechet_distance,
    gan_test_accuracy,
    gan_train_accuracy,
    judge_features,
    knn_precision_recall,
    nearest_neighbour_distances,
    real_vs_real_frechet,
)

__all__ = [
    "CLASSIFIER_ARCHES",
    "GAN_TRAIN_EPOCHS",
    "JUDGE_MAX_SHIFT",
    "Classifier",
    "accuracy",
    "evaluate_generator",
    "frechet_distance",
    "gan_test_accuracy",
    "gan_train_accuracy",
    "judge_features",
    "knn_precision_recall",
    "load_or_train_classifier",
    "load_or_train_judge",
    "nearest_neighbour_distances",
    "real_vs_real_frechet",
    "train_classifier",
    "train_classifiers",
]
