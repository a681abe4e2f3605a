"""The PySide6 studio window. The only package that imports Qt (an import contract checks)."""
