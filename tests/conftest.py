"""Shared fixtures: the committed dev set and the real bundled models (loaded once)."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never reach for the hub
# Idle OpenMP threads sleep instead of spinning: tests start servers and share 2 cores with
# other work, and spinning waiters made the same test 6x slower on a busy machine.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402  (after the OpenMP setting, which torch reads when it loads)

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
