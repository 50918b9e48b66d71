"""Choosing where models compute (models/devices.py), and what a GPU main refuses.

This machine has no GPU: the GPU itself is exercised by scripts/gpu_benchmarks.sh on a lent
machine (bench/results/gpu-*); here the choices, the errors and the CPU path are tested."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from specwhisper import transcribe
from specwhisper.cli import main
from specwhisper.decoding.drafters import make_drafter
from specwhisper.errors import DraftError, OptionsError
from specwhisper.evaluation.datasets import DEFAULT_DEV_SET, load_dataset
from specwhisper.models import devices
from specwhisper.models.devices import DEVICE_ENV, module_device, on_cpu, resolve_device


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.delenv(DEVICE_ENV, raising=False)


@pytest.fixture
def one_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.delenv(DEVICE_ENV, raising=False)


def test_auto_is_the_cpu_without_a_gpu(no_gpu, monkeypatch):
    assert resolve_device() == resolve_device("auto") == resolve_device(" CPU ") == "cpu"
    monkeypatch.setenv(DEVICE_ENV, "cpu")
    assert resolve_device(None) == "cpu"


def test_asking_for_a_gpu_that_is_not_there_names_the_way_out(no_gpu):
    with pytest.raises(OptionsError) as refused:
        resolve_device("cuda")
    assert refused.value.field == "device"
    assert "use device cpu" in str(refused.value)


def test_an_unknown_device_lists_the_choices(no_gpu):
    with pytest.raises(OptionsError, match="auto, cpu, cuda") as refused:
        resolve_device("tpu")
    assert refused.value.field == "device"


def test_a_gpu_gets_one_spelling_and_its_index_is_checked(one_gpu):
    assert resolve_device() == resolve_device("cuda") == resolve_device("cuda:0") == "cuda:0"
    with pytest.raises(OptionsError, match="cuda:0 to cuda:0"):
        resolve_device("cuda:1")
    with pytest.raises(OptionsError):
        resolve_device("cuda:x")


def test_int8_is_refused_on_a_gpu_before_any_model_loads(monkeypatch):
    monkeypatch.setattr(transcribe, "resolve_device", lambda device: "cuda:0")
    with pytest.raises(OptionsError, match="int8 runs on the CPU") as refused:
        transcribe.Transcriber("base", "none", compute_type="int8", device="cuda")
    assert refused.value.field == "compute_type"


def test_a_gpu_main_gets_no_int8_draft():
    gpu_main = SimpleNamespace(device=torch.device("cuda", 0))
    assert make_drafter("auto", gpu_main) is None  # measured: drafting does not pay there
    with pytest.raises(DraftError, match="--device cpu"):
        make_drafter("self-int8", gpu_main)


def test_cpu_tensors_pass_through_untouched():
    logits = torch.randn(2, 5)
    assert on_cpu(logits) is logits
    assert devices.finished(logits) is logits
    assert module_device(torch.nn.Linear(2, 2)) == torch.device("cpu")
    assert module_device(torch.nn.Module()) == torch.device("cpu")


def test_cli_device_flag(no_gpu, capsys):
    clip = load_dataset(DEFAULT_DEV_SET, samples=1)[0].audio_path
    assert main(["transcribe", str(clip), "--model", "tiny.en", "--device", "cuda"]) == 2
    assert "use device cpu" in capsys.readouterr().err
