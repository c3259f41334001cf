"""Speech-like data for HW2 and HW4, synthesised offline with the espeak-ng text-to-speech
engine and converted to the course's exact on-disk formats.

Why: the default synthetic sets (``common.datasets.libriphone`` / ``common.datasets.voxceleb``) were designed
by this project; these are recordings of a real speech synthesiser (many voices and accents,
pitch / speed / formant variation, per-recording channel colouring, noise, a competing
talker, non-speech stretches), so the presets can be checked on something speech-like that
nobody tuned the generator for.

Pieces (all deterministic given the seed):

* :class:`Espeak`: espeak-ng through its C library (``libespeak-ng.so.1``, ctypes), returning
  the waveform (22,050 Hz) **and the phoneme events** (the sample where each phoneme starts),
  so frame labels come from the synthesiser's own timing, not from a guess.
* :func:`phoneme_class`: espeak-ng's English phoneme names -> the 41 classes (0 = silence,
  1..39 = ARPAbet AA..ZH in alphabetical order, 40 = anything else, like ``spn``).
* :func:`mfcc39` (HW2: 25 ms / 10 ms frames, 13 MFCC + delta + delta-delta, per-utterance CMVN,
  Kaldi-style ``snip_edges``) and :func:`log_mel40` (HW4: the course's ``wav2mel``,
  ``torchaudio.MelSpectrogram(n_fft=400, hop=160, n_mels=40)`` then ``log(clamp(1e-9))``).
* :func:`frame_labels`: phoneme segments (in samples) -> one label per MFCC frame (the phoneme
  under each frame's centre).
* :func:`write_hw2` / :func:`write_hw4`: the folders (``libriphone/`` and ``Dataset/``
  layouts), plus the hidden answers (``synthetic_test_labels.txt`` / ``.json``) that the
  notebooks never read, and ``SYNTHETIC_SPEECH.md`` saying what the folder is.

It lives with the benchmarks because only they (and its tests) use it; the notebooks read its
folders like any other (``data_source="<folder>"``; labelled synthetic).

Command line (espeak-ng must be installed: ``apt-get install -y espeak-ng``)::

    python -m benchmarks.speech_data hw2 --seed 0   # -> <data root>/synthetic/libriphone-speech-seed0
    python -m benchmarks.speech_data hw4 --seed 0 --out DIR --set n_speakers=16
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import io
import json
import os
import pickle
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from scipy import signal

from common.datasets import SYNTHETIC_MARKER
from common.io import atomic_open
from common.paths import data_root

ESPEAK_RATE = 22050  # espeak-ng's output sample rate
SAMPLE_RATE = 16000  # LibriSpeech / VoxCeleb (the course's features)
WIN, HOP = 400, 160  # 25 ms / 10 ms at 16 kHz
N_CLASSES = 41
SILENCE = 0
OTHER = 40
INSTALL_HINT = "espeak-ng is not installed (Debian/Ubuntu/Colab: apt-get install -y espeak-ng)"

# ------------------------------------------------------------------------------------------
# Phoneme classes
# ------------------------------------------------------------------------------------------

ARPABET = ("AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH "
           "T TH UH UW V W Y Z ZH").split()
CLASS_NAMES = ["sil", *ARPABET, "spn"]  # 41 names, index = class id
assert len(CLASS_NAMES) == N_CLASSES

# espeak-ng's English phoneme mnemonics (phsource/ph_english*) -> ARPAbet. Decorated variants
# (``I2``, ``@2``, ``t#``, ``l/``, ...) fall back to their stem in :func:`phoneme_class`.
_ESPEAK_TO_ARPA = {
    # vowels
    "@": "AH", "@5": "AH", "a#": "AH", "V": "AH", "@L": "L", "@r": "ER", "3": "ER", "3:": "ER",
    "a": "AE", "aa": "AE", "A:": "AA", "A": "AA", "0": "AA", "A@": "AA", "O": "AO", "O:": "AO",
    "O@": "AO", "o@": "AO", "aI": "AY", "aI@": "AY", "aI3": "AY", "aU": "AW", "aU@": "AW",
    "e": "EH", "E": "EH", "e@": "EH", "eI": "EY", "i": "IY", "i:": "IY", "i@": "IH", "i@3": "IH",
    "I": "IH", "I#": "IH", "oU": "OW", "@U": "OW", "o:": "OW", "OI": "OY", "u": "UW", "u:": "UW",
    "U": "UH", "U@": "UH", "u@": "UH",
    # consonants
    "p": "P", "b": "B", "t": "T", "d": "D", "k": "K", "g": "G", "tS": "CH", "dZ": "JH",
    "f": "F", "v": "V", "T": "TH", "D": "DH", "s": "S", "z": "Z", "S": "SH", "Z": "ZH",
    "h": "HH", "m": "M", "n": "N", "N": "NG", "l": "L", "r": "R", "w": "W", "j": "Y",
    "n-": "N", "m-": "M", "l-": "L", "r-": "R", "t#": "T", "d#": "D", "z#": "Z",
}
_PAUSES = {"_", "_:", "_!", "_^_", "||", "|", ""}


def phoneme_class(name: str) -> int:
    """Class id (0..40) of an espeak-ng English phoneme mnemonic: pauses are silence (0), known
    phonemes their ARPAbet class (1..39), anything else 40."""
    if name in _PAUSES or name.startswith("_"):
        return SILENCE
    stem = name
    while stem:
        if stem in _ESPEAK_TO_ARPA:
            return 1 + ARPABET.index(_ESPEAK_TO_ARPA[stem])
        stem = stem[:-1]  # drop a decoration: "I2" -> "I", "@2" -> "@", "l/" -> "l"
    return OTHER


# ------------------------------------------------------------------------------------------
# espeak-ng through its C library
# ------------------------------------------------------------------------------------------

class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):  # espeak_EVENT (speak_lib.h)
    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint),
                ("text_position", ctypes.c_int), ("length", ctypes.c_int),
                ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", _EventId)]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                             ctypes.POINTER(_Event))
_EVENT_PHONEME, _EVENT_END = 7, 0
_PARAM = {"rate": 1, "volume": 2, "pitch": 3, "range": 4, "wordgap": 7}


def espeak_available() -> bool:
    """True when libespeak-ng can be loaded (the ``espeak-ng`` package)."""
    try:
        _load_library()
    except OSError:
        return False
    return True


def _load_library() -> ctypes.CDLL:
    name = ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1"
    return ctypes.CDLL(name)


class Espeak:
    """One espeak-ng engine in synchronous mode (one per process; not thread-safe).

    ``synth(text, voice, ...)`` returns ``(wav int16 [n] at 22,050 Hz, [(start_sample, name), ...])``
    where the list holds every phoneme event in order (pauses included).
    """

    _instance: Espeak | None = None

    def __init__(self) -> None:
        try:
            self.lib = _load_library()
        except OSError as err:
            raise RuntimeError(f"{INSTALL_HINT} ({err})") from None
        # AUDIO_OUTPUT_SYNCHRONOUS = 2, espeakINITIALIZE_PHONEME_EVENTS = 1
        rate = self.lib.espeak_Initialize(2, 0, None, 1)
        if rate != ESPEAK_RATE:
            raise RuntimeError(f"espeak_Initialize returned {rate}, expected {ESPEAK_RATE} Hz")
        self._chunks: list[np.ndarray] = []
        self._events: list[tuple[int, str]] = []
        self._cb = _CALLBACK(self._collect)  # kept alive as long as the engine
        self.lib.espeak_SetSynthCallback(self._cb)

    @classmethod
    def get(cls) -> Espeak:
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance

    def _collect(self, wav, n, events) -> int:
        if wav and n > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        i = 0
        while events[i].type != _EVENT_END:
            ev = events[i]
            if ev.type == _EVENT_PHONEME:
                self._events.append((int(ev.sample), ev.id.string.decode("ascii", "replace")))
            i += 1
        return 0

    def synth(self, text: str, voice: str = "en-us", rate: int = 175, pitch: int = 50,
              pitch_range: int = 50, wordgap: int = 0) -> tuple[np.ndarray, list[tuple[int, str]]]:
        """Synthesise ``text`` in a forked child of this process.

        espeak-ng keeps waveform-generator state from one call to the next (the same sentence
        comes out a few samples different every time), so every call runs in a fresh fork of
        the never-used engine: the output depends on the arguments only (deterministic data).
        """
        if not hasattr(os, "fork"):
            return self._synth(text, voice, rate, pitch, pitch_range, wordgap)
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: synthesise, send, exit without running any Python cleanup
            code = 0
            try:
                os.close(read_fd)
                result = pickle.dumps(self._synth(text, voice, rate, pitch, pitch_range, wordgap))
            except BaseException as err:  # noqa: BLE001 - reported to the parent
                result, code = pickle.dumps(err), 1
            with os.fdopen(write_fd, "wb") as w:
                w.write(result)
            os._exit(code)
        os.close(write_fd)
        with os.fdopen(read_fd, "rb") as r:
            payload = r.read()
        _, status = os.waitpid(pid, 0)
        result = pickle.loads(payload) if payload else RuntimeError(
            f"espeak-ng child exited with status {status} on {text!r}")
        if isinstance(result, BaseException):
            raise result
        return result

    def _synth(self, text: str, voice: str, rate: int, pitch: int, pitch_range: int,
               wordgap: int) -> tuple[np.ndarray, list[tuple[int, str]]]:
        if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise ValueError(f"espeak-ng has no voice {voice!r} (see `espeak-ng --voices`)")
        for key, value in (("rate", rate), ("pitch", pitch), ("range", pitch_range),
                           ("wordgap", wordgap), ("volume", 100)):
            self.lib.espeak_SetParameter(_PARAM[key], int(value), 0)
        self._chunks, self._events = [], []
        data = text.encode("utf-8") + b"\0"
        # espeak_Synth(text, size, position, POS_CHARACTER=1, end, espeakCHARS_UTF8=1, ...)
        err = self.lib.espeak_Synth(data, len(data), 0, 1, 0, 1, None, None)
        if err != 0:
            raise RuntimeError(f"espeak_Synth failed ({err}) on {text!r}")
        self.lib.espeak_Synchronize()
        wav = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        return wav, list(self._events)


def segments_from_events(events: Sequence[tuple[int, str]], n_samples: int
                         ) -> list[tuple[int, int, int]]:
    """Phoneme events -> ``[(start, end, class), ...]`` covering ``0..n_samples`` (each phoneme
    lasts until the next event; before the first event is silence)."""
    segs: list[tuple[int, int, int]] = []
    starts = [min(max(s, 0), n_samples) for s, _ in events]
    if not starts or starts[0] > 0:
        segs.append((0, starts[0] if starts else n_samples, SILENCE))
    for i, (s, (_, name)) in enumerate(zip(starts, events)):
        e = starts[i + 1] if i + 1 < len(starts) else n_samples
        if e > s:
            segs.append((s, e, phoneme_class(name)))
    return segs


# ------------------------------------------------------------------------------------------
# Features
# ------------------------------------------------------------------------------------------

def n_frames_snip(n_samples: int) -> int:
    """Frames of a Kaldi-style (``snip_edges``) 25 ms / 10 ms analysis of ``n_samples``."""
    return 0 if n_samples < WIN else 1 + (n_samples - WIN) // HOP


def _mel_filterbank(n_mels: int, n_fft: int, sr: int = SAMPLE_RATE, fmin: float = 0.0,
                    fmax: float | None = None) -> np.ndarray:
    """``[n_fft // 2 + 1, n_mels]`` triangular HTK-mel filters (torchaudio's default)."""
    fmax = sr / 2 if fmax is None else fmax

    def mel(f):
        return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

    def hz(m):
        return 700.0 * (10 ** (np.asarray(m) / 2595.0) - 1.0)

    freqs = np.linspace(0, sr / 2, n_fft // 2 + 1)
    pts = hz(np.linspace(mel(fmin), mel(fmax), n_mels + 2))
    down = (freqs[:, None] - pts[None, :-2]) / (pts[1:-1] - pts[:-2])[None, :]
    up = (pts[None, 2:] - freqs[:, None]) / (pts[2:] - pts[1:-1])[None, :]
    return np.maximum(0.0, np.minimum(down, up))


_FB_CACHE: dict[tuple, np.ndarray] = {}


def _fbank(n_mels: int, n_fft: int, fmin: float) -> np.ndarray:
    key = (n_mels, n_fft, fmin)
    if key not in _FB_CACHE:
        _FB_CACHE[key] = _mel_filterbank(n_mels, n_fft, fmin=fmin)
    return _FB_CACHE[key]


def deltas(x: np.ndarray, n: int = 2) -> np.ndarray:
    """HTK/Kaldi regression deltas over time of ``[T, D]`` (window ``n``, edges replicated)."""
    padded = np.pad(x, ((n, n), (0, 0)), mode="edge")
    t = len(x)
    num = sum(k * (padded[n + k:n + k + t] - padded[n - k:n - k + t]) for k in range(1, n + 1))
    return num / (2 * sum(k * k for k in range(1, n + 1)))


def mfcc39(wav: np.ndarray, cmvn: bool = True) -> np.ndarray:
    """float32 ``[T, 39]`` from a 16 kHz waveform: pre-emphasis 0.97, 25 ms Hamming windows every
    10 ms (``T = 1 + (n - 400) // 160``), 512-point power spectrum, 23 mel bands (20 Hz..8 kHz),
    log, DCT-II, 13 coefficients (c0 included), + delta + delta-delta, then per-utterance
    mean/variance normalisation (unbiased std, as in the real libriphone files)."""
    wav = np.asarray(wav, dtype=np.float64)
    t = n_frames_snip(len(wav))
    if t < 1:
        raise ValueError(f"waveform of {len(wav)} samples is shorter than one 25 ms frame")
    idx = np.arange(WIN)[None, :] + HOP * np.arange(t)[:, None]
    frames = wav[idx]
    frames = frames - frames.mean(1, keepdims=True)  # Kaldi removes each frame's DC offset
    frames = np.concatenate([frames[:, :1] * (1 - 0.97), frames[:, 1:] - 0.97 * frames[:, :-1]], 1)
    frames *= np.hamming(WIN)[None, :]
    power = np.abs(np.fft.rfft(frames, 512)) ** 2
    logmel = np.log(np.maximum(power @ _fbank(23, 512, 20.0), 1e-10))
    from scipy.fft import dct

    ceps = dct(logmel, type=2, norm="ortho", axis=1)[:, :13]
    d1 = deltas(ceps)
    feat = np.concatenate([ceps, d1, deltas(d1)], 1)
    if cmvn:
        feat = (feat - feat.mean(0)) / (feat.std(0, ddof=1 if t > 1 else 0) + 1e-8)
    return feat.astype(np.float32)


def log_mel40(wav: np.ndarray) -> np.ndarray:
    """float32 ``[T, 40]`` as the course's ``wav2mel``: ``MelSpectrogram(sample_rate=16000,
    n_fft=400, hop_length=160, n_mels=40)`` (Hann window, centred frames with reflect padding,
    ``T = 1 + n // 160``, power 2, HTK mel, no norm), then ``log(clamp(min=1e-9))``."""
    wav = np.asarray(wav, dtype=np.float64)
    padded = np.pad(wav, (WIN // 2, WIN // 2), mode="reflect")
    t = 1 + len(wav) // HOP
    idx = np.arange(WIN)[None, :] + HOP * np.arange(t)[:, None]
    frames = padded[idx] * signal.get_window("hann", WIN, fftbins=True)[None, :]
    power = np.abs(np.fft.rfft(frames, WIN)) ** 2
    mel = power @ _fbank(40, WIN, 0.0)
    return np.log(np.maximum(mel, 1e-9)).astype(np.float32)


def frame_labels(segments: Sequence[tuple[int, int, int]], n_samples: int) -> np.ndarray:
    """int64 ``[T]`` (T = :func:`n_frames_snip`): the class of the segment under each frame's
    centre (sample ``160 t + 200``); samples no segment covers are silence."""
    t = n_frames_snip(n_samples)
    centres = HOP * np.arange(t) + WIN // 2
    labels = np.full(t, SILENCE, dtype=np.int64)
    for s, e, c in segments:
        labels[(centres >= s) & (centres < e)] = c
    return labels


# ------------------------------------------------------------------------------------------
# Voices, text, acoustics
# ------------------------------------------------------------------------------------------

ACCENTS = ("en-us", "en", "en-gb-x-rp", "en-gb-scotland", "en-gb-x-gbclan",
           "en-gb-x-gbcwmd", "en-029", "en-us-nyc")
VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5",
            "klatt", "klatt2", "klatt3", "klatt4", "adam", "alicia", "andy", "anika", "annie",
            "aunty", "belinda", "benjamin", "boris", "david", "ed", "edward", "gene",
            "grandma", "grandpa", "iven", "iven2", "john", "linda", "max", "michel", "norbert",
            "paul", "pablo", "rob", "robert", "steph", "travis", "victor", "zac")

WORDS = """the of and to a in is it you that he was for on are with as his they be at one have
this from or had by hot word but what some we can out other were all there when up use your how
said an each she which do their time if will way about many then them write would like so these
her long make thing see him two has look more day could go come did number sound no most people
my over know water than call first who may down side been now find any new work part take get
place made live where after back little only round man year came show every good me give our
under name very through just form sentence great think say help low line differ turn cause much
mean before move right boy old too same tell does set three want air well also play small end put
home read hand port large spell add even land here must big high such follow act why ask men
change went light kind off need house picture try us again animal point mother world near build
self earth father head stand own page should country found answer school grow study still learn
plant cover food sun four between state keep eye never last let thought city tree cross farm hard
start might story saw far sea draw left late run while press close night real life few north open
seem together next white children begin got walk example ease paper group always music those both
mark often letter until mile river car feet care second book carry took science eat room friend
began idea fish mountain stop once base hear horse cut sure watch color face wood main enough plain
girl usual young ready above ever red list though feel talk bird soon body dog family direct pose
leave song measure door product black short numeral class wind question happen complete ship area
half rock order fire south problem piece told knew pass since top whole king space heard best hour
better true during hundred five remember step early hold west ground interest reach fast verb sing
listen six table travel less morning ten simple several vowel toward war lay against pattern slow
center love person money serve appear road map rain rule govern pull cold notice voice unit power
town fine certain fly fall lead cry dark machine note wait plan figure star box noun field rest
correct able pound done beauty drive stood contain front teach week final gave green oh quick
develop ocean warm free minute strong special mind behind clear tail produce fact street inch
multiply nothing course stay wheel full force blue object decide surface deep moon island foot
system busy test record boat common gold possible plane stead dry wonder laugh thousand ago ran
check game shape equate miss brought heat snow tire bring yes distant fill east paint language
among""".split()


@dataclass
class Voice:
    """A speaker: espeak-ng voice (accent + variant), pitch base and range (0..99), speed (words
    per minute), formant/pitch warp (resampling factor) and word gap (10 ms units)."""

    accent: str
    variant: str
    pitch: int
    pitch_range: int
    rate: int
    warp: float
    wordgap: int = 0

    @property
    def name(self) -> str:
        return f"{self.accent}+{self.variant}"


def random_voice(rng: np.random.Generator) -> Voice:
    return Voice(accent=str(rng.choice(ACCENTS)), variant=str(rng.choice(VARIANTS)),
                 pitch=int(rng.integers(15, 86)), pitch_range=int(rng.integers(10, 91)),
                 rate=int(rng.integers(135, 211)), warp=float(rng.uniform(0.88, 1.14)),
                 wordgap=int(rng.choice([0, 0, 0, 1, 2])))


def random_sentence(rng: np.random.Generator, n_words: tuple[int, int] = (5, 13)) -> str:
    words = rng.choice(WORDS, size=int(rng.integers(*n_words)))
    text = " ".join(words)
    if rng.random() < 0.3:  # a clause break (a short pause)
        cut = int(rng.integers(1, len(words)))
        text = " ".join(words[:cut]) + ", " + " ".join(words[cut:])
    return text + str(rng.choice([".", ".", "?", "!"]))


def to_16k(wav: np.ndarray, warp: float = 1.0) -> tuple[np.ndarray, float]:
    """espeak's 22,050 Hz int16 -> float 16 kHz, read ``warp`` times faster (``warp > 1``:
    higher formants and pitch, shorter). Returns ``(wav, factor)``: sample ``s`` of the input
    is sample ``s * factor`` of the output."""
    down = int(round(441 * warp))
    out = signal.resample_poly(wav.astype(np.float64) / 32768.0, 320, down)
    return out, 320 / down


def channel_filter(rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
    """A random microphone/room colouring: spectral tilt, one resonance, band limits."""
    tilt = rng.uniform(-0.6, 0.6)  # first-order pre/de-emphasis
    x = signal.lfilter([1.0, -tilt], [1.0], x)
    f0 = rng.uniform(300, 4000)
    b, a = signal.iirpeak(f0, Q=rng.uniform(1.0, 4.0), fs=SAMPLE_RATE)
    x = x + rng.uniform(-0.6, 1.0) * signal.lfilter(b, a, x)
    lo, hi = rng.uniform(60, 300), rng.uniform(3400, 7800)
    sos = signal.butter(2, [lo, hi], btype="bandpass", fs=SAMPLE_RATE, output="sos")
    return signal.sosfilt(sos, x)


def coloured_noise(rng: np.random.Generator, n: int) -> np.ndarray:
    """Unit-power noise with a random spectral slope (white .. brown-ish)."""
    spec = np.fft.rfft(rng.normal(size=n))
    f = np.maximum(np.fft.rfftfreq(n), 1.0 / n)
    spec *= f ** (-rng.uniform(0.0, 1.0))
    x = np.fft.irfft(spec, n)
    return x / (x.std() + 1e-12)


def _power(x: np.ndarray) -> float:
    return float(np.mean(x ** 2)) + 1e-12


def mix_at_snr(rng: np.random.Generator, speech: np.ndarray, other: np.ndarray,
               snr_db: float) -> np.ndarray:
    """``speech + other`` scaled so that speech is ``snr_db`` dB above it (active speech power)."""
    active = speech[np.abs(speech) > 0.02 * (np.abs(speech).max() + 1e-12)]
    p_speech = _power(active if active.size else speech)
    return speech + other * np.sqrt(p_speech / (_power(other) * 10 ** (snr_db / 10)))


def speak(rng: np.random.Generator, voice: Voice, text: str, jitter: float = 0.0
          ) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
    """One sentence by ``voice`` (with per-utterance ``jitter`` of pitch/speed/warp):
    ``(float wav at 16 kHz, segments [(start, end, class)] in 16 kHz samples)``."""
    engine = Espeak.get()
    j = jitter

    def vary(v: float, spread: float) -> float:
        return v + spread * j * rng.uniform(-1, 1) if j else v

    wav, events = engine.synth(text, voice.name, rate=int(vary(voice.rate, 15)),
                               pitch=int(np.clip(vary(voice.pitch, 6), 0, 99)),
                               pitch_range=int(np.clip(vary(voice.pitch_range, 10), 0, 99)),
                               wordgap=voice.wordgap)
    segs = segments_from_events(events, len(wav))
    out, factor = to_16k(wav, vary(voice.warp, 0.015))
    n = len(out)
    segs16 = [(min(n, int(round(s * factor))), min(n, int(round(e * factor))), c)
              for s, e, c in segs]
    return out, [(s, e, c) for s, e, c in segs16 if e > s]


# ------------------------------------------------------------------------------------------
# HW2: libriphone
# ------------------------------------------------------------------------------------------

@dataclass
class Hw2Spec:
    """Size and difficulty of the HW2 speech set (defaults: a CPU benchmark in minutes)."""

    n_train: int = 400  # as the default synthetic libriphone set; 80 % train / 20 % valid
    n_test: int = 100
    n_speakers: int = 48  # train and test utterances come from the same pool of voices
    words: tuple[int, int] = (6, 16)
    jitter: float = 1.0
    snr_db: tuple[float, float] = (0.0, 20.0)  # background noise
    talker_prob: float = 0.4  # a competing talker (another voice) underneath
    talker_snr_db: tuple[float, float] = (6.0, 18.0)
    lead_s: tuple[float, float] = (0.15, 0.6)  # silence (with noise) before and after


HW2_SMOKE = Hw2Spec(n_train=12, n_test=4, n_speakers=4, words=(3, 6))


def _edges(rng: np.random.Generator, wav: np.ndarray, segs: list, lead_s: tuple[float, float]
           ) -> tuple[np.ndarray, list]:
    """Pad ``wav`` with silence at both ends, shifting the segments."""
    a = int(rng.uniform(*lead_s) * SAMPLE_RATE)
    b = int(rng.uniform(*lead_s) * SAMPLE_RATE)
    return np.pad(wav, (a, b)), [(s + a, e + a, c) for s, e, c in segs]


def hw2_utterance(rng: np.random.Generator, voices: Sequence[Voice], speaker: int,
                  spec: Hw2Spec) -> tuple[np.ndarray, np.ndarray, dict]:
    """``(mfcc float32 [T, 39], labels int64 [T], info)`` for one utterance of ``speaker``."""
    voice = voices[speaker]
    wav, segs = speak(rng, voice, random_sentence(rng, spec.words), spec.jitter)
    wav, segs = _edges(rng, wav, segs, spec.lead_s)
    info: dict = {"speaker": speaker, "voice": voice.name}
    if rng.random() < spec.talker_prob:
        other = int(rng.choice([k for k in range(len(voices)) if k != speaker] or [speaker]))
        talk, _ = speak(rng, voices[other], random_sentence(rng, spec.words), spec.jitter)
        start = int(rng.integers(0, max(1, len(wav) - len(talk) // 2)))
        bg = np.zeros_like(wav)
        piece = talk[: len(wav) - start]
        bg[start:start + len(piece)] = piece
        snr = float(rng.uniform(*spec.talker_snr_db))
        wav = mix_at_snr(rng, wav, bg, snr)
        info["talker_snr_db"] = round(snr, 1)
    wav = channel_filter(rng, wav)
    snr = float(rng.uniform(*spec.snr_db))
    wav = mix_at_snr(rng, wav, coloured_noise(rng, len(wav)), snr)
    info["snr_db"] = round(snr, 1)
    return mfcc39(wav), frame_labels(segs, len(wav)), info


def _save_tensor(path: Path, x: np.ndarray) -> None:
    """``torch.save`` of a fresh contiguous float32 tensor, written atomically (archive name
    ``archive/``, as in the real files)."""
    buf = io.BytesIO()
    torch.save(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).clone(), buf)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(buf.getvalue())
    os.replace(tmp, path)


def _write_text(path: Path, text: str) -> None:
    with atomic_open(path) as f:
        f.write(text)


MARKER = "SYNTHETIC_SPEECH.md"


def folder_summary(folder: str | os.PathLike) -> str:
    """The ``Summary``/``Spec`` lines of a folder's :data:`MARKER` (empty if it has none)."""
    marker = Path(folder) / MARKER
    lines = marker.read_text().splitlines() if marker.is_file() else []
    return " ".join(ln for ln in lines if ln.startswith(("Summary", "Spec")))


def _write_markers(out: Path, text: str) -> None:
    """What the folder is (``MARKER``), and the marker that makes ``common.data`` label it synthetic."""
    _write_text(out / MARKER, text)
    _write_text(out / SYNTHETIC_MARKER, f"Synthetic speech (espeak-ng), not the course's data: see {MARKER}\n")


def _marker_text(kind: str, seed: int, spec, extra: str) -> str:
    return (f"# SYNTHETIC speech ({kind}), not the course data\n\n"
            f"Written by `python -m benchmarks.speech_data {kind} --seed {seed}` from espeak-ng "
            f"text-to-speech (voices, pitch/speed/formant warps, channel colouring, noise).\n"
            f"Numbers measured on this folder are synthetic-speech numbers, not Kaggle scores.\n\n"
            f"{extra}\n\nSpec: `{json.dumps(asdict(spec))}`\n")


def write_hw2(out_dir: str | os.PathLike, seed: int = 0, smoke: bool = False,
              spec: Hw2Spec | None = None, progress: bool = False) -> dict:
    """Write a ``libriphone`` folder of synthetic speech into ``out_dir``: ``feat/train/<id>.pt``,
    ``feat/test/<id>.pt`` (float32 [T, 39]), ``train_split.txt``, ``test_split.txt``
    (no trailing newline), ``train_labels.txt``; plus the answers ``synthetic_test_labels.txt``
    (same format as train_labels.txt; the notebook never reads it) and ``SYNTHETIC_SPEECH.md``.
    Returns a summary dict. Deterministic given ``seed``."""
    spec = spec or (HW2_SMOKE if smoke else Hw2Spec())
    out = Path(out_dir)
    for sub in ("train", "test"):
        (out / "feat" / sub).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, 2])
    voices = [random_voice(rng) for _ in range(spec.n_speakers)]
    # LibriSpeech-style ids "<speaker>-<chapter>-<utterance>"; speakers from a seeded pool.
    spk_ids = rng.choice(np.arange(19, 9000), size=spec.n_speakers, replace=False)
    counts = np.zeros(N_CLASSES, dtype=np.int64)
    lines: dict[str, list[str]] = {"train": [], "test": []}
    ids: dict[str, list[str]] = {"train": [], "test": []}
    t0 = time.time()
    n_done = 0
    for split, n in (("train", spec.n_train), ("test", spec.n_test)):
        for i in range(n):
            k = int(rng.integers(spec.n_speakers))
            chapter = 1000 + 97 * k + (0 if split == "train" else 50)
            utt = f"{spk_ids[k]}-{chapter}-{i:04d}"
            x, y, _ = hw2_utterance(rng, voices, k, spec)
            _save_tensor(out / "feat" / split / f"{utt}.pt", x)
            lines[split].append(utt + " " + " ".join(map(str, y.tolist())))
            ids[split].append(utt)
            if split == "train":
                counts += np.bincount(y, minlength=N_CLASSES)
            n_done += 1
            if progress and n_done % 100 == 0:
                print(f"  {n_done} utterances, {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
    _write_text(out / "train_labels.txt", "\n".join(lines["train"]) + "\n")
    _write_text(out / "synthetic_test_labels.txt", "\n".join(lines["test"]) + "\n")
    _write_text(out / "train_split.txt", "\n".join(ids["train"]))
    _write_text(out / "test_split.txt", "\n".join(ids["test"]))
    summary = {"train": spec.n_train, "test": spec.n_test,
               "train_frames": int(counts.sum()), "classes_seen": int((counts > 0).sum()),
               "silence_share": round(float(counts[0] / max(1, counts.sum())), 3)}
    _write_markers(out, _marker_text(
        "hw2", seed, spec, "Layout: libriphone (feat/train, feat/test, train_split.txt, "
        "test_split.txt, train_labels.txt). Labels: 0 = silence, 1..39 = ARPAbet "
        f"{' '.join(ARPABET)}, 40 = other. Hidden answers: synthetic_test_labels.txt.\n\n"
        f"Summary: `{json.dumps(summary)}`"))
    return summary


def synthetic_test_labels_hw2(folder: str | os.PathLike) -> dict[str, np.ndarray] | None:
    """The answers of a speech-synthetic libriphone folder ``{utt: labels [T]}``, else None."""
    path = Path(folder) / "synthetic_test_labels.txt"
    if not path.is_file():
        return None
    from common.datasets.libriphone import read_labels

    return read_labels(path)


# ------------------------------------------------------------------------------------------
# HW4: Dataset/ (speaker classification)
# ------------------------------------------------------------------------------------------

@dataclass
class Hw4Spec:
    """Size and difficulty of the HW4 speech set (defaults: a CPU benchmark in minutes)."""

    n_speakers: int = 60
    train_per_speaker: int = 16
    test_per_speaker: int = 4
    sentences: tuple[int, int] = (1, 3)  # per utterance, separated by non-speech stretches
    words: tuple[int, int] = (4, 11)
    jitter: float = 1.0  # per-utterance pitch/speed/warp variation within a speaker
    snr_db: tuple[float, float] = (0.0, 25.0)
    gap_s: tuple[float, float] = (0.1, 1.2)  # non-speech stretch between sentences
    event_prob: float = 0.5  # a stretch holds a noise burst or a tone (else silence)
    talker_prob: float = 0.2
    talker_snr_db: tuple[float, float] = (8.0, 20.0)
    families: int = 12  # speakers share accent + variant within a family (harder pairs)
    id_pool: tuple[int, int] = (10001, 11252)  # VoxCeleb1-like names id10001..
    speaker_names: list[str] = field(default_factory=list)


HW4_SMOKE = Hw4Spec(n_speakers=4, train_per_speaker=4, test_per_speaker=1, sentences=(1, 2),
                    words=(3, 6), families=2)


def _nonspeech(rng: np.random.Generator, n: int) -> np.ndarray:
    """Silence, a noise burst or a tone (music-like, at a random pitch)."""
    if rng.random() < 0.5:
        return np.zeros(n)
    if rng.random() < 0.5:
        x = coloured_noise(rng, n)
    else:
        t = np.arange(n) / SAMPLE_RATE
        f0 = rng.uniform(100, 600)
        x = sum(np.sin(2 * np.pi * f0 * h * t + rng.uniform(0, 6.3)) / h for h in range(1, 5))
    return x * 10 ** rng.uniform(-2.0, -0.7)


def hw4_utterance(rng: np.random.Generator, voices: Sequence[Voice], speaker: int,
                  spec: Hw4Spec) -> np.ndarray:
    """``float32 [T, 40]`` log-mel of one recording session of ``speaker``: 1..3 sentences
    with non-speech stretches, a competing talker sometimes, channel and noise."""
    parts = []
    for _ in range(int(rng.integers(spec.sentences[0], spec.sentences[1] + 1))):
        gap = int(rng.uniform(*spec.gap_s) * SAMPLE_RATE)
        parts.append(_nonspeech(rng, gap) if rng.random() < spec.event_prob else np.zeros(gap))
        wav, _ = speak(rng, voices[speaker], random_sentence(rng, spec.words), spec.jitter)
        parts.append(wav / (np.abs(wav).max() + 1e-9) * 0.5)
    parts.append(np.zeros(int(rng.uniform(*spec.gap_s) * SAMPLE_RATE)))
    wav = np.concatenate(parts)
    if rng.random() < spec.talker_prob and len(voices) > 1:
        other = int(rng.choice([k for k in range(len(voices)) if k != speaker]))
        talk, _ = speak(rng, voices[other], random_sentence(rng, spec.words), spec.jitter)
        bg = np.zeros_like(wav)
        start = int(rng.integers(0, max(1, len(wav) - len(talk) // 2)))
        piece = talk[: len(wav) - start]
        bg[start:start + len(piece)] = piece
        wav = mix_at_snr(rng, wav, bg, float(rng.uniform(*spec.talker_snr_db)))
    wav = channel_filter(rng, wav)
    wav = mix_at_snr(rng, wav, coloured_noise(rng, len(wav)), float(rng.uniform(*spec.snr_db)))
    wav = wav / (np.abs(wav).max() + 1e-9) * 0.9  # sox "norm"
    return log_mel40(wav)


def write_hw4(out_dir: str | os.PathLike, seed: int = 0, smoke: bool = False,
              spec: Hw4Spec | None = None, progress: bool = False) -> dict:
    """Write a ``Dataset/`` of synthetic speech into ``out_dir``: ``mapping.json``,
    ``metadata.json``, ``testdata.json`` (the course's keys), ``uttr-<hex>.pt`` (float32
    [T, 40]); plus ``synthetic_test_labels.json`` (the answers, ``{feature_path: speaker}``,
    read by ``common.datasets.voxceleb.synthetic_test_labels``) and ``SYNTHETIC_SPEECH.md``."""
    spec = spec or (HW4_SMOKE if smoke else Hw4Spec())
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, 4])
    names = [f"id{int(i):05d}" for i in sorted(rng.choice(np.arange(*spec.id_pool),
                                                            size=spec.n_speakers, replace=False))]
    # Families: speakers of a family share accent and voice variant (only pitch, range, speed and
    # warp tell them apart), so some pairs are close.
    fam = [random_voice(rng) for _ in range(spec.families)]
    voices = []
    for k in range(spec.n_speakers):
        v = random_voice(rng)
        base = fam[k % spec.families]
        voices.append(Voice(base.accent, base.variant, v.pitch, v.pitch_range, v.rate, v.warp,
                            v.wordgap))
    t0 = time.time()
    n_done = 0

    def save(k: int) -> dict:
        nonlocal n_done
        mel = hw4_utterance(rng, voices, k, spec)
        name = f"uttr-{rng.bytes(16).hex()}.pt"
        _save_tensor(out / name, mel)
        n_done += 1
        if progress and n_done % 100 == 0:
            print(f"  {n_done} utterances, {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
        return {"feature_path": name, "mel_len": int(mel.shape[0])}

    speakers = {name: [save(k) for _ in range(spec.train_per_speaker)]
                for k, name in enumerate(names)}
    order = np.repeat(np.arange(spec.n_speakers), spec.test_per_speaker)
    rng.shuffle(order)
    utterances = [save(int(k)) for k in order]
    answers = {u["feature_path"]: names[int(k)] for u, k in zip(utterances, order)}
    from common.io import write_json

    write_json(out / "mapping.json", {"speaker2id": {n: i for i, n in enumerate(names)},
                                      "id2speaker": {str(i): n for i, n in enumerate(names)}})
    _write_text(out / "metadata.json", json.dumps({"n_mels": 40, "speakers": speakers}))
    _write_text(out / "testdata.json", json.dumps({"n_mels": 40, "utterances": utterances}))
    write_json(out / "synthetic_test_labels.json", answers)
    lengths = [u["mel_len"] for us in speakers.values() for u in us] + [u["mel_len"] for u in utterances]
    summary = {"speakers": spec.n_speakers, "train": spec.n_speakers * spec.train_per_speaker,
               "test": len(utterances), "median_len": int(np.median(lengths)),
               "min_len": int(min(lengths)), "max_len": int(max(lengths))}
    _write_markers(out, _marker_text(
        "hw4", seed, spec, "Layout: the HW4 Dataset/ (mapping.json, metadata.json, testdata.json, "
        "uttr-*.pt with 40-dim log-mel). Voices: "
        + ", ".join(f"{n}={v.name}/p{v.pitch}/r{v.rate}/w{v.warp:.2f}" for n, v in zip(names, voices))
        + f". Hidden answers: synthetic_test_labels.json.\n\nSummary: `{json.dumps(summary)}`"))
    return summary


# ------------------------------------------------------------------------------------------
# Command line
# ------------------------------------------------------------------------------------------

def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write a synthetic-speech data folder "
                                     "(espeak-ng) in the course's HW2 or HW4 layout.")
    parser.add_argument("hw", choices=["hw2", "hw4"])
    parser.add_argument("--out", default=None, help="folder to write (libriphone/ or Dataset/ "
                        "content); default <data root>/synthetic/<libriphone|Dataset>-speech-seed<seed>")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smoke", action="store_true", help="a tiny set (tests)")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="override a spec field, e.g. --set n_train=400 (JSON values)")
    args = parser.parse_args(argv)
    if not espeak_available():
        print(INSTALL_HINT, file=sys.stderr)
        return 2
    cls, smoke_spec = (Hw2Spec, HW2_SMOKE) if args.hw == "hw2" else (Hw4Spec, HW4_SMOKE)
    fields = asdict(smoke_spec if args.smoke else cls())
    for item in args.set:
        key, _, value = item.partition("=")
        if key not in fields:
            parser.error(f"unknown field {key!r}; fields: {', '.join(fields)}")
        v = json.loads(value)
        fields[key] = tuple(v) if isinstance(v, list) else v
    spec = cls(**fields)
    t0 = time.time()
    writer = write_hw2 if args.hw == "hw2" else write_hw4
    out = args.out or data_root() / "synthetic" / (
        f"{'libriphone' if args.hw == 'hw2' else 'Dataset'}-speech-seed{args.seed}{'-smoke' if args.smoke else ''}")
    summary = writer(out, seed=args.seed, spec=spec, progress=True)
    print(json.dumps(summary), f"({time.time() - t0:.0f} s)\n{out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
