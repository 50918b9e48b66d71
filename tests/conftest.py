"""Shared fixtures: the committed dev set and the real bundled models (loaded once)."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never reach for the hub
torch.set_num_threads(int(os.environ.get("SPECWHISPER_THREADS", "2")))


@pytest.fixture(scope="session")
def dev_set():
    from specwhisper.evaluation.datasets import DEFAULT_DEV_SET, load_dataset

    return load_dataset(DEFAULT_DEV_SET)


@pytest.fixture(scope="session")
def dev_audio(dev_set) -> dict[str, np.ndarray]:
    from specwhisper.audio import load_audio

    return {utterance.id: load_audio(utterance.audio_path) for utterance in dev_set}


@pytest.fixture(scope="session")
def base():
    from specwhisper.models.loading import load_model

    return load_model("base")


@pytest.fixture(scope="session")
def tiny_en():
    from specwhisper.models.loading import load_model

    return load_model("tiny.en")
