"""The layer editor's residual-block edits: a block, layers in its body or shortcut, the
1×1 projection switch and the one-click fix of a branch mismatch. Each one is an undoable
edit of the draft through the editor (`LayerEditor.edit`); the rules are in `blocks.py`."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QPushButton

from cnnviz.app.editor import blocks
from cnnviz.app.editor import model as em


class BlockEdits:
    """Block edits on behalf of a LayerEditor (`editor` has `_draft`, `edit`, `validation`,
    `selected_path`)."""

    def __init__(self, editor: Any) -> None:
        self.editor = editor
        self.fix_button = QPushButton("Fix: use a 1×1 projection shortcut")
        self.fix_button.setObjectName("editor_fix")
        self.fix_button.setToolTip("Give the block the 1×1 convolution shortcut the error "
                                   "suggests, so that both branches give the same shape")
        self.fix_button.clicked.connect(self.apply_fix)
        self.fix_button.setVisible(False)

    @property
    def draft(self) -> dict:
        """The editor's current draft (read only)."""
        return self.editor._draft  # noqa: SLF001 - the editor's own helper

    def add_block(self, index: int | None = None) -> None:
        """Insert a residual block after the selected layer (or at index)."""
        if index is None:
            path = self.editor.selected_path()
            index = len(self.draft["layers"]) if path is None else path[0] + 1
        channels = self._channels_before(index)
        self.editor.edit(blocks.add_block(self.draft, index, channels),
                         "Add residual block", select=(index,))

    def _channels_before(self, index: int) -> int:
        """The number of maps a block inserted at index gets (8 when unknown)."""
        spec = self.editor.validation.spec
        if spec is None:
            return 8
        shape = spec.input_shape if index == 0 else spec.layers[index - 1].out_shape
        return int(shape[0]) if len(shape) == 3 else 8

    def add_inner(self, path: blocks.Path, layer_type: str) -> None:
        """A new layer after an inner row (on the identity row: the shortcut's first)."""
        if layer_type not in em.LAYER_TYPES:
            return
        j = 0 if path[2] is None else path[2] + 1
        self.editor.edit(blocks.add_inner(self.draft, path, em.new_layer(layer_type)),
                         f"Add {layer_type} to block {path[0]}'s {path[1]}",
                         select=(path[0], path[1], j))

    def remove_inner(self, path: blocks.Path) -> None:
        """Remove an inner layer (nothing for the identity row)."""
        if path[2] is None:
            return
        after = blocks.remove_inner(self.draft, path)
        rest = blocks.rows(after)
        near = (path[0], path[1], max(0, path[2] - 1))
        select = near if near in rest else (path[0],)
        self.editor.edit(after, f"Remove {blocks.label(path)}", select=select)

    def duplicate_inner(self, path: blocks.Path) -> None:
        """Copy an inner layer right after itself."""
        layer = blocks.layer_at(self.draft, path)
        if layer is not None:
            self.editor.edit(blocks.add_inner(self.draft, path, layer),
                             f"Duplicate {blocks.label(path)}",
                             select=(path[0], path[1], path[2] + 1))

    def move_inner(self, path: blocks.Path, delta: int) -> None:
        """Move an inner layer up or down within its branch."""
        if path[2] is None:
            return
        size = len(blocks.layer_at(self.draft, (path[0],)).get(path[1]) or [])
        dst = path[2] + delta
        if 0 <= dst < size and dst != path[2]:
            self.editor.edit(blocks.move_inner(self.draft, path, dst),
                             f"Move {blocks.label(path)}", select=(path[0], path[1], dst))

    def set_inner_field(self, path: blocks.Path, name: str, value: object) -> None:
        """One field of an inner layer (the same rules as a top-level one)."""
        layer = em.set_field({"layers": [blocks.layer_at(self.draft, path)]}, 0, name, value)
        self.editor.edit(blocks.replace_inner(self.draft, path, layer["layers"][0]),
                         f"Set {name} of {blocks.label(path)}", merge_key=("field", path, name))

    def set_inner_type(self, path: blocks.Path, kind: str) -> None:
        """Change an inner layer's type, keeping the fields both types share."""
        layer = em.set_layer_type({"layers": [blocks.layer_at(self.draft, path)]}, 0, kind)
        self.editor.edit(blocks.replace_inner(self.draft, path, layer["layers"][0]),
                         f"Make {blocks.label(path)} {kind}", select=path)

    def set_projection(self, index: int, on: bool) -> None:
        """Block index's shortcut: the fitting 1×1 projection (on) or the identity (off)."""
        shortcut = self.projection_for(index) if on else "identity"
        what = "1×1 projection" if on else "identity"
        self.editor.edit(blocks.set_shortcut(self.draft, index, shortcut),
                         f"Block {index}: {what} shortcut", select=(index,))

    def projection_for(self, index: int) -> list[dict]:
        """The 1×1 conv that maps the block's input to its body's output shape."""
        v = self.editor.validation
        fix = blocks.suggested_fix(v.error) if not v.ok else None
        if fix is not None and fix[0] == index:
            return fix[1]
        if v.ok:
            block = v.spec.layers[index]
            return blocks.projection(block.in_shape, block.out_shape)
        return [{"type": "conv2d", "out_channels": 8, "kernel_size": 1}]

    def refresh_fix(self, validation: em.Validation) -> None:
        """Show the fix button while the error suggests a projection shortcut."""
        fix = None if validation.ok else blocks.suggested_fix(validation.error)
        self.fix_button.setVisible(fix is not None)
        if fix is not None:
            self.fix_button.setText(f"Fix: give block {fix[0]} a 1×1 projection shortcut")

    def apply_fix(self) -> None:
        """Apply the suggested projection shortcut (one undoable edit)."""
        fix = blocks.suggested_fix(self.editor.validation.error)
        if fix is not None:
            self.editor.edit(blocks.set_shortcut(self.draft, fix[0], fix[1]),
                             f"Fix block {fix[0]}: 1×1 projection shortcut", select=(fix[0],))
