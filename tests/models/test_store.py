"""The model store: folder names, import of ONNX files, listing, resolving, removing."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest
from onnx import TensorProto, helper

from visionflow.errors import ModelError
from visionflow.models.base import ModelTask
from visionflow.models.package import ModelManifest, file_sha256
from visionflow.models.store import (
    BUILTIN_MODELS,
    ModelStore,
    default_models_dir,
    folder_name,
    model_id_from_folder,
    parse_class_names,
)

ULTRALYTICS = {
    "names": "{0: 'person', 1: 'bicycle', 2: 'car'}",
    "imgsz": "[320, 480]",
    "task": "detect",
    "stride": "32",
}


def tiny_onnx(path: Path, metadata: dict[str, str] | None = None, size: int | None = 64) -> Path:
    """An identity-like model taking (1, 3, H, W) images, with ONNX metadata."""
    dims: list[int | str] = [1, 3, size, size] if size else [1, 3, "h", "w"]
    image = helper.make_tensor_value_info("images", TensorProto.FLOAT, dims)
    output = helper.make_tensor_value_info("output0", TensorProto.FLOAT, dims)
    graph = helper.make_graph(
        [helper.make_node("Identity", ["images"], ["output0"])], "g", [image], [output]
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    for key, value in (metadata or {}).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(path))
    return path


@pytest.fixture
def store(tmp_path: Path) -> ModelStore:
    return ModelStore(tmp_path / "models")


@pytest.mark.parametrize(
    ("model_id", "folder"),
    [
        ("yolov8n-640", "yolov8n-640"),
        ("project/3", "project--3"),
        ("a--b", "a~2D~2Db"),
        ("a/-b", "a--~2Db"),
        ("a//b", "a----b"),
        (".hidden.", "~2Ehidden~2E"),
        ("é x", "~C3~A9~20x"),
        ("~", "~7E"),
    ],
)
def test_folder_names_are_safe_and_reversible(model_id: str, folder: str) -> None:
    assert folder_name(model_id) == folder
    assert model_id_from_folder(folder) == model_id


@pytest.mark.parametrize("model_id", ["", " ", " padded", "tab\there"])
def test_ids_that_cannot_name_a_model_are_refused(store: ModelStore, model_id: str) -> None:
    with pytest.raises(ModelError) as caught:
        store.resolve(model_id)
    assert caught.value.code == "model.invalid_id"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("", []), ("cat", ["cat"]), ("cat, dog ,", ["cat", "dog"]), ("@file", ["a", "b c"])],
)
def test_class_names_from_a_list_or_a_file(tmp_path: Path, value: str, expected: list[str]) -> None:
    if value == "@file":
        value = str(tmp_path / "names.txt")
        Path(value).write_text("a\n\n b c \n")
    assert parse_class_names(value) == expected


def test_the_root_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VISIONFLOW_MODELS_DIR", str(tmp_path / "elsewhere"))
    assert ModelStore().root == tmp_path / "elsewhere" == default_models_dir()
    monkeypatch.delenv("VISIONFLOW_MODELS_DIR")
    assert default_models_dir().parts[-2:] == ("visionflow", "models")


def test_an_empty_store_lists_only_the_builtin_ocr_model(store: ModelStore) -> None:
    assert [m.model_id for m in store.list()] == list(BUILTIN_MODELS) == ["pp-ocr"]
    manifest = store.manifest("pp-ocr")
    assert manifest.task == ModelTask.OCR and manifest.output_layout == "ocr"


def test_import_an_ultralytics_export_reads_its_metadata(store: ModelStore, tmp_path: Path) -> None:
    source = tiny_onnx(tmp_path / "best.onnx", ULTRALYTICS)
    manifest = store.import_onnx(source, "project/3")
    folder = store.folder("project/3")
    assert folder.name == "project--3" and store.resolve("project/3") == folder
    assert manifest.class_names == ["person", "bicycle", "car"]
    assert manifest.input_size == (480, 320)  # ultralytics writes [height, width]
    assert manifest.task == ModelTask.OBJECT_DETECTION and manifest.output_layout == "yolov8"
    assert manifest.sha256 == file_sha256(source) == file_sha256(folder / manifest.file)
    assert ModelManifest.read(folder) == manifest
    assert [m.model_id for m in store.list()] == ["pp-ocr", "project/3"]


def test_explicit_options_override_the_metadata(store: ModelStore, tmp_path: Path) -> None:
    source = tiny_onnx(tmp_path / "best.onnx", ULTRALYTICS)
    manifest = store.import_onnx(
        source, "renamed", class_names=["a", "b", "c"], input_size=(64, 64)
    )
    assert manifest.class_names == ["a", "b", "c"] and manifest.input_size == (64, 64)


@pytest.mark.parametrize(
    ("task", "classes", "size", "expected"),
    [
        (None, None, 64, "pass --task and --classes"),
        ("classification", None, 64, "pass --classes"),
        (None, ["cat"], 64, "pass --task"),
        ("classification", ["cat"], None, "pass --input-size"),
        ("ocr", ["cat"], 64, "OCR is built in"),
        ("segmentation", ["cat"], 64, "unknown task 'segmentation'"),
    ],
)
def test_a_model_without_metadata_needs_a_task_and_classes(
    store: ModelStore,
    tmp_path: Path,
    task: str | None,
    classes: list[str] | None,
    size: int | None,
    expected: str,
) -> None:
    source = tiny_onnx(tmp_path / "plain.onnx", size=size)
    with pytest.raises(ModelError) as caught:
        store.import_onnx(source, "plain", task=task, class_names=classes)
    assert expected in caught.value.message
    assert not store.folder("plain").exists()


def test_a_model_without_metadata_imports_with_task_and_classes(
    store: ModelStore, tmp_path: Path
) -> None:
    source = tiny_onnx(tmp_path / "plain.onnx", size=None)
    manifest = store.import_onnx(
        source, "cls", task="classification", class_names=["cat", "dog"], input_size=(224, 224)
    )
    assert manifest.task == ModelTask.CLASSIFICATION and manifest.resize == "center-crop"
    assert manifest.input_size == (224, 224) and manifest.class_names == ["cat", "dog"]


def test_import_refuses_to_overwrite_without_force(store: ModelStore, tmp_path: Path) -> None:
    first = tiny_onnx(tmp_path / "a.onnx", ULTRALYTICS)
    store.import_onnx(first, "m")
    with pytest.raises(ModelError) as caught:
        store.import_onnx(first, "m")
    assert caught.value.code == "model.already_exists" and "--force" in caught.value.message
    second = tiny_onnx(tmp_path / "b.onnx", {**ULTRALYTICS, "names": "['only']"})
    assert store.import_onnx(second, "m", force=True).class_names == ["only"]
    assert store.manifest("m").class_names == ["only"]
    assert sorted(p.name for p in store.root.iterdir()) == ["m"]  # no staging left behind


@pytest.mark.parametrize(
    ("content", "code"),
    [(None, "model.file_not_found"), (b"not onnx", "model.corrupt_file")],
)
def test_import_refuses_what_is_not_an_onnx_file(
    store: ModelStore, tmp_path: Path, content: bytes | None, code: str
) -> None:
    path = tmp_path / "model.onnx"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ModelError) as caught:
        store.import_onnx(path, "x")
    assert caught.value.code == code and not store.folder("x").exists()


def test_the_builtin_id_is_reserved(store: ModelStore, tmp_path: Path) -> None:
    source = tiny_onnx(tmp_path / "a.onnx", ULTRALYTICS)
    with pytest.raises(ModelError, match="built-in"):
        store.import_onnx(source, "pp-ocr")
    with pytest.raises(ModelError) as caught:
        store.remove("pp-ocr")
    assert caught.value.code == "model.builtin"


def test_unknown_ids_suggest_close_ones_and_how_to_add_one(
    store: ModelStore, tmp_path: Path
) -> None:
    store.import_onnx(tiny_onnx(tmp_path / "a.onnx", ULTRALYTICS), "yolov8n-640")
    with pytest.raises(ModelError) as caught:
        store.resolve("yolov8n-64")
    error = caught.value
    assert error.code == "model.not_found" and error.loc == "yolov8n-64"
    assert "Did you mean 'yolov8n-640'?" in error.message
    assert "Installed: pp-ocr, yolov8n-640" in error.message
    assert "visionflow models import FILE.onnx --id NAME" in error.message
    assert "visionflow models prepare" in error.message


def test_the_id_in_model_json_is_the_truth(store: ModelStore, tmp_path: Path) -> None:
    store.import_onnx(tiny_onnx(tmp_path / "a.onnx", ULTRALYTICS), "project/3")
    moved = store.root / "renamed by hand"
    store.folder("project/3").rename(moved)
    assert store.resolve("project/3") == moved
    (store.root / "broken").mkdir()
    (store.root / "broken" / "model.json").write_text("{nope")
    assert [m.model_id for m in store.list()] == ["pp-ocr", "project/3"]  # broken one skipped
    with pytest.raises(ModelError) as caught:
        ModelManifest.read(store.resolve("broken"))
    assert caught.value.code == "model.invalid_package"


def test_remove_deletes_the_package(store: ModelStore, tmp_path: Path) -> None:
    store.import_onnx(tiny_onnx(tmp_path / "a.onnx", ULTRALYTICS), "m")
    assert store.remove("m") == store.folder("m")
    assert not store.folder("m").exists()
    with pytest.raises(ModelError) as caught:
        store.remove("m")
    assert caught.value.code == "model.not_found"
