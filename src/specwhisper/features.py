"""Log-mel features, computed per model: 80 bins for most Whispers, 128 for large-v3."""

from __future__ import annotations

import numpy as np
import torch

from .audio import SAMPLE_RATE
from .models.loading import WhisperBundle

CHUNK_SECONDS = 30  # Whisper sees fixed 30 s windows; shorter audio is padded with silence
N_SAMPLES = CHUNK_SECONDS * SAMPLE_RATE  # 480000 samples in one window


def log_mel(audio: np.ndarray, bundle: WhisperBundle) -> torch.Tensor:
    """16 kHz mono float32 waveform (<= 30 s) -> (1, n_mels, 3000) log-mel for ``bundle``."""
    features = bundle.feature_extractor(
        audio, sampling_rate=SAMPLE_RATE, return_tensors="pt"
    ).input_features
    return features.to(torch.float32)
