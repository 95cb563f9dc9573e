"""Write docs/index.md, the documentation site's home page, from README.md (the one front door:
its links to docs/ pages made relative to docs/). `make docs` runs it before MkDocs builds."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def index_page(readme: str) -> str:
    return readme.replace("[`docs/`](docs/)", "these pages").replace("](docs/", "](")


def main() -> None:
    text = index_page((ROOT / "README.md").read_text(encoding="utf-8"))
    (ROOT / "docs" / "index.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
