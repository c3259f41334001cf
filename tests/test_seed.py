import numpy as np
import torch
from torch import nn

from common.seed import set_seed


def _weights(seed: int) -> list[torch.Tensor]:
    set_seed(seed)
    return [p.detach().clone() for p in nn.Sequential(nn.Linear(8, 16), nn.Linear(16, 1)).parameters()]


def test_same_seed_gives_identical_weights_and_streams():
    a, b, c = _weights(5201314), _weights(5201314), _weights(1)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not all(torch.equal(x, y) for x, y in zip(a, c))
    set_seed(3)
    first = (np.random.rand(), torch.rand(1).item())
    set_seed(3)
    assert (np.random.rand(), torch.rand(1).item()) == first


def test_deterministic_asks_torch_for_deterministic_kernels():
    try:
        set_seed(0, deterministic=True)
        assert torch.are_deterministic_algorithms_enabled()
        assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
    finally:
        torch.use_deterministic_algorithms(False)
        torch.backends.cudnn.deterministic = False
