"""Add or edit a product while on air, validated by the same pydantic model as show files.

Errors are shown next to the field they concern, so the operator fixes them in place
instead of reading a traceback or losing what they typed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from studio.show.loader import IMAGE_SUFFIXES
from studio.show.model import CURRENCY_SYMBOLS, Product
from studio.ui import theme
from studio.ui.i18n import N_, tr

FIELDS = ("name", "id", "price", "currency", "original_price", "image", "selling_points",
          "script")


class ProductDialog(QDialog):
    """``product()`` is the validated result after ``exec()`` returns Accepted."""

    def __init__(self, parent: QWidget | None = None, product: Product | None = None, *,
                 base_dir: Path | None = None, taken_ids: set[str] | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("Edit product") if product else tr("Add product"))
        self.setMinimumWidth(560)
        self._base_dir = base_dir or Path.cwd()
        self._editing_id = product.id if product else None
        self._taken_ids = taken_ids or set()
        self._result: Product | None = None

        self.name = QLineEdit()
        self.name.setPlaceholderText(tr("Barista Ceramic Cup & Saucer"))
        self.id = QLineEdit()
        self.id.setPlaceholderText(tr("cup-set (letters, digits, - _ .)"))
        self.price = QLineEdit()
        self.price.setPlaceholderText("39.90")
        self.currency = QComboBox()
        self.currency.setEditable(True)
        self.currency.addItems(sorted(CURRENCY_SYMBOLS))
        self.currency.setCurrentText("CNY")
        self.original_price = QLineEdit()
        self.original_price.setPlaceholderText(tr("optional, shown struck through"))
        self.image = QLineEdit()
        self.image.setPlaceholderText(tr("optional; relative to the show file"))
        browse = QPushButton(tr("Browse…"))
        browse.clicked.connect(self._pick_image)
        image_row = QHBoxLayout()
        image_row.addWidget(self.image, 1)
        image_row.addWidget(browse)
        self.selling_points = QPlainTextEdit()
        self.selling_points.setPlaceholderText(tr("One per line, up to 6"))
        self.selling_points.setFixedHeight(90)
        self.script = QPlainTextEdit()
        self.script.setPlaceholderText(tr("What the host says about this product."))
        self.script.setMinimumHeight(130)

        self.errors: dict[str, QLabel] = {}
        form = QFormLayout()
        widgets: dict[str, QWidget | QHBoxLayout] = {
            "name": self.name, "id": self.id, "price": self.price, "currency": self.currency,
            "original_price": self.original_price, "image": image_row,
            "selling_points": self.selling_points, "script": self.script}
        labels = {"name": N_("Name"), "id": N_("ID"), "price": N_("Price"),
                  "currency": N_("Currency"), "original_price": N_("Original price"),
                  "image": N_("Image"), "selling_points": N_("Selling points"),
                  "script": N_("Script")}
        for key in FIELDS:
            error = QLabel()
            error.setStyleSheet(f"color: {theme.RED}; background: none;")
            error.setWordWrap(True)
            error.hide()
            self.errors[key] = error
            box = QVBoxLayout()
            box.setSpacing(2)
            widget = widgets[key]
            if isinstance(widget, QHBoxLayout):
                box.addLayout(widget)
            else:
                box.addWidget(widget)
            box.addWidget(error)
            form.addRow(tr(labels[key]) if key in labels else key.capitalize(), box)
        self.summary = QLabel()
        self.summary.setStyleSheet(f"color: {theme.RED}; background: none;")
        self.summary.setWordWrap(True)
        self.summary.hide()

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText(tr("Save to queue"))
        ok.setObjectName("primary")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.summary)
        layout.addWidget(buttons)
        if product is not None:
            self._fill(product)
        else:  # a new product: suggest an id from the name until the id is typed by hand
            self.name.textEdited.connect(self._suggest_id)
            self.id.textEdited.connect(self._stop_suggesting)
        self._suggesting = product is None

    def _stop_suggesting(self, _text: str) -> None:
        if self._suggesting:
            self._suggesting = False
            self.name.textEdited.disconnect(self._suggest_id)

    def _suggest_id(self, name: str) -> None:
        self.id.setText(re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:64])

    def _fill(self, product: Product) -> None:
        self.name.setText(product.name)
        self.id.setText(product.id)
        self.price.setText(f"{product.price:g}")
        self.currency.setCurrentText(product.currency)
        self.original_price.setText("" if product.original_price is None
                                    else f"{product.original_price:g}")
        self.image.setText(product.image or "")
        self.selling_points.setPlainText("\n".join(product.selling_points))
        self.script.setPlainText(product.script)

    def _pick_image(self) -> None:
        patterns = " ".join(f"*{s}" for s in sorted(IMAGE_SUFFIXES))
        path, _ = QFileDialog.getOpenFileName(self, tr("Product image"), str(self._base_dir),
                                              tr("Images ({patterns})", patterns=patterns))
        if path:
            self.image.setText(path)

    def values(self) -> dict[str, Any]:
        """The form as the dict a show file's [[products]] table would hold."""
        data: dict[str, Any] = {
            "id": self.id.text(), "name": self.name.text(), "price": self.price.text().strip(),
            "currency": self.currency.currentText(), "script": self.script.toPlainText()}
        if self.original_price.text().strip():
            data["original_price"] = self.original_price.text().strip()
        if self.image.text().strip():
            data["image"] = self.image.text().strip()
        points = [p.strip() for p in self.selling_points.toPlainText().splitlines() if p.strip()]
        data["selling_points"] = points
        return data

    def validate(self) -> Product | None:
        """Validate and show every problem next to its field; the Product when all is well."""
        for label in self.errors.values():
            label.hide()
        self.summary.hide()
        problems: dict[str, list[str]] = {}
        product: Product | None = None
        data = self.values()
        try:
            product = Product.model_validate(data)
        except ValidationError as exc:
            for err in exc.errors():
                loc = err["loc"]
                key = str(loc[0]) if loc else ""
                message = str(err["msg"]).removeprefix("Value error, ")
                if err["type"] == "missing" or (err["type"] == "string_too_short"
                                                and len(loc) == 1):
                    message = tr("required")
                if key == "id" and err["type"] == "string_pattern_mismatch":
                    message = tr("use only letters, digits, - _ and . (no spaces)")
                if key == "selling_points" and len(loc) > 1:
                    message = tr("line {number}: {message}", number=int(loc[1]) + 1,
                                 message=message)
                if not key and "original_price" in message:
                    key = "original_price"  # the model-level price check
                problems.setdefault(key if key in self.errors else "", []).append(message)
        product_id = str(data["id"]).strip()
        if product_id and product_id != self._editing_id and product_id in self._taken_ids:
            problems.setdefault("id", []).append(
                tr("{id} is already in the queue; choose another id or edit that product",
                   id=repr(product_id)))
        image = str(data.get("image", ""))
        if image:
            path = (self._base_dir / image).resolve()
            if not path.is_file():
                problems.setdefault("image", []).append(tr("file not found: {path}", path=path))
            elif path.suffix.lower() not in IMAGE_SUFFIXES:
                problems.setdefault("image", []).append(
                    tr("expected a PNG, JPEG, WebP, BMP or GIF"))
        for key, messages in problems.items():
            label = self.errors.get(key, self.summary)
            label.setText("\n".join(messages))
            label.show()
        return None if problems else product

    def accept(self) -> None:
        product = self.validate()
        if product is None:
            return
        self._result = product
        super().accept()

    def product(self) -> Product | None:
        return self._result
