"""HW2-2 (ML2021Spring, Hessian matrix): the checkpoint file ``data.pth``."""

from common.datasets import DataFormat
from common.datasets.sinc.load import (
    FILE_NAME,
    N_ENTRIES,
    CheckpointFormatError,
    MathRegressor,
    SincCheckpoint,
    load_checkpoints,
    sinc,
)
from common.datasets.sinc.synthetic import train_sinc_checkpoint, write_synthetic
from common.fetch import RemoteFile, gdrive

FORMAT = DataFormat(
    key="hw2_2",
    folder="hw2_hessian",
    description="ML2021Spring HW2-2 Hessian checkpoints (data.pth)",
    files=(RemoteFile(FILE_NAME, ("47fea2972f729c7e95088c5e5ca57c248e5196d7670d30be7a4daed8d408a9b9",),
                      (gdrive("1ym6G7KKNkbsqSnMmnxdQKHO1JBoF0LPR"),)),),
    write_synthetic=write_synthetic,
    check=load_checkpoints,
)
