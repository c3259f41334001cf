"""HW2: training throughput (labelled frames per second, CPU) of the boss model (a BiLSTM over
whole utterances, every frame labelled in one pass) vs the popular recipe: the same BiLSTM run
over each frame's own 61-frame window, reading one output per window.

    python benchmarks/hw2_throughput.py
    python benchmarks/hw2_throughput.py --threads 2 --steps 5

Both models have the boss preset's size (front end 256, 3 bidirectional LSTM layers of 256);
the comparison pair uses a 1-frame front end so the two have exactly the same parameters. One
step = forward + backward + AdamW update on one batch of the default synthetic set.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence  # noqa: E402

from benchmarks.harness import machine, write_report  # noqa: E402
from common.data import synthetic_data_dir  # noqa: E402
from common.datasets.libriphone import load_libriphone  # noqa: E402
from hw2_phoneme.batches import SequenceBatches, WindowBatches  # noqa: E402
from hw2_phoneme.models import PRESETS, BiRNNTagger, sequence_forward  # noqa: E402
from tests.reference_hw2 import WindowBiRNN  # noqa: E402


def frames_per_second(model: nn.Module, loader, forward, steps: int) -> tuple[float, int, float]:
    """Train ``steps`` batches after one warm-up batch; returns (frames/s, frames, seconds)."""
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    crit = nn.CrossEntropyLoss()
    model.train()
    it = iter(loader)
    frames, seconds = 0, 0.0
    for step in range(steps + 1):
        batch = next(it)
        t0 = time.perf_counter()
        out, target = forward(model, batch)
        loss = crit(out, target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step > 0:  # the first step warms up allocators
            seconds += time.perf_counter() - t0
            frames += len(target)
    return frames / seconds, frames, seconds


class PackedTagger(nn.Module):
    """The textbook alternative to :class:`BiRNN`: ``nn.LSTM(bidirectional=True)`` on a
    ``pack_padded_sequence`` (same front end, head and parameter count)."""

    def __init__(self, tagger: BiRNNTagger, hidden_dim: int, hidden_layers: int, dropout: float):
        super().__init__()
        self.tagger = tagger
        self.lstm = nn.LSTM(tagger.rnn.fwd[0].input_size, hidden_dim, hidden_layers,
                            batch_first=True, bidirectional=True, dropout=dropout)
        del self.tagger.rnn

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        packed = pack_padded_sequence(self.tagger.front_end(x, lengths), lengths, batch_first=True,
                                      enforce_sorted=False)
        out, _ = pad_packed_sequence(self.lstm(packed)[0], batch_first=True, total_length=x.shape[1])
        return self.tagger.head(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--window-batch", type=int, default=256)
    parser.add_argument("--packed-steps", type=int, default=1,
                        help="timed steps of the packed nn.LSTM variant (0: skip; it is slow on CPU)")
    parser.add_argument("--out", default=str(Path(__file__).with_name("RESULTS_hw2_throughput.md")))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    data = load_libriphone(synthetic_data_dir("hw2", seed=0), "train")
    boss = PRESETS["boss"]
    size = dict(front_dim=boss["front_dim"], hidden_dim=boss["hidden_dim"],
                hidden_layers=boss["hidden_layers"], rnn=boss["rnn"], dropout=boss["dropout"])
    seqs = SequenceBatches(data, batch_size=boss["batch_size"], shuffle=True, seed=0)
    wins = WindowBatches(data, concat_nframes=61, batch_size=args.window_batch, shuffle=True, seed=0)
    runs = {
        "boss preset: BiLSTM over whole utterances, 5-frame front end":
            (BiRNNTagger(concat_nframes=boss["concat_nframes"], **size), seqs, sequence_forward),
        "same, 1-frame front end (same parameters as the window model)":
            (BiRNNTagger(concat_nframes=1, **size), seqs, sequence_forward),
        "BiLSTM over 61-frame windows, centre output only":
            (WindowBiRNN(concat_nframes=61, **size), wins, lambda m, b: (m(b[0]), b[1])),
    }
    if args.packed_steps:
        packed = PackedTagger(BiRNNTagger(concat_nframes=1, **size), size["hidden_dim"],
                              size["hidden_layers"], size["dropout"])
        runs["1-frame front end, but nn.LSTM(bidirectional=True) on pack_padded_sequence"] = (
            packed, seqs, sequence_forward)
    results = []
    for name, (model, loader, forward) in runs.items():
        steps = args.packed_steps if isinstance(model, PackedTagger) else args.steps
        fps, frames, secs = frames_per_second(model, loader, forward, steps)
        n_params = sum(p.numel() for p in model.parameters())
        print(f"{name}: {fps:,.0f} frames/s ({frames} frames in {secs:.1f} s), {n_params:,} params", flush=True)
        results.append((name, fps, frames, secs, n_params))
    window_fps = next(r[1] for r in results if r[0].startswith("BiLSTM over 61"))
    lines = [
        "# HW2: training throughput, boss BiLSTM (whole utterances) vs 61-frame-window BiLSTM",
        "",
        f"Command: `python benchmarks/hw2_throughput.py --threads {args.threads} --steps {args.steps} "
        f"--window-batch {args.window_batch} --packed-steps {args.packed_steps}`",
        "",
        f"Machine: {machine()}; {args.threads} torch thread(s); "
        f"shared with other jobs during the run. Data: default **synthetic** libriphone "
        f"({len(data)} training utterances). Size: front end {size['front_dim']}, "
        f"{size['hidden_layers']} bidirectional {size['rnn'].upper()} layers of "
        f"{size['hidden_dim']}. Utterance batches: {boss['batch_size']} utterances, length-bucketed; "
        f"window batches: {args.window_batch} windows. Timed: {args.steps} training steps "
        f"(forward + backward + AdamW) after 1 warm-up step ({args.packed_steps} for the packed variant), "
        f"measured one after the other in one run.",
        "",
        "| model | params | frames timed | seconds | frames/s | vs window model |",
        "|---|---|---|---|---|---|",
    ]
    for name, fps, frames, secs, n_params in results:
        lines.append(f"| {name} | {n_params:,} | {frames:,} | {secs:.1f} | {fps:,.0f} | "
                     f"{fps / window_fps:.1f}x |")
    lines += ["", "Goal of the issue: the boss model at least 20x the window model's frames/s."]
    write_report(args.out, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
