"""Every benchmark mode end to end on 2 short dev clips with the bundled tiny.en and base.

Speedups here are only checked to be the ratio of measured totals: on a shared 2-core machine
they can land on either side of 1.
"""

import json
import shutil

import pytest

from specwhisper.bench import MODES
from specwhisper.bench.modes import BEAM_SIZES, CROSS_SWEEP, build_plan
from specwhisper.bench.report import markdown_tables, summarize
from specwhisper.bench.runner import run_systems
from specwhisper.bench.systems import faster_whisper_available
from specwhisper.cli import main
from specwhisper.evaluation.datasets import DEFAULT_DEV_SET, load_dataset

SHORT_CLIPS = ("dev_031", "dev_003")  # 2.6 s and 3.5 s: the quickest in the dev set
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    """A manifest of the two short clips, in a folder of its own (dataset plumbing)."""
    folder = tmp_path_factory.mktemp("clips")
    lines = []
    for utterance in load_dataset(DEFAULT_DEV_SET):
        if utterance.id in SHORT_CLIPS:
            shutil.copy(utterance.audio_path, folder / utterance.audio_path.name)
            lines.append(json.dumps({"audio": utterance.audio_path.name, "text": utterance.text}))
    (folder / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    return folder / "manifest.jsonl"


def _rows(plan, manifest):
    utterances = load_dataset(manifest)
    # No warm-up here: the CLI test above covers it, and the suite must stay quick.
    runs = run_systems(plan.systems, utterances, repeats=1, progress=False, warmup=False)
    rows = summarize(runs, utterances, plan)
    assert markdown_tables(rows).count("(baseline)") == len(set(plan.baselines.values()))
    return {row["system"]: row for row in rows}


def _check_speedups(rows):
    for row in rows.values():
        baseline = rows[row["baseline"]]
        assert row["speedup"] == pytest.approx(baseline["total_s"] / row["total_s"], rel=2e-3)


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="speculative, cross, beam, peers, v3, longform, batch"):
        build_plan("fastest", "base", None, 2)
    assert MODES == ("speculative", "cross", "beam", "peers", "v3", "longform", "batch")


def test_speculative_mode_through_the_cli(manifest, tmp_path, capsys):
    output = tmp_path / "run"
    # --model: without it, the original project's large-v2 line-up runs where it is cached.
    argv = ["benchmark", "--mode", "speculative", "--model", "base", "--dataset", str(manifest)]
    argv += ["--repeats", "1", "--draft", "self-int8", "--output", str(output), "--no-progress"]
    argv += ["--no-memory"]  # measured in test_memory.py: a fresh process per configuration
    assert main(argv) == 0
    results = json.loads((output / "results.json").read_text())
    assert results["clips"] == 2 and results["repeats"] == 1
    assert results["baselines"] == {"base": "transformers generate base"}
    assert results["invocation"].startswith("specwhisper benchmark --mode speculative --dataset")
    assert "--repeats 1" in results["invocation"] and results["environment"]["command"]
    assert set(results["per_clip"]["specwhisper base draft=self-int8"][0]) >= {
        "clip",
        "seconds",
        "times",
        "text",
        "tokens",
        "exact",
        "stats",
    }
    rows = {row["system"]: row for row in results["summary"]}
    assert list(rows) == [
        "transformers generate base",
        "floor: base encoder only",
        "specwhisper base draft=none",
        "specwhisper base draft=self-int8",
    ]
    _check_speedups(rows)
    for name in ("specwhisper base draft=none", "specwhisper base draft=self-int8"):
        assert rows[name]["exact_match"] == 1.0  # lossless: the same tokens as generate()
        assert rows[name]["wer"] == rows["transformers generate base"]["wer"]
    spec = rows["specwhisper base draft=self-int8"]
    assert 0 < spec["acceptance"] <= 1 and spec["tokens_per_verify"] > 1
    assert rows["floor: base encoder only"]["wer"] is None
    for plot in ("speedup.png", "latency_vs_wer.png", "acceptance.png"):
        assert (output / plot).stat().st_size > 5000
    assert "| specwhisper base draft=self-int8 |" in (output / "results.md").read_text()
    assert "| specwhisper base draft=self-int8 |" in capsys.readouterr().out


def test_cross_mode_remaps_and_stays_exact(manifest):
    plan = build_plan("cross", "base", None, 2)
    assert len(plan.systems) == 2 + len(CROSS_SWEEP)
    assert any("large-v3" in note for note in plan.notes) or len(plan.baselines) == 2
    plan.systems = plan.systems[:3]  # baseline, adaptive, k=2: the rest of the sweep is alike
    rows = _rows(plan, manifest)
    _check_speedups(rows)
    adaptive = rows["specwhisper base <- tiny.en adaptive k"]
    assert adaptive["remap"]["draft_tokens_remapped"] > 0
    assert set(adaptive["remap"]) == {
        "draft_tokens_remapped",
        "one_to_many",
        "partial",
        "draft_eot",
    }
    assert rows["specwhisper base <- tiny.en k=2"]["config"]["draft_length"] == 2
    assert all(row["exact_match"] == 1.0 for row in rows.values())


def test_beam_mode_on_tiny_en(manifest):
    plan = build_plan("beam", "tiny.en", None, 2)
    rows = _rows(plan, manifest)
    assert len(rows) == 1 + len(BEAM_SIZES) + 1  # baseline, beams, greedy with its drafter
    greedy = rows[plan.greedy]
    assert greedy["latency_vs_greedy"] == 1.0 and greedy["exact_match"] == 1.0
    for row in rows.values():
        assert row["latency_vs_greedy"] == pytest.approx(
            row["total_s"] / greedy["total_s"], rel=2e-3
        )
        assert 0 <= row["wer"] <= 1
    _check_speedups(rows)


def test_peers_mode(manifest):
    plan = build_plan("peers", "base", None, 2)
    labels = [system.label for system in plan.systems]
    assert labels[:6] == [
        "transformers generate base",
        "transformers assisted base <- tiny.en",
        "transformers assisted base <- base-int8",
        "specwhisper base draft=auto (self-int8)",
        "specwhisper base (int8) draft=none",
        "specwhisper base (int8) draft=self-int8",
    ]
    if faster_whisper_available():
        assert labels[6:] == ["faster-whisper base float32", "faster-whisper base int8"]
    else:
        assert any("faster-whisper skipped" in note for note in plan.notes)
    # transformers' assisted generation with a foreign tokenizer is slow: timed elsewhere.
    del plan.systems[1]
    rows = _rows(plan, manifest)
    _check_speedups(rows)
    assert rows["transformers assisted base <- base-int8"]["exact_match"] == 1.0
    assert rows["specwhisper base draft=auto (self-int8)"]["exact_match"] == 1.0
    # The int8 main model is compared with its own plain greedy output, not with float32's.
    assert rows["specwhisper base (int8) draft=self-int8"]["exact_match"] == 1.0
    for row in rows.values():
        assert row["wer"] is not None and row["wer"] < 0.5


def test_language_auto_reaches_every_system_and_the_int8_assistant_works(manifest):
    """--language auto: generate() detects the language as every other system does (it was
    forced to English); and the int8 assistant given to transformers' assisted generation keeps
    its attention modules whole (a lean-only copy would draft garbage)."""
    from specwhisper.audio import load_audio
    from specwhisper.bench.systems import TransformersGenerate, int8_assistant
    from specwhisper.decoding.beam import generate_tokens
    from specwhisper.evaluation.metrics import word_error_rate
    from specwhisper.features import log_mel
    from specwhisper.models.loading import load_model

    clip = load_dataset(manifest)[0]
    german = (
        DEFAULT_DEV_SET.parent.parent / "multilingual" / "de_001.wav"
    )  # detected as German, not transcribed as English
    auto = TransformersGenerate("base", language=None)
    english = TransformersGenerate("base", language="en")
    assert auto(german).tokens != english(german).tokens
    assert auto(clip.audio_path).tokens == english(clip.audio_path).tokens
    assistant = int8_assistant("tiny.en")
    audio = load_audio(clip.audio_path)
    drafted = generate_tokens(assistant, log_mel(audio, assistant), None, "transcribe")
    reference = load_model("tiny.en")
    plain = generate_tokens(reference, log_mel(audio, reference), None, "transcribe")
    decode = reference.tokenizer.decode
    assert word_error_rate([decode(plain)], [decode(drafted)]) < 0.2
