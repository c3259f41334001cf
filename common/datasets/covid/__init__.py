"""HW1 COVID-19 regression CSVs (2021, 2022 and 2023 layouts)."""

from __future__ import annotations

from pathlib import Path

from common.datasets import DataFormat
from common.datasets.covid.load import (
    TARGET,
    CovidFormatError,
    CovidTable,
    find_covid_files,
    load_covid,
    load_covid_csv,
)
from common.datasets.covid.synthetic import write_synthetic
from common.fetch import RemoteFile, gdrive, sha256sum

# sha256 of every year's real files (the CRLF originals and git's LF copies), so a folder of
# 2021 or 2023 files is recognised as real too.
REAL_SHA256 = {
    "e812bde2705d52f97babd166cfe09dbed7e157fd1f92d3ea529daa69a542e5a1": "2022 covid.train.csv",
    "298378b3db6a233e6cba686533c55844072b7c84e5e2eecf830a9e86a8dce475": "2022 covid.train.csv (LF)",
    "79b53506b5a7145ec58cef47b51985601eae9ce6eee1f6a34f2e380b5d9f7e0a": "2022 covid.test.csv",
    "d7bc0afb67a741638d745efa53dd4f967ca65f1e774957e701ff7822af6a37c3": "2022 covid.test.csv (LF)",
    "e074c2226c9aff09ed8c24cdbeee91488e6ac119268568e9cad1c6f78e85fdd4": "2021 covid.train.csv",
    "7b70cccab9712a6f6c780eddbdde2484a43c98e1b63b765d64692b8f2ed9225a": "2021 covid.train.csv (LF)",
    "87be5fdfff13ec6e499fa7718fc4e4e0272a4942a5b5c5faca2ff9778a2e4f8f": "2021 covid.test.csv",
    "6b5ba63b3d025889ebe7ee222b23b39d1a0c45761cfb3babfaa20a5ec0dbc051": "2021 covid.test.csv (LF)",
    "c983dff31c12e67e751f37d98044b516e59d7d40d7c21f491066be2b8fb017fc": "2023 covid_train.csv",
    "94376206ce5d32e5fdfb6e89e01ad740814d06baff6108b1988599926b9069de": "2023 covid_train.csv (LF)",
    "330aeee0567ac59e756ef0dfb093e02f3a9af5b6291f4b955d283823b33b75c3": "2023 covid_test.csv",
    "f5626c9f6bd95abd2d535068c7e54d7e2ea6b931687c0d6530e3ec54c1cc5954": "2023 covid_test.csv (LF)",
}


def verify_real(folder: Path) -> str | None:
    """None if ``folder`` holds a train/test pair of some year's real files, else why not."""
    try:
        pair = find_covid_files(folder)
    except FileNotFoundError as err:
        return str(err)
    unknown = [p.name for p in pair if sha256sum(p) not in REAL_SHA256]
    return f"{', '.join(unknown)}: not the course's file (sha256)" if unknown else None


FORMAT = DataFormat(
    key="hw1",
    folder="hw1_covid_2022",
    description="ML2022Spring HW1 COVID-19 (Kaggle ml2022spring-hw1)",
    kaggle="ml2022spring-hw1",
    files=(
        RemoteFile("covid.train.csv",
                   ("e812bde2705d52f97babd166cfe09dbed7e157fd1f92d3ea529daa69a542e5a1",
                    "298378b3db6a233e6cba686533c55844072b7c84e5e2eecf830a9e86a8dce475"),
                   (gdrive("1kLSW_-cW2Huj7bh84YTdimGBOJaODiOS"),
                    "https://www.dropbox.com/s/lmy1riadzoy0ahw/covid.train.csv?dl=1")),
        RemoteFile("covid.test.csv",
                   ("79b53506b5a7145ec58cef47b51985601eae9ce6eee1f6a34f2e380b5d9f7e0a",
                    "d7bc0afb67a741638d745efa53dd4f967ca65f1e774957e701ff7822af6a37c3"),
                   (gdrive("1iiI5qROrAhZn-o4FPqsE97bMzDEFvIdg"),
                    "https://www.dropbox.com/s/zalbw42lu4nmhr2/covid.test.csv?dl=1")),
    ),
    write_synthetic=write_synthetic,
    check=lambda folder: load_covid(*find_covid_files(folder)),
    verify_real=verify_real,
)
