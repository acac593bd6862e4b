"""The dataset browser: thumbnails, split and class filters, picking an example, mistakes."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from cnnviz.app.controller import AppController
from cnnviz.app.dataset_browser import DatasetBrowser
from cnnviz.core.network import Network
from cnnviz.core.optim import SGD
from cnnviz.core.presets import get_preset
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
    qtbot.addWidget(widget)
    widget.resize(640, 700)
    widget.show()
    qtbot.waitExposed(widget)
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
