"""Plots (common.plotting): the confusion matrix drawn is the row-normalised one."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from common.plotting import plot_confusion  # noqa: E402


def test_confusion_is_row_normalised_with_absent_classes_zero(tmp_path):
    y_true = np.array([0, 0, 0, 0, 2, 2, 1])
    y_pred = np.array([0, 0, 1, 2, 2, 2, 0])
    fig = plot_confusion(y_true, y_pred, n_classes=4, path=tmp_path / "cm.png")
    rates = np.asarray(fig.axes[0].images[0].get_array())
    expected = np.array([[0.5, 0.25, 0.25, 0],  # true 0: 2 right, one each as 1 and 2
                         [1, 0, 0, 0],            # true 1: predicted 0
                         [0, 0, 1, 0],            # true 2: both right
                         [0, 0, 0, 0]])           # class 3 never occurs: zeros, not NaN
    np.testing.assert_array_equal(rates, expected)
    assert (tmp_path / "cm.png").stat().st_size > 0
    plt.close(fig)
