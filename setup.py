"""Build step: compile the gettext catalogs into the wheel (pyproject.toml holds the rest)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from setuptools import setup
from setuptools.command.build_py import build_py

LOCALES = Path("bot") / "locales"


class BuildPyWithCatalogs(build_py):
    """build_py, plus each bot/locales/<lang>/LC_MESSAGES/messages.po compiled to a .mo."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return  # an editable install runs from the checkout, which reads the .po itself
        for po_path in sorted(LOCALES.glob("*/LC_MESSAGES/messages.po")):
            mo_path = Path(self.build_lib) / po_path.with_suffix(".mo")
            mo_path.parent.mkdir(parents=True, exist_ok=True)
            with po_path.open("rb") as po_file:
                catalog = read_po(po_file)
            with mo_path.open("wb") as mo_file:
                write_mo(mo_file, catalog)
            self.announce(f"compiled {po_path} -> {mo_path}", level=2)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = list(super().get_outputs(include_bytecode))
        if not self.editable_mode:
            outputs += [
                str(Path(self.build_lib) / po.with_suffix(".mo"))
                for po in sorted(LOCALES.glob("*/LC_MESSAGES/messages.po"))
            ]
        return outputs


setup(cmdclass={"build_py": BuildPyWithCatalogs})
