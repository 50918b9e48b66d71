"""The segment stage: openai-whisper's long-form loop over one file, one window at a time.

A ``LongFormStream`` knows where the next 30 s window starts (``seek``), what it is prompted
with (earlier text), and what the previous window left unfinished; ``next_window`` hands out
the window's input and ``advance`` takes the window's decoded result, cuts it into segments and
moves ``seek`` on. It does not decode: the sequential transcriber decodes one stream's windows
one after another, the batch transcriber the current windows of several streams together.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .decoding.logit_filters import timestamp_begin
from .decoding.options import TranscribeOptions, WindowResult
from .decoding.window import WindowAudio, is_silence
from .features import FRAMES_PER_SECOND, HOP_LENGTH, N_FRAMES, AudioScan, WindowFeatures
from .models.loading import WhisperBundle
from .segments import Segment, cut_window
from .words import WordAligner


@dataclass(frozen=True)
class WindowInput:
    """What decoding one window needs from the stream."""

    seek: int  # log-mel frame where the window starts
    audio: WindowAudio
    previous: list[int]  # earlier tokens to prompt with (may be empty)
    carried: list[int]  # the previous window's unfinished tail, for drafts (may be empty)


class LongFormStream:
    def __init__(
        self,
        main: WhisperBundle,
        windows: WindowFeatures,
        audio_scan: AudioScan,
        options: TranscribeOptions,
        aligner: WordAligner | None = None,
        whole: bool = False,
    ) -> None:
        self.main = main
        # A VAD chunk (at most one window, ending where speech ends): its window is cut whole
        # (segments.cut_window), never decoded twice.
        self.whole = whole
        self.aligner = aligner  # word timestamps, when asked for
        self.windows = windows
        self.options = options
        self.frames = audio_scan.frames
        self.duration = audio_scan.duration
        self.seek = 0
        self.all_tokens: list[int] = []
        if options.initial_prompt:
            text = " " + options.initial_prompt.strip()
            self.all_tokens += main.tokenizer.encode(text, add_special_tokens=False)
        self.prompt_reset_since = 0
        self.carried: list[int] = []
        self.next_id = 0

    @property
    def done(self) -> bool:
        return self.seek >= self.frames

    @property
    def seconds_done(self) -> float:
        return min(self.seek, self.frames) / FRAMES_PER_SECOND

    def next_window(self) -> WindowInput:
        """The window at ``seek`` (features, waveform, prompt); call ``advance`` with its
        decoded result before asking for the next one."""
        window_frames = min(N_FRAMES, self.frames - self.seek)
        audio = WindowAudio(
            self.windows.features(self.seek),
            self.windows.samples(self.seek, N_FRAMES),
            window_frames * HOP_LENGTH,
        )
        previous = self.all_tokens[self.prompt_reset_since :]
        return WindowInput(self.seek, audio, previous, self.carried)

    def advance(self, result: WindowResult, encoder_out: torch.Tensor) -> list[Segment]:
        """Take the decoded window at ``seek``: its segments (those with text, with their
        words when asked for), and ``seek``, the prompt and the carried tail moved on as
        openai-whisper moves them. ``encoder_out``: the window's main encoder output."""
        options, tokenizer, eot = self.options, self.main.tokenizer, self.main.special.eot
        window_frames = min(N_FRAMES, self.frames - self.seek)
        self.carried = []
        if is_silence(result, options):
            self.seek += window_frames
            return []
        cut = cut_window(result.tokens, timestamp_begin(self.main), window_frames, self.whole)
        offset = self.seek / FRAMES_PER_SECOND
        segments = []
        for piece in cut.pieces:
            text = tokenizer.decode([t for t in piece.tokens if t < eot])
            if piece.start == piece.end or not text.strip():
                continue  # an instant or no text: openai-whisper empties it, we drop it
            segments.append(
                Segment(
                    id=self.next_id,
                    seek=self.seek,
                    start=offset + piece.start,
                    end=offset + piece.end,
                    text=text,
                    tokens=piece.tokens,
                    temperature=result.temperature,
                    avg_logprob=result.avg_logprob,
                    compression_ratio=result.compression_ratio,
                    no_speech_prob=result.no_speech_prob,
                )
            )
            self.next_id += 1
            self.all_tokens += piece.tokens
        next_seek, self.carried = self.seek + cut.advance, cut.carried
        if self.aligner is not None:
            segments, next_seek, self.carried = self.aligner.finish_window(
                segments, encoder_out, self.seek, window_frames, cut
            )
        self.seek = next_seek
        if not options.condition_on_previous_text or result.temperature > 0.5:
            # Text sampled that freely is a poor prompt for the next window.
            self.prompt_reset_since = len(self.all_tokens)
        return segments
