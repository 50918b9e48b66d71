"""hardware.share_cores_politely: the OpenMP wait policy for processes that share cores."""

import os

from specwhisper.hardware import SHARED_CORES_OPENMP, share_cores_politely


def test_a_short_spin_then_sleep_unless_the_user_chose(monkeypatch):
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    monkeypatch.delenv("GOMP_SPINCOUNT", raising=False)
    assert share_cores_politely()
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"
    assert os.environ["GOMP_SPINCOUNT"] == SHARED_CORES_OPENMP["GOMP_SPINCOUNT"]


def test_a_policy_of_ones_own_is_kept(monkeypatch):
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    monkeypatch.delenv("GOMP_SPINCOUNT", raising=False)
    assert not share_cores_politely()
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE" and "GOMP_SPINCOUNT" not in os.environ
