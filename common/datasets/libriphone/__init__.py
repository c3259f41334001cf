"""HW2 "libriphone" (framewise phoneme classification, ML2022Spring HW2); the layout is
described in :mod:`common.datasets.libriphone.load`."""

from common.datasets import DataFormat
from common.datasets.libriphone.fetch import fetch_libriphone
from common.datasets.libriphone.load import (
    FEAT_DIM,
    IGNORE_INDEX,
    N_CLASSES,
    SILENCE,
    FlatFeatures,
    LibriphoneFormatError,
    load_feature,
    load_libriphone,
    read_labels,
    read_split,
    verify_layout,
)
from common.datasets.libriphone.synthetic import write_synthetic
from common.fetch import RemoteFile

FORMAT = DataFormat(
    key="hw2",
    folder="libriphone",
    description="ML2022Spring HW2 phoneme classification (Kaggle ml2022spring-hw2)",
    kaggle="ml2022spring-hw2",
    files=(
        RemoteFile("train_split.txt",
                   ("145aaa826c54f80cff1c1ee788258ec202d454529aa22b7ace07e982921fd7aa",)),
        RemoteFile("test_split.txt",
                   ("82f5d89e494cb7512d03f7e9f8ad63cf6ad9b1c77c9dee44b6ed3956b6469c00",)),
        RemoteFile("train_labels.txt", ()),  # no published digest: the layout is checked instead
    ),
    write_synthetic=write_synthetic,
    check=lambda folder: verify_layout(folder, check_frames=False),
    fetch=fetch_libriphone,
    manual_steps="the official notebook downloads libriphone.zip (GitHub release xraychen/"
                 "shiny-robot v1.0, Drive, Dropbox); unzip it so that libriphone/feat/train/*.pt exists",
)
