"""The int8 compute type: per-row int8 layers whose rows do not depend on each other, and an
int8 main model whose speculative output equals its own plain output, on the real weights."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from specwhisper.cli import main
from specwhisper.evaluation.datasets import DEFAULT_DEV_SET, LONG_DEV_SET, load_dataset
from specwhisper.evaluation.metrics import word_error_rate
from specwhisper.models import weight_int8
from specwhisper.models.int8 import RowwiseInt8Linear
from specwhisper.transcribe import Transcriber


def test_a_row_is_the_same_alone_and_among_others():
    torch.manual_seed(0)
    linear = nn.Linear(64, 48)
    layer = RowwiseInt8Linear(linear)
    rows = torch.randn(7, 64) * torch.linspace(0.01, 50, 7)[:, None]  # very different scales
    together = layer(rows)
    for i in range(len(rows)):
        assert torch.equal(layer(rows[i : i + 1]), together[i : i + 1])
    # Close to the float layer: int8 weights and activations, about 1 % of the output's size.
    expected = linear(rows)
    error = (together - expected).abs().amax(dim=1) / expected.abs().amax(dim=1)
    assert error.max() < 0.05
    assert layer(rows.reshape(7, 1, 64)).shape == (7, 1, 48)


@pytest.fixture(scope="module")
def int8_plain():
    return Transcriber("base", "none", compute_type="int8")


@pytest.mark.slow
def test_auto_drafts_for_an_int8_main_only_with_the_weight_only_draft(int8_plain):
    drafter = Transcriber("base", "auto", compute_type="int8").drafter
    if weight_int8.available():  # its native step makes drafting pay (README, long form)
        assert drafter is not None and drafter.name == "self-int8"
    else:  # PyTorch's dynamic int8 draft costs what the int8 main's own steps do
        assert drafter is None
    assert int8_plain.compute_type == "int8"


@pytest.mark.slow
def test_int8_speculative_equals_int8_plain_window_by_window(int8_plain):
    drafted = Transcriber("base", "self-int8", compute_type="int8")
    path = load_dataset(LONG_DEV_SET)[0].audio_path  # 90 s: 4 windows, timestamps, prompts
    plain = int8_plain.transcribe(path, language="en", temperature=0.0)
    fast = drafted.transcribe(path, language="en", temperature=0.0)
    windows = [(s.seek, s.tokens) for s in plain.segments]
    assert [(s.seek, s.tokens) for s in fast.segments] == windows
    assert fast.stats.tokens_accepted > 0 and fast.stats.windows >= 3


@pytest.mark.slow
def test_int8_rows_in_batches_equal_int8_plain_alone(int8_plain):
    """Batched verification, and a long file's VAD chunks in batches: every row is what the
    int8 model gives it plainly and alone, bit for bit (no near tie is ever decoded again)."""
    drafted = Transcriber("base", "self-int8", compute_type="int8")
    greedy = {"language": "en", "temperature": 0.0}
    clips = [clip.audio_path for clip in load_dataset(DEFAULT_DEV_SET, samples=3)]
    together = drafted.transcribe_batch(clips, batch_size=3, **greedy)
    assert [r.tokens for r in together] == [
        int8_plain.transcribe(c, **greedy).tokens for c in clips
    ]
    path = load_dataset(LONG_DEV_SET)[0].audio_path
    alone = int8_plain.transcribe(path, vad=True, batch_size=1, **greedy)
    batched = drafted.transcribe(path, vad=True, batch_size=4, **greedy)
    assert [s.tokens for s in batched.segments] == [s.tokens for s in alone.segments]
    assert batched.stats.near_ties == 0 and not any(r.stats.near_ties for r in together)
    assert batched.stats.tokens_accepted > 0


@pytest.mark.slow
def test_int8_transcribes_about_as_well_as_float32(int8_plain):
    clips = load_dataset(DEFAULT_DEV_SET, samples=6)
    float32 = Transcriber("base", "none")
    references = [c.text for c in clips]
    options = {"language": "en", "temperature": 0.0, "without_timestamps": True}
    wer_int8 = word_error_rate(
        references, [int8_plain.transcribe(c.audio_path, **options).text for c in clips]
    )
    wer_float = word_error_rate(
        references, [float32.transcribe(c.audio_path, **options).text for c in clips]
    )
    assert wer_int8 <= wer_float + 0.05  # a few words of 6 clips, no more


@pytest.mark.slow
def test_cli_compute_type(capsys):
    clip = load_dataset(DEFAULT_DEV_SET, samples=1)[0].audio_path
    argv = ["transcribe", str(clip), "--model", "base", "--compute-type", "int8"]
    assert main(argv + ["--output-format", "json", "--no-progress"]) == 0
    record = json.loads(capsys.readouterr().out)
    # auto: the weight-only self-draft where it runs (see the auto test above), else none.
    assert record["draft"] == ("self-int8" if weight_int8.available() else None)
    assert record["text"]
    with pytest.raises(SystemExit) as stopped:
        main(["transcribe", str(clip), "--compute-type", "int4"])
    assert stopped.value.code == 2
    assert "'float32', 'int8'" in capsys.readouterr().err  # the valid values, named
