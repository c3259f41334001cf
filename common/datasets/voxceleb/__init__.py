"""HW4 speaker classification data (ML2022Spring, 600 VoxCeleb speakers, 40-dim log-mel).

Layout of ``Dataset/``::

    metadata.json  {"n_mels": 40, "speakers": {name: [{"feature_path": "uttr-<hex>.pt", "mel_len": T}, ...]}}
    testdata.json  {"n_mels": 40, "utterances": [{"feature_path": ..., "mel_len": T}, ...]}
    mapping.json   {"speaker2id": {name: id}, "id2speaker": {"0": name, ...}}   (string keys)
    uttr-*.pt      one float tensor [T, 40] per utterance
"""

from common.datasets import DataFormat
from common.datasets.voxceleb.fetch import fetch_real
from common.datasets.voxceleb.load import (
    N_MELS,
    FeatureStore,
    VoxCelebData,
    VoxCelebFormatError,
    load_dataset,
    load_features,
    summary,
)
from common.datasets.voxceleb.synthetic import (
    SMOKE_SPEC,
    SyntheticSpec,
    synthetic_test_labels,
    write_synthetic,
)
from common.fetch import RemoteFile

FORMAT = DataFormat(
    key="hw4",
    folder="Dataset",
    description="ML2022Spring HW4 speaker classification (Kaggle ml2022spring-hw4), about 6.9 GB",
    kaggle="ml2022spring-hw4",
    # sha256 from the maintainers' manifest of the real Dataset/ (see tests/test_hw4_voxceleb.py)
    files=(
        RemoteFile("metadata.json", ("bf4e0aa43e69d735e560d1e471160bbc91f821cee41823df0907412b61c8cf9c",)),
        RemoteFile("testdata.json", ("b41c02c44703e70ec5241b63db8ce14b7e88f4d3ec3aeda538233c74322e3378",)),
        RemoteFile("mapping.json", ("2f0d158521f5fbc98e03139494b504a8358acdb7d3792ca78fb20f75026c4308",)),
    ),
    write_synthetic=write_synthetic,
    check=lambda folder: load_dataset(folder, check_files=False),
    fetch=fetch_real,
    manual_steps="download the four Dataset.tar.gz.part* files (6.9 GB) of the GitHub release "
                 "MachineLearningHW/ML_HW4_Dataset, `cat Dataset.tar.gz.part* | tar xz`, and put "
                 "the Dataset/ folder there (or `kaggle competitions download -c ml2022spring-hw4` "
                 "and unzip it there);",
)
