"""``benchmark --mode batch``: throughput of decoding several inputs together.

Two parts, each in one run:
- short clips (the dev set): specwhisper's batch scheduler (``transcribe_batch``'s, run as
  ``transcribe_queue`` to see each clip finish) at batch sizes 1, 2, 4, 8 and 16, without a
  draft and with the int8 self-draft, against transformers' ``generate()`` on a padded batch
  of the same clips (short form on both sides: no timestamps, greedy);
- long files cut by VAD (``--long``, default the committed long files): specwhisper's
  VAD-batched long form, float32 and (on a CPU) int8 main model, against faster-whisper's
  ``BatchedInferencePipeline`` at the same batch size and compute type, on the same task:
  timestamps on (ours by default, the pipeline's ``without_timestamps=False``), greedy, no
  temperature fallback (the pipeline has none).
Each configuration transcribes the whole set once (after a warm-up), faster-whisper in a
process of its own (``faster_whisper_apart``); throughput is audio seconds per wall second;
latency is the median over inputs of the time from taking an input up to its result (a short
clip waits for its place in the batch before that; a long file is decoded alone, its chunks
batched; generate()'s clips finish with their batch); "exact" is the share of inputs whose
tokens equal specwhisper's own batch-1 plain greedy output with the same main model and
compute type; memory is the process's resident set after the configuration ran
(faster-whisper's: its own process's; the peak since start is in results.json).
"""

from __future__ import annotations

import multiprocessing
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch

from ..audio import load_audio
from ..decoding.beam import language_kwargs
from ..decoding.drafters import int8_available
from ..evaluation.datasets import Utterance
from ..evaluation.metrics import word_error_rate
from ..features import log_mel
from ..models.loading import ctranslate2_model_dir, load_model
from .memory import status_mb
from .systems import SHORT_FORM, faster_whisper_available

BATCH_SIZES = (1, 2, 4, 8, 16)
LONG_FORM_GREEDY = {"temperature": (0.0,)}


@dataclass
class Pass:
    """One configuration over the whole set: wall seconds, and per input its tokens, text and
    latency (seconds from the moment the input was taken up to its result)."""

    seconds: float
    tokens: list[list[int]]
    texts: list[str]
    latencies: list[float]
    rss_mb: float | None = None  # measured elsewhere (faster-whisper's own process)


@dataclass
class BatchRow:
    part: str  # "short" or "long"
    system: str
    batch_size: int
    seconds: float
    audio_s: float
    exact: float | None  # share of inputs identical to the reference
    wer: float
    rss_mb: float
    tokens: list[list[int]]
    compute_type: str | None = None  # the main model's (long part), for like-for-like rows
    latencies: tuple[float, ...] = ()  # per input, seconds

    @property
    def throughput(self) -> float:
        return self.audio_s / self.seconds

    @property
    def median_latency(self) -> float:
        return statistics.median(self.latencies) if self.latencies else float("nan")

    def as_dict(self) -> dict:
        return {
            "part": self.part,
            "system": self.system,
            "batch_size": self.batch_size,
            "seconds": round(self.seconds, 3),
            "audio_s": round(self.audio_s, 3),
            "throughput": round(self.throughput, 3),
            "exact": self.exact,
            "wer": round(self.wer, 4),
            "rss_mb": round(self.rss_mb, 1),
            "latencies_s": [round(x, 3) for x in self.latencies],
        }


def rss_mb(field: str = "VmRSS") -> float:
    return status_mb(field) or float("nan")


def _drafts(model: str) -> tuple[str, ...]:
    """Plain, and the int8 self-draft where it runs (the CPU; on a GPU drafting does not pay,
    bench/results/gpu-speculative-devset)."""
    return ("none", "self-int8") if int8_available(load_model(model)) else ("none",)


def _queued(transcriber, paths, size: int, options: dict) -> Pass:
    """``paths`` through ``transcribe_queue`` (the scheduler ``transcribe_batch`` runs, results
    handed out as they finish): each input's latency runs from the moment the scheduler reads
    it (a place came free) to its result."""
    taken: dict[int, float] = {}

    def inputs():
        for index, path in enumerate(paths):
            taken[index] = time.perf_counter()
            yield path

    tokens: list[list[int]] = [[] for _ in paths]
    texts = [""] * len(paths)
    latencies = [0.0] * len(paths)
    began = time.perf_counter()
    for index, result in transcriber.transcribe_queue(inputs(), batch_size=size, **options):
        latencies[index] = time.perf_counter() - taken[index]
        tokens[index], texts[index] = result.tokens, result.text
    return Pass(time.perf_counter() - began, tokens, texts, latencies)


def _one_by_one(transcribe, inputs) -> Pass:
    """``transcribe(input)`` -> (tokens, text) for each input in turn."""
    tokens, texts, latencies = [], [], []
    began = time.perf_counter()
    for item in inputs:
        started = time.perf_counter()
        item_tokens, text = transcribe(item)
        latencies.append(time.perf_counter() - started)
        tokens.append(item_tokens)
        texts.append(text)
    return Pass(time.perf_counter() - began, tokens, texts, latencies)


def short_part(model: str, clips: list[Utterance], sizes, language: str | None) -> list[BatchRow]:
    from ..transcribe import Transcriber

    paths = [u.audio_path for u in clips]
    references = [u.text for u in clips]
    audio_s = sum(len(load_audio(p)) for p in paths) / 16000
    options = {**SHORT_FORM, "language": language}
    transcribers = {draft: Transcriber(model, draft) for draft in _drafts(model)}
    for transcriber in transcribers.values():  # warm-up: allocations, int8 packing
        transcriber.transcribe_batch(paths[:2], batch_size=2, **options)
    bundle = load_model(model)
    rows: list[BatchRow] = []
    reference: list[list[int]] | None = None
    for size in sizes:
        for draft, transcriber in transcribers.items():
            run = _queued(transcriber, paths, size, options)
            if reference is None:  # the first configuration: plain greedy, one at a time
                reference = run.tokens
            name = f"specwhisper {model} draft={draft}"
            rows.append(_row("short", name, size, run, audio_s, reference, references))
        run = _generate_padded(bundle, paths, size, language)
        name = f"transformers generate {model} (padded batch)"
        rows.append(_row("short", name, size, run, audio_s, reference, references))
    return rows


def _generate_padded(bundle, paths, size, language) -> Pass:
    """transformers' generate() over batches of ``size`` clips (features stacked); a clip's
    latency is its batch's time."""
    tokens: list[list[int]] = []
    latencies: list[float] = []
    began = time.perf_counter()
    with torch.inference_mode():
        for start in range(0, len(paths), size):
            started = time.perf_counter()
            batch = paths[start : start + size]
            features = torch.cat([log_mel(load_audio(p), bundle) for p in batch])
            kwargs = language_kwargs(bundle, language, "transcribe")  # None: each row detects
            output = bundle.model.generate(features.to(bundle.device), do_sample=False, **kwargs)
            for row in output.tolist():
                tokens.append([t for t in row if t < bundle.special.eot])
            latencies += [time.perf_counter() - started] * len(batch)
    seconds = time.perf_counter() - began
    texts = [bundle.tokenizer.decode(t, skip_special_tokens=True).strip() for t in tokens]
    return Pass(seconds, tokens, texts, latencies)


def long_part(model: str, files: list[Utterance], sizes, threads: int, language) -> list[BatchRow]:
    from ..transcribe import Transcriber

    paths = [u.audio_path for u in files]
    references = [u.text for u in files]
    audio_s = sum(len(load_audio(p)) for p in paths) / 16000
    options = {**LONG_FORM_GREEDY, "language": language, "vad": True}
    # Each compute type against faster-whisper's same one; int8 where our int8 main runs.
    compute_types = ("float32", "int8") if load_model(model).device.type == "cpu" else ("float32",)
    transcribers = {
        (compute_type, draft): Transcriber(model, draft, compute_type=compute_type)
        for compute_type in compute_types
        for draft in _drafts(model)
    }
    warm = _warm_up_input(paths[0])
    for transcriber in transcribers.values():  # as faster-whisper gets: buffers, int8 packing
        transcriber.transcribe(warm, batch_size=2, **options)
    rows: list[BatchRow] = []
    # Per compute type, the first configuration's output: that model's plain greedy at batch 1.
    tokens_of: dict[str, list[list[int]]] = {}
    for size in sizes:
        for (compute_type, draft), transcriber in transcribers.items():

            def transcribe(path, t=transcriber, s=size):
                result = t.transcribe(path, batch_size=s, **options)
                return [x for segment in result.segments for x in segment.tokens], result.text

            run = _one_by_one(transcribe, paths)
            reference = tokens_of.setdefault(compute_type, run.tokens)
            kind = "" if compute_type == "float32" else f" {compute_type}"
            name = f"specwhisper {model}{kind} draft={draft} (VAD)"
            rows.append(_row("long", name, size, run, audio_s, reference, references, compute_type))
        if faster_whisper_available() and load_model(model).device.type == "cpu":
            for compute_type in ("float32", "int8"):
                run = faster_whisper_apart(model, paths, size, compute_type, threads, language)
                name = f"faster-whisper {model} {compute_type} (batched pipeline)"
                rows.append(_row("long", name, size, run, audio_s, None, references, compute_type))
    return rows


def _warm_up_input(path) -> np.ndarray:
    """The first minute of ``path``: one or two VAD chunks, enough to build every buffer and
    kernel before the timed pass without decoding a whole long file more."""
    return load_audio(path)[: 60 * 16000]


def faster_whisper_apart(model, paths, size, compute_type, threads, language) -> Pass:
    """faster-whisper's batched pipeline over ``paths``, timed in a process of its own after a
    warm-up (its resident memory is that process's).

    Not in this process: CTranslate2's OpenMP runtime and PyTorch's then share the cores and
    slow each other, faster-whisper most (float32 at batch 8: 34.2 s beside our engine, 25.9 s
    alone), and its first call would also load the model inside the timing."""
    spawn = multiprocessing.get_context("spawn")  # no copy of this process's threads or models
    with ProcessPoolExecutor(1, mp_context=spawn) as pool:
        job = pool.submit(
            _faster_whisper_timed,
            model,
            [str(p) for p in paths],
            size,
            compute_type,
            threads,
            language,
        )
        return job.result()


def _faster_whisper_timed(model, paths, size, compute_type, threads, language) -> Pass:
    """In the child process: load, warm up, time one pass."""
    warm = _warm_up_input(paths[0])
    faster_whisper_batched(model, warm, size, compute_type, threads, language)
    run = _one_by_one(
        lambda path: faster_whisper_batched(model, path, size, compute_type, threads, language),
        paths,
    )
    run.rss_mb = rss_mb()
    return run


_pipelines: dict = {}


def faster_whisper_batched(model, audio, size, compute_type, threads, language):
    """faster-whisper's ``BatchedInferencePipeline`` (loaded once per model and compute type)
    over ``audio`` (a path or a 16 kHz array): (tokens, text)."""
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    key = (model, compute_type)
    if key not in _pipelines:
        whisper = WhisperModel(
            str(ctranslate2_model_dir(model)),
            device="cpu",
            compute_type=compute_type,
            cpu_threads=threads,
        )
        _pipelines[key] = BatchedInferencePipeline(whisper)
    segments, _ = _pipelines[key].transcribe(
        load_audio(audio),
        language=language,
        batch_size=size,
        beam_size=1,
        temperature=0.0,
        without_timestamps=False,  # the task ours does: timestamped segments
    )
    segments = list(segments)  # a lazy generator: decoding happens here
    return [t for s in segments for t in s.tokens], "".join(s.text for s in segments).strip()


def _row(
    part: str,
    system: str,
    size: int,
    run: Pass,
    audio_s: float,
    reference: list[list[int]] | None,
    references: list[str],
    compute_type: str | None = None,
) -> BatchRow:
    exact = None
    if reference is not None:
        same = sum(a == b for a, b in zip(run.tokens, reference, strict=True))
        exact = round(same / len(run.tokens), 4)
    return BatchRow(
        part,
        system,
        size,
        run.seconds,
        audio_s,
        exact,
        word_error_rate(references, run.texts),
        rss_mb() if run.rss_mb is None else run.rss_mb,
        run.tokens,
        compute_type,
        tuple(run.latencies),
    )


def markdown(rows: list[BatchRow]) -> str:
    lines = []
    for part, title in (("short", "Short clips"), ("long", "Long files, VAD chunks")):
        chosen = [r for r in rows if r.part == part]
        if not chosen:
            continue
        lines += [
            f"### {title}",
            "",
            "| configuration | batch | seconds | audio s/s | × batch 1 | latency s | WER % | exact "
            "| RSS MB |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        first = {r.system: r for r in chosen if r.batch_size == min(x.batch_size for x in chosen)}
        for r in chosen:
            gain = r.throughput / first[r.system].throughput if r.system in first else float("nan")
            exact = "-" if r.exact is None else f"{r.exact:.2f}"
            lines.append(
                f"| {r.system} | {r.batch_size} | {r.seconds:.1f} | {r.throughput:.2f} | "
                f"{gain:.2f}x | {r.median_latency:.2f} | {r.wer * 100:.1f} | {exact} | "
                f"{r.rss_mb:.0f} |"
            )
        lines.append("")
    lines += _against_faster_whisper([r for r in rows if r.part == "long"])
    return "\n".join(lines)


def _against_faster_whisper(rows: list[BatchRow]) -> list[str]:
    """Each specwhisper configuration's speed over faster-whisper's pipeline at the same batch
    size and compute type (time ratio of the same run: >1 is faster)."""
    ours = [r for r in rows if r.system.startswith("specwhisper")]
    theirs = {
        (r.batch_size, r.compute_type): r for r in rows if r.system.startswith("faster-whisper")
    }
    if not ours or not theirs:
        return []
    lines = [
        "### Against faster-whisper's batched pipeline (same batch size and compute type)",
        "",
        "| configuration | batch | faster-whisper s | specwhisper s | speed-up |",
        "|---|---|---|---|---|",
    ]
    for r in ours:
        peer = theirs.get((r.batch_size, r.compute_type))
        if peer is not None:
            lines.append(
                f"| {r.system} | {r.batch_size} | {peer.seconds:.1f} | {r.seconds:.1f} | "
                f"{peer.seconds / r.seconds:.2f}x |"
            )
    return [*lines, ""]
