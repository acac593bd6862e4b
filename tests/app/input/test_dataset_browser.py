"""The dataset browser: thumbnails, split and class filters, picking an example, mistakes."""

from __future__ import annotations

import numpy as np
import pytest
from gui_helpers import shown
from PySide6.QtCore import Qt

from cnnviz.app.controller import AppController
from cnnviz.app.input.dataset_browser import OPEN_ITEM, DatasetBrowser
from cnnviz.core.network import Network
from cnnviz.core.optim import SGD
from cnnviz.core.presets import get_preset
from cnnviz.data.idx import save_idx
from cnnviz.engine.trainer import evaluate


@pytest.fixture(scope="module", autouse=True)
def kernel_pool_started():
    """The core runs big batches on a process-wide pool of kernel threads that lives as long
    as the process; start it before the tests, so that the leak check of tests/app/conftest.py
    only sees threads a test really leaves behind."""
    net = Network.from_spec(get_preset("mlp"))
    net.forward(np.zeros((500, 1, 28, 28), dtype=np.float32))


@pytest.fixture
def browser(qtbot):
    """A browser on an `mlp` controller, with the bundled MNIST opened through its combo."""
    controller = AppController("mlp", user_weights=False)
    widget = DatasetBrowser(controller)
    shown(qtbot, widget, 640, 700)
    row = widget.dataset_combo.findText("mnist")
    widget.dataset_combo.setCurrentIndex(row)
    widget.dataset_combo.activated.emit(row)                 # as a user's pick does
    assert controller.dataset is not None and controller.dataset.name.startswith("mnist")
    return widget


def shown_indices(browser: DatasetBrowser) -> list[int]:
    """The dataset indices the list shows, in order."""
    model = browser.model
    return [model.data(model.index(r), Qt.ItemDataRole.UserRole) for r in range(model.rowCount())]


def test_split_and_class_filters(browser):
    data = browser.controller.dataset
    assert shown_indices(browser) == list(data.test_indices)          # test split by default
    browser.split_combo.setCurrentText("train")
    assert shown_indices(browser) == list(data.train_indices)
    browser.class_combo.setCurrentIndex(1 + 7)                        # class "7"
    shown = shown_indices(browser)
    assert shown and all(data.labels[i] == 7 for i in shown)
    assert sorted(shown) == sorted(i for i in data.train_indices if data.labels[i] == 7)
    model = browser.model
    assert model.data(model.index(0), Qt.ItemDataRole.DisplayRole) == data.class_names[7]
    icon = model.data(model.index(0), Qt.ItemDataRole.DecorationRole)
    assert icon.width() >= 48 and not icon.isNull()


def test_clicking_an_example_sets_input_and_label(qtbot, browser):
    view, model = browser.view, browser.model
    index = model.index(3)
    view.scrollTo(index)
    with qtbot.waitSignal(browser.controller.input_changed, timeout=2000):
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton,
                         pos=view.visualRect(index).center())
    i = model.dataset_index(3)
    data = browser.controller.dataset
    np.testing.assert_array_equal(browser.controller.input_image, data.images[i])
    assert browser.controller.input_label == int(data.labels[i])


def test_show_mistakes_lists_exactly_what_evaluate_gets_wrong(qtbot, browser, artifacts_dir):
    controller = browser.controller
    data = controller.dataset
    x, y = data.train()
    order = np.random.default_rng(0).permutation(len(y))[:1600]
    optimizer = SGD(lr=0.1)
    for start in range(0, len(order), 32):                             # a little training
        batch = order[start:start + 32]
        controller.network.train_step(x[batch], y[batch], optimizer)
    controller.set_weights(controller.network.state_dict())
    reference = Network.from_spec(controller.spec)
    reference.load_state_dict(controller.network.state_dict())
    xt, yt = data.test()
    _loss, accuracy, predicted = evaluate(reference, xt, yt)
    assert 0.3 < accuracy < 1.0                                        # some right, some wrong
    wrong = {int(data.test_indices[k]): int(predicted[k]) for k in np.flatnonzero(predicted != yt)}

    qtbot.mouseClick(browser.mistakes_button, Qt.MouseButton.LeftButton)
    assert browser.mistakes_button.isChecked()
    assert sorted(shown_indices(browser)) == sorted(wrong)
    assert browser.model.predictions == wrong
    first = browser.model.dataset_index(0)
    text = browser.model.data(browser.model.index(0), Qt.ItemDataRole.DisplayRole)
    assert text == f"{data.class_names[data.labels[first]]} → {data.class_names[wrong[first]]}"
    assert f"{len(wrong):,} of {len(yt):,}" in browser.info.text()
    qtbot.waitUntil(lambda: not browser.view.visualRect(browser.model.index(0)).isEmpty())
    browser.grab().save(str(artifacts_dir / "dataset_browser_mistakes.png"))
    browser.class_combo.setCurrentIndex(1 + 3)                         # mistakes on true 3s
    assert sorted(shown_indices(browser)) == sorted(i for i in wrong if data.labels[i] == 3)
    qtbot.mouseClick(browser.mistakes_button, Qt.MouseButton.LeftButton)
    assert browser.model.predictions == {}


def test_bad_path_shows_an_error_and_keeps_the_dataset(qtbot, browser, tmp_path):
    before = browser.controller.dataset
    with qtbot.waitSignal(browser.controller.error_raised, timeout=2000) as blocker:
        assert not browser.open(str(tmp_path / "missing"))
    assert "missing" in blocker.args[1]
    assert browser.controller.dataset is before


def test_opens_mnist_when_first_shown(qtbot):
    controller = AppController("lenet5", user_weights=False)
    widget = DatasetBrowser(controller)
    qtbot.addWidget(widget)
    assert controller.dataset is None
    widget.show()
    qtbot.waitUntil(lambda: controller.dataset is not None)
    assert widget.dataset_combo.currentText() == controller.dataset.name
    assert widget.model.rowCount() == len(controller.dataset.test_indices)


def test_screenshot(qtbot, browser, artifacts_dir):
    qtbot.waitUntil(lambda: not browser.view.visualRect(browser.model.index(0)).isEmpty())
    browser.grab().save(str(artifacts_dir / "dataset_browser.png"))


def test_shapes_fit_the_square_network(qtbot):
    controller = AppController("square", user_weights=False)
    widget = DatasetBrowser(controller)
    qtbot.addWidget(widget)
    assert widget.open("shapes")
    assert controller.dataset.input_shape == (1, 8, 8)
    assert len(controller.dataset.class_names) == controller.spec.num_classes
    assert "expects" not in widget.info.text()
    assert widget.pick(0)
    assert controller.input_label == int(controller.dataset.labels[widget.model.dataset_index(0)])


def test_mistakes_refused_when_the_dataset_does_not_fit(qtbot):
    controller = AppController("square", user_weights=False)      # 1×8×8 input
    widget = DatasetBrowser(controller)
    qtbot.addWidget(widget)
    assert widget.open("mnist")
    assert "the network expects 1×8×8" in widget.info.text()
    widget.mistakes_button.click()
    assert not widget.mistakes_button.isChecked()
    assert "Cannot look for mistakes" in widget.info.text()
    assert widget.model.rowCount() == len(controller.dataset.test_indices)


def thumb_and_label(browser: DatasetBrowser, row: int) -> tuple[np.ndarray, str]:
    """The thumbnail of a row as a (H, W) gray array, and the label text it shows."""
    model = browser.model
    pixmap = model.data(model.index(row), Qt.ItemDataRole.DecorationRole)
    image = pixmap.toImage().convertToFormat(pixmap.toImage().Format.Format_Grayscale8)
    pixels = np.array([[image.pixelColor(x, y).value() for x in range(image.width())]
                       for y in range(image.height())])
    return pixels, model.data(model.index(row), Qt.ItemDataRole.DisplayRole)


def open_through_the_combo(qtbot, browser, monkeypatch, folder) -> None:
    """Pick "Open folder/IDX…" and answer the folder dialog with `folder`."""
    from PySide6.QtWidgets import QFileDialog

    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        staticmethod(lambda *args, **kwargs: str(folder)))
    row = browser.dataset_combo.findText(OPEN_ITEM)
    with qtbot.waitSignal(browser.controller.dataset_changed, timeout=5000):
        browser.dataset_combo.activated.emit(row)


def test_a_users_idx_files_show_with_thumbnails_and_labels(qtbot, browser, tmp_path,
                                                          monkeypatch):
    """Four MNIST-named IDX files in a folder: test split listed, bright pixel where drawn."""
    images = np.zeros((12, 28, 28), np.uint8)
    for k in range(12):
        images[k, 4 + k, 2:26] = 255                          # a bar at a different row each
    labels = (np.arange(12) % 10).astype(np.uint8)
    for part, count in (("train", 8), ("t10k", 4)):
        chosen = slice(0, 8) if part == "train" else slice(8, 12)
        save_idx(tmp_path / f"{part}-images-idx3-ubyte", images[chosen])
        save_idx(tmp_path / f"{part}-labels-idx1-ubyte", labels[chosen])
        assert len(images[chosen]) == count
    open_through_the_combo(qtbot, browser, monkeypatch, tmp_path)
    dataset = browser.controller.dataset
    assert len(dataset.labels) == 12 and browser.model.rowCount() == 4   # the t10k files
    for row in range(4):
        i = browser.model.dataset_index(row)
        pixels, label = thumb_and_label(browser, row)
        assert label == dataset.class_names[int(dataset.labels[i])]
        bar = 4 + i                                           # the bar's row, 28 → 56 px
        assert pixels[2 * bar + 1, 28] > 200 and pixels[2 * bar + 12, 28] < 50
    assert browser.pick(0)
    assert browser.controller.input_label == int(dataset.labels[browser.model.dataset_index(0)])


def test_a_users_image_folder_lists_its_classes(qtbot, browser, tmp_path, monkeypatch):
    """One sub-folder per class: the class names label the thumbnails and filter the list."""
    from PIL import Image

    for name, value in (("dark", 30), ("light", 220)):
        (tmp_path / name).mkdir()
        for k in range(5):
            Image.new("L", (28, 28), value + k).save(tmp_path / name / f"{k}.png")
    open_through_the_combo(qtbot, browser, monkeypatch, tmp_path)
    dataset = browser.controller.dataset
    assert dataset.class_names == ["dark", "light"]
    browser.split_combo.setCurrentText("all")
    assert browser.model.rowCount() == 10
    labels = {thumb_and_label(browser, row)[1] for row in range(10)}
    assert labels == {"dark", "light"}
    browser.class_combo.setCurrentIndex(2)                    # "light" only
    assert browser.model.rowCount() == 5
    for row in range(5):
        pixels, label = thumb_and_label(browser, row)
        assert label == "light" and pixels.mean() > 200
