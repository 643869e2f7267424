"""Models that break the contract are refused with a message that says what is wrong."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from standin_model import STANDIN_CONTRACT, build_standin_model, build_wrong_rank_model

from engine.contract import METADATA_KEY, ModelContract, ModelContractError
from engine.model import Generator


def test_contract_metadata_round_trip() -> None:
    contract = ModelContract(model_name="x", model_version="7", extra={"data": "test"})
    assert ModelContract.from_metadata(contract.to_metadata()) == contract


def test_standin_model_passes_the_check(standin_model: Path) -> None:
    assert Generator(standin_model, device="cpu").contract == STANDIN_CONTRACT


def test_model_without_metadata(tmp_path: Path) -> None:
    path = build_standin_model(tmp_path / "bare.onnx", metadata={})
    with pytest.raises(ModelContractError, match=f"bare.onnx.*no '{METADATA_KEY}'"):
        Generator(path)


def test_model_with_wrong_input_name(tmp_path: Path) -> None:
    path = build_standin_model(tmp_path / "named.onnx", input_name="gray")
    with pytest.raises(ModelContractError, match="input named 'L'.*'gray'"):
        Generator(path)


def test_model_with_wrong_output_name(tmp_path: Path) -> None:
    path = build_standin_model(tmp_path / "named.onnx", output_name="rgb")
    with pytest.raises(ModelContractError, match="output named 'ab'.*'rgb'"):
        Generator(path)


def test_model_with_wrong_rank(tmp_path: Path) -> None:
    path = build_wrong_rank_model(tmp_path / "rank.onnx")
    with pytest.raises(ModelContractError, match="rank 3"):
        Generator(path)


def test_model_with_unsupported_contract_version(tmp_path: Path) -> None:
    metadata = STANDIN_CONTRACT.to_metadata()
    values = json.loads(metadata[METADATA_KEY])
    values["version"] = 99
    path = build_standin_model(tmp_path / "v99.onnx", metadata={METADATA_KEY: json.dumps(values)})
    with pytest.raises(ModelContractError, match="version 99 is not supported"):
        Generator(path)


def test_model_with_other_lab_scaling(tmp_path: Path) -> None:
    path = build_standin_model(tmp_path / "scale.onnx", contract=replace(STANDIN_CONTRACT, ab_scale=128.0))
    with pytest.raises(ModelContractError, match="Lab scaling"):
        Generator(path)


def test_metadata_that_is_not_json(tmp_path: Path) -> None:
    path = build_standin_model(tmp_path / "junk.onnx", metadata={METADATA_KEY: "{not json"})
    with pytest.raises(ModelContractError, match="not valid JSON"):
        Generator(path)


def test_text_file_named_onnx(tmp_path: Path) -> None:
    path = tmp_path / "notes.onnx"
    path.write_text("this is not a neural network\n")
    with pytest.raises(ModelContractError, match="notes.onnx is not a usable ONNX model"):
        Generator(path)


def test_empty_file_named_onnx(tmp_path: Path) -> None:
    path = tmp_path / "empty.onnx"
    path.write_bytes(b"")
    with pytest.raises(ModelContractError, match="empty.onnx"):
        Generator(path)
