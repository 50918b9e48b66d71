import struct

import numpy as np
import pytest

from specwhisper.models.ctranslate2_file import CTranslate2FormatError, read_model_bin


def _string(text: str) -> bytes:
    raw = text.encode() + b"\0"
    return struct.pack("<H", len(raw)) + raw


def _model_bin(version: int = 6) -> bytes:
    weight = np.arange(6, dtype=np.float16).reshape(2, 3)
    body = struct.pack("<I", version) + _string("WhisperSpec") + struct.pack("<I", 3)
    body += struct.pack("<I", 2)
    body += _string("decoder/embeddings/weight") + struct.pack("<B", 2) + struct.pack("<II", 2, 3)
    body += struct.pack("<B", 4) + struct.pack("<I", weight.nbytes) + weight.tobytes()
    body += _string("decoder/num_heads") + struct.pack("<B", 0) + struct.pack("<B", 3)
    body += struct.pack("<I", 4) + struct.pack("<i", 6)
    body += struct.pack("<I", 1) + _string("decoder/projection/weight")
    body += _string("decoder/embeddings/weight")
    return body


def test_reads_variables_scalars_and_aliases(tmp_path):
    path = tmp_path / "model.bin"
    path.write_bytes(_model_bin())
    spec, variables = read_model_bin([path])
    assert spec == "WhisperSpec"
    assert variables["decoder/embeddings/weight"].dtype == np.float16
    assert variables["decoder/embeddings/weight"].tolist() == [[0, 1, 2], [3, 4, 5]]
    assert int(variables["decoder/num_heads"]) == 6
    assert variables["decoder/projection/weight"] is variables["decoder/embeddings/weight"]


def test_split_parts_are_joined_in_order(tmp_path):
    data = _model_bin()
    (tmp_path / "p1").write_bytes(data[:50])
    (tmp_path / "p2").write_bytes(data[50:])
    _, variables = read_model_bin([tmp_path / "p1", tmp_path / "p2"])
    assert variables["decoder/embeddings/weight"].shape == (2, 3)
    with pytest.raises(CTranslate2FormatError):
        read_model_bin([tmp_path / "p2", tmp_path / "p1"])


def test_truncated_file_and_wrong_version_are_clear_errors(tmp_path):
    (tmp_path / "short.bin").write_bytes(_model_bin()[:-40])
    with pytest.raises(CTranslate2FormatError):
        read_model_bin([tmp_path / "short.bin"])
    (tmp_path / "v5.bin").write_bytes(_model_bin(version=5))
    with pytest.raises(CTranslate2FormatError, match="version 5"):
        read_model_bin([tmp_path / "v5.bin"])
