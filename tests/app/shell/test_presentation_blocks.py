"""Issue 12 polish: presentation mode (F11) on a network of residual blocks enlarges the
column of the layer the current step works on — at F4.0 the inner layer 4.body.0's column
`4.0`, not the block's ⊕ column — opens the block the pass is in, folds the others to
their ⊕ column, and keeps every column in view at 1920×1080 and 1280×720."""

from __future__ import annotations

import pytest
from gui_helpers import preset_window
from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QApplication

from cnnviz.app.debugger.pipeline import INPUT, LOSS
from cnnviz.app.debugger.pipeline_blocks import LANE_LINE_HEIGHT
from cnnviz.app.shell.main_window import MainWindow

# mini-resnet: 4 = block (identity shortcut, body 4.0 … 4.4), 6 = block with a 1×1
# projection shortcut (6.s0, 6.s1), 8 = block with an 8-layer bottleneck body.
INNER_STEPS = ["F4.0", "F4.3", "F6.0", "F6.s0", "F8.6", "B8.6", "B6.s1", "B4.0"]


@pytest.fixture
def resnet(qtbot, settings):
    """The mini-resnet window, shown."""
    win = preset_window(qtbot, settings, "mini-resnet", restore_layout=False)
    return win


def present(win: MainWindow, qtbot, size: tuple[int, int]) -> None:
    """F11, then the projector's size (see test_presentation.present)."""
    win.toggle_presentation()
    assert win.presentation
    win.showNormal()
    win.resize(*size)
    qtbot.waitUntil(lambda: (win.width(), win.height()) == size)
    QApplication.processEvents()


def run_to(win: MainWindow, step: str) -> None:
    """Run the pass to a step (from its start if it already ran) and let the panels lay out."""
    if win.ctrl.stepper.record(step) is not None:
        win.ctrl.reset()
    win.ctrl.run_to(step)
    QApplication.processEvents()


def shown(pipeline) -> dict:
    """The columns on screen (not inside a folded block)."""
    return {k: c for k, c in pipeline.columns.items() if c.isVisibleTo(pipeline.widget())}


def assert_all_in_view(pipeline, step: str) -> None:
    """Every column on screen lies inside the viewport, across and down."""
    view = pipeline.viewport()
    assert pipeline.horizontalScrollBar().maximum() <= 2, step  # a rounding pixel or two
    for key, column in shown(pipeline).items():
        top_left = column.mapTo(view, QPoint(0, 0))
        assert top_left.x() >= 0 and top_left.x() + column.width() <= view.width() + 2, \
            (step, key, top_left.x(), column.width(), view.width())
        assert top_left.y() >= 0 and top_left.y() + column.height() <= view.height(), \
            (step, key, top_left.y(), column.height(), view.height())


def test_at_an_inner_step_the_inner_layers_column_is_enlarged(resnet, qtbot):
    win = resnet
    present(win, qtbot, (1920, 1080))
    pipeline = win.panels["pipeline"]
    run_to(win, "F4.0")
    focus = pipeline.columns["4.0"]
    assert pipeline.overview.focus_key() == "4.0"
    assert focus.title.text() == "4.0 conv2d"  # its full heading, range and markers
    assert focus.mode_label.isVisible() and focus.markers["F4.0"].isVisible()
    assert "[" in focus.mode_label.text()  # the range of its maps
    addition = pipeline.columns[4]
    assert addition.title.text() == "4\n⊕" and not addition.mode_label.isVisible()
    others = [c for c in shown(pipeline).values() if c is not focus]
    assert focus.width() > 2 * max(c.width() for c in others)
    assert focus.thumbs.map_size()[0] >= 80  # 16 maps of 14×14, readable at 1080p
    assert focus.thumbs.map_size()[0] > 3 * max(c.thumbs.map_size()[0] for c in others
                                                 if not c.thumbs.vector)
    assert pipeline.columns["4.0"] is pipeline.column(pipeline.current_keys()[0])
    assert_all_in_view(pipeline, "F4.0")


def test_the_block_the_pass_is_in_opens_and_the_others_fold(resnet, qtbot):
    win = resnet
    present(win, qtbot, (1920, 1080))
    pipeline = win.panels["pipeline"]
    run_to(win, "F6.s0")
    view = pipeline.widget()
    assert pipeline.blocks[6].lanes["shortcut"].isVisibleTo(view)
    assert all(c.isVisibleTo(view) for key, c in pipeline.blocks[6].columns.items())
    for index in (4, 8):  # folded: the ⊕ column stands for the block
        block = pipeline.blocks[index]
        assert not any(c.isVisibleTo(view) for c in block.columns.values())
        assert block.add_column.isVisibleTo(view)
        assert block.add_column.title.text() == f"{index}\nres ⊕"
        assert "folded" in block.add_column.toolTip()
    assert pipeline.overview.focus_key() == "6.s0"
    run_to(win, "F0")  # outside every block: all folded
    assert not any(c.isVisibleTo(view) for b in pipeline.blocks.values()
                   for c in b.columns.values())
    assert pipeline.overview.focus_key() == 0
    run_to(win, "F4")  # the addition: its ⊕ column, with the block's lanes open
    assert pipeline.overview.focus_key() == 4
    assert pipeline.columns["4.0"].isVisibleTo(view)
    assert pipeline.columns[4].title.text() == "4 ⊕ add"


@pytest.mark.parametrize("size", [(1920, 1080), (1280, 720)])
def test_every_inner_step_enlarges_its_column_and_nothing_is_cut_off(resnet, qtbot, size):
    win = resnet
    present(win, qtbot, size)
    pipeline = win.panels["pipeline"]
    for step in INNER_STEPS:
        run_to(win, step)
        key = step[1:]
        assert pipeline.overview.focus_key() == key, step
        assert pipeline.current_keys() == [key]
        focus = pipeline.columns[key]
        assert focus.title.text().startswith(key + " "), step  # full title, not "4.0\nconv"
        others = [c for c in shown(pipeline).values() if c is not focus]
        assert focus.width() > max(c.width() for c in others), step
        assert_all_in_view(pipeline, step)
        assert set(shown(pipeline)) >= {INPUT, LOSS, *range(len(win.ctrl.spec.layers))}


def test_after_the_update_an_updated_inner_layer_that_is_selected_is_enlarged(resnet, qtbot):
    win = resnet
    present(win, qtbot, (1920, 1080))
    pipeline = win.panels["pipeline"]
    run_to(win, "U")
    assert pipeline.overview.focus_key() == 0  # the first updated layer
    win.ctrl.select_layer(6, "shortcut.0")
    QApplication.processEvents()
    assert pipeline.overview.focus_key() == "6.s0"
    assert pipeline.columns["6.s0"].title.text() == "6.s0 conv2d 1×1"
    assert_all_in_view(pipeline, "U")


def test_leaving_presentation_opens_every_block_again(resnet, qtbot):
    win = resnet
    present(win, qtbot, (1920, 1080))
    run_to(win, "F6.0")
    win.toggle_presentation()
    QApplication.processEvents()
    pipeline = win.panels["pipeline"]
    assert pipeline.overview is None
    view = pipeline.widget()
    for block in pipeline.blocks.values():
        assert all(c.isVisibleTo(view) for c in block.columns.values())
        assert block.caption.isVisibleTo(view) and block.fork.isVisibleTo(view)
    assert pipeline.columns[4].title.text() == "4 ⊕ add"
    assert pipeline.columns["6.s0"].title.text() == "6.s0 conv2d 1×1"


# Enlarged maps at a projector's 1280×720 (and 1440×900): before the tight layout 22 px
# at F4.0 / B4.3, 8 px at F6.s0 (and 30 px at F8.6 at 1440×900).
TIGHT_SIZES = [((1280, 720), {"F4.0": 40, "B4.3": 40, "F6.s0": 24, "F8.6": 26}),
               ((1440, 900), {"F4.0": 50, "F6.s0": 36, "F8.6": 40})]


@pytest.mark.parametrize(("size", "minimum"), TIGHT_SIZES)
def test_on_a_small_screen_the_enlarged_maps_stay_readable(resnet, qtbot, size, minimum):
    win = resnet
    present(win, qtbot, size)
    pipeline = win.panels["pipeline"]
    for step, pixels in minimum.items():
        run_to(win, step)
        focus = pipeline.columns[step[1:]]
        assert min(focus.thumbs.map_size()) >= pixels, (step, focus.thumbs.map_size())
        assert_all_in_view(pipeline, step)
        assert pipeline.verticalScrollBar().maximum() == 0, step
        assert set(shown(pipeline)) >= {INPUT, LOSS, *range(len(win.ctrl.spec.layers))}


def test_the_tight_layout_hides_the_blocks_rule_but_not_what_the_step_does(resnet, qtbot):
    win = resnet
    present(win, qtbot, (1280, 720))
    pipeline = win.panels["pipeline"]
    block, view = pipeline.blocks[4], pipeline.widget()
    run_to(win, "F4.0")
    assert pipeline.overview.tight
    assert not block.caption.isVisibleTo(view)  # only the rule "o = body(x) + shortcut(x)"
    markers = pipeline.columns["4.0"].markers["F4.0"]
    assert markers.isVisibleTo(view) and not pipeline.columns["4.0"].gutter_above
    run_to(win, "B4.0")  # the join at the block input: the caption says so
    assert block.caption.isVisibleTo(view) and "join" in block.caption.text()
    assert_all_in_view(pipeline, "B4.0")


def test_at_full_hd_the_layout_is_not_tight_and_leaving_restores_it(resnet, qtbot):
    win = resnet
    present(win, qtbot, (1920, 1080))
    pipeline = win.panels["pipeline"]
    run_to(win, "F4.0")
    assert not pipeline.overview.tight and pipeline.blocks[4].caption.isVisibleTo(
        pipeline.widget())
    win.resize(1280, 720)
    qtbot.waitUntil(lambda: win.height() == 720)
    QApplication.processEvents()
    assert pipeline.overview.tight
    win.toggle_presentation()
    QApplication.processEvents()
    block = pipeline.blocks[4]
    assert block.caption.isVisibleTo(pipeline.widget())
    assert block.fillers["shortcut"].minimumHeight() == LANE_LINE_HEIGHT
