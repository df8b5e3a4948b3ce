"""`make deploy`'s bundle: the configuration plus the lookup files, schemas and transforms/ it refers to."""

from __future__ import annotations

from pathlib import Path

import pytest

from hookline.mapping.compiler import compile_transform
from hookline.operations.bundle import bundle, main

CONFIG = """\
sources:
  shop: {verify: {scheme: shopify, secrets: ["env:S"]}, schema: schemas/order.json}
destinations:
  erp: {url: "http://127.0.0.1:9/x"}
routes:
  - {name: a, source: shop, destination: erp, transform: {stage: {path: body.s, lookup_file: tables/stages.csv}}}
  - {name: b, source: shop, destination: erp, transform: {python: "transforms.erp:to_row"}}
"""


def test_bundle_copies_what_the_config_refers_to_and_nothing_stale(tmp_path: Path) -> None:
    src = tmp_path / "cfg"
    (src / "tables").mkdir(parents=True)
    (src / "schemas").mkdir()
    (src / "transforms" / "__pycache__").mkdir(parents=True)
    (src / "hookline.yaml").write_text(CONFIG)
    (src / "tables" / "stages.csv").write_text("k,v\nsucceeded,won\n")
    (src / "schemas" / "order.json").write_text('{"type": "object"}')
    (src / "transforms" / "__init__.py").write_text("")
    (src / "transforms" / "erp.py").write_text("def to_row(e):\n    return {'id': e['id']}\n")
    (src / "transforms" / "__pycache__" / "erp.cpython-313.pyc").write_bytes(b"x")
    (src / "unrelated.txt").write_text("not needed")
    target = tmp_path / "bundled"
    (target).mkdir()
    (target / "stale.csv").write_text("old")
    assert main([str(src / "hookline.yaml"), str(target)]) == 0
    assert sorted(str(p.relative_to(target)) for p in target.rglob("*")) == [
        "hookline.yaml", "schemas", "schemas/order.json", "tables", "tables/stages.csv",
        "transforms", "transforms/__init__.py", "transforms/erp.py"]
    # and the bundled copy works from its own folder
    t = compile_transform({"python": "transforms.erp:to_row"}, target)
    assert t.apply({"id": "e1"}) == {"id": "e1"}


def test_bundle_refuses_files_outside_the_config_folder(tmp_path: Path) -> None:
    (tmp_path / "outside.csv").write_text("k,v\na,b\n")
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "hookline.yaml").write_text(
        CONFIG.replace("tables/stages.csv", "../outside.csv").replace(", schema: schemas/order.json", "")
        .replace('  - {name: b, source: shop, destination: erp, transform: {python: "transforms.erp:to_row"}}\n', ""))
    with pytest.raises(ValueError, match="must be inside its folder"):
        bundle(tmp_path / "cfg" / "hookline.yaml", tmp_path / "out")
