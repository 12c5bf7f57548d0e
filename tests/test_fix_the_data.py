"""Fix the data: the batched designs equal separate training; pruning; summaries."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from synthbook import metrics
from synthbook.chapters import fix_the_data as ftd
from synthbook.data import book_splits, load_mnist


@pytest.fixture(scope="module")
def small() -> tuple[torch.Tensor, torch.Tensor]:
    data = book_splits(load_mnist("embedded", verbose=False), seed=0).train
    return data.images[:400], data.labels[:400]


def test_joint_training_equals_training_one_by_one(small) -> None:
    images, labels = small
    joint, snaps = ftd.train_widths(
        images,
        labels,
        (8, 32),
        epochs=3,
        seed=4,
        snapshot_width=32,
        snapshot_epochs=(1, 3),
    )
    for width in (8, 32):
        alone = metrics.train_classifier(
            images, labels, arch="mlp", width=width, epochs=3, seed=4
        )
        for a, b in zip(joint[width].parameters(), alone.parameters(), strict=True):
            assert torch.allclose(a, b, atol=1e-4)
    one_epoch = metrics.train_classifier(
        images, labels, arch="mlp", width=32, epochs=1, seed=4
    )
    for a, b in zip(snaps[1].parameters(), one_epoch.parameters(), strict=True):
        assert torch.allclose(a, b, atol=1e-4)
    assert not snaps[3].training and set(snaps) == {1, 3}


def test_pruning_zeroes_the_smallest_weights_of_a_copy(small) -> None:
    images, labels = small
    model = ftd.train_widths(images, labels, (16,), epochs=1, seed=0)[0][16]
    cut = ftd.pruned(model, 0.7)
    assert ftd.zero_share(model) == 0.0  # the original is untouched
    assert ftd.zero_share(cut) == pytest.approx(0.7, abs=1e-3)
    weights = torch.cat(
        [m.weight.flatten() for m in model.modules() if hasattr(m, "weight")]
    )
    kept = torch.cat(
        [m.weight.flatten() for m in cut.modules() if hasattr(m, "weight")]
    )
    threshold = weights.abs().sort().values[int(0.7 * len(weights))]
    assert (kept[weights.abs() > threshold] != 0).all()
    with pytest.raises(ValueError, match="sparsity"):
        ftd.pruned(model, 1.0)
    with pytest.raises(ValueError, match="sparsity"):
        ftd.pruned(model, -0.1)


def _rows() -> list[dict]:
    """Constructed results: pruning costs the rare digit 10 points more, every seed."""
    rows = []
    for seed in range(4):
        for data in ftd.DATA:
            for choice, settings in ftd.DESIGNS.items():
                for setting in settings:
                    hurt = setting if choice == "sparsity" else 0.0
                    rows.append(
                        {"seed": seed, "data": data, "choice": choice, "setting": setting,
                         "accuracy": 0.9 - 0.1 * hurt + 0.01 * seed,
                         "rare_recall": 0.8 - 0.2 * hurt + 0.01 * (seed % 2)}
                    )  # fmt: skip
    return rows


def test_summaries_read_constructed_results() -> None:
    rows = _rows()
    cost = ftd.pruning_cost(rows, "long tail", 0.5, "rare_recall")
    assert np.allclose(cost, 10.0)
    assert ftd.spread(rows, "rebalanced", "sparsity", "accuracy") == pytest.approx(9.5)
    gap = ftd.paired(
        rows, ("long tail", "sparsity", 0.9), ("long tail", "sparsity", 0.0)
    )
    assert gap[0] == pytest.approx(-18.0) and gap[2] < 0
    assert ftd.difference_reading(gap) == "below"
    assert ftd.difference_reading((1.0, -1.0, 3.0)) == "not distinguishable from"
    assert ftd.cost_reading((5.0, 4.0, 6.0)) == "rare digit paid more"
    assert ftd.cost_reading((-5.0, -6.0, -4.0)) == "accuracy paid more"
    table = ftd.pruning_table(rows, 8)
    assert table.count("rare digit paid more") == 2 * (len(ftd.DESIGNS["sparsity"]) - 1)
    assert "| width 16 |" in ftd.results_table(rows, 8)
    assert "below the unfixed reference" in ftd.fix_table(rows, 8)
    assert ftd.spread_table(rows, 8).count("\n") == 1 + len(ftd.DESIGNS)
    fig = ftd.plot_tradeoff(rows, 8)
    tags = [t.get_text() for ax in fig.axes for t in ax.texts if t.get_text().isupper()]
    assert sorted(tags) == ["REAL AND SYNTHETIC DIGITS", "REAL DIGITS"]
    plt.close(fig)


def test_labels_and_bad_inputs() -> None:
    assert (
        ftd.label("epochs", 1) == "1 epoch"
        and ftd.label("sparsity", 0.9) == "90% pruned"
    )
    with pytest.raises(ValueError, match="unknown design choice"):
        ftd.label("depth", 3)
    with pytest.raises(ValueError, match="no rows"):
        ftd.per_seed([], "long tail", "width", 16, "accuracy")
    with pytest.raises(ValueError, match="one label per image"):
        ftd.train_widths(torch.zeros(3, 28, 28), torch.zeros(2), (8,), epochs=1, seed=0)


def test_pruning_table_prints_a_share_that_rounds_to_zero_as_zero() -> None:
    """A tiny gain from pruning (a negative cost) rounds to "0%", never "-0%"."""
    rows = _rows()
    before = {
        (r["seed"], r["data"]): r
        for r in rows
        if r["choice"] == "sparsity" and r["setting"] == 0.0
    }
    for r in rows:
        if r["choice"] == "sparsity" and r["setting"] == 0.5:
            base = before[r["seed"], r["data"]]
            r["accuracy"] = base["accuracy"] + 0.001  # 0.1 points better
            r["rare_recall"] = base["rare_recall"]
    table = ftd.pruning_table(rows, 8)
    assert "-0%" not in table
    assert table.count("| 0% |") >= len(ftd.DATA)
