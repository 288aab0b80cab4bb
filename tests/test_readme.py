"""The README documents every setting exactly as the code defines it."""

from pathlib import Path

from streams.config.docs import settings_markdown

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_settings_table_is_current():
    text = README.read_text(encoding="utf-8")
    block = text.split("<!-- settings:begin -->\n")[1].split("\n<!-- settings:end -->")[0]
    assert block == settings_markdown(), "regenerate with `make docs`"


def test_readme_opens_with_the_two_commands():
    head = README.read_text(encoding="utf-8")[:1200]
    assert "make demo" in head and "make test" in head
