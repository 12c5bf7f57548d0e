import matplotlib
import numpy as np
import pytest
import torch
from torchvision.utils import make_grid

from synthbook import plotting

matplotlib.use("Agg")


@pytest.mark.parametrize(("count", "nrow"), [(7, 3), (20, 10), (10, 10), (13, 5)])
def test_digit_grid_lays_out_tiles_like_torchvision(count: int, nrow: int) -> None:
    images = torch.rand(count, 28, 28, generator=torch.Generator().manual_seed(count))
    expected = make_grid(images.unsqueeze(1), nrow=nrow, padding=2, pad_value=0.0)[0]
    assert np.array_equal(plotting.digit_grid(images, nrow=nrow), expected.numpy())


def test_digit_grid_refuses_a_single_image_without_its_batch_axis() -> None:
    with pytest.raises(ValueError, match=r"\(N, H, W\)"):
        plotting.digit_grid(np.zeros((28, 28)))


def test_provenance_tag_is_drawn_and_checked() -> None:
    fig = plotting.show_digits(torch.zeros(4, 28, 28), nrow=4, provenance="synthetic")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == ["SYNTHETIC DIGITS"]
    with pytest.raises(ValueError, match="provenance"):
        plotting.show_digits(torch.zeros(4, 28, 28), provenance="fake")
