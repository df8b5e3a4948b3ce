"""`hookline validate` on the new mapping forms: JSONata syntax positions, lookup files, python
transforms that do not import, enrichment steps, destination formats — all in one listing."""

from __future__ import annotations

from pathlib import Path

from tests.integration.test_validate_cli import run

BROKEN = """\
sources:
  stripe:
    verify: {scheme: stripe, secrets: ["env:STRIPE"]}
destinations:
  crm: {url: "http://127.0.0.1:9/deals", format: xml, xml_root: "2deals"}
  erp: {url: "http://127.0.0.1:9/orders", format: csv}
routes:
  - name: deals
    source: stripe
    destination: crm
    enrich:
      - {name: contact, destination: nowhere, path: "contacts?email={body.email"}
      - {name: contact, destination: crm, default: {id: 0}}
    transform:
      amount: {jsonata: "body.amount / "}
      stage: {path: body.status, lookup_file: missing.csv}
      closed: {path: body.created, type: datetime, output_format: "dd/mm/yyyy"}
      coupon: {path: body.coupon, omit_null: maybe}
  - name: erp
    source: stripe
    destination: erp
    transform: {python: "transforms.erp:to_row"}
"""


def test_every_new_form_problem_is_listed_with_its_path(tmp_path: Path) -> None:
    cfg = tmp_path / "hookline.yaml"
    cfg.write_text(BROKEN)
    (tmp_path / "transforms").mkdir()
    (tmp_path / "transforms" / "__init__.py").write_text("")
    (tmp_path / "transforms" / "erp.py").write_text("import no_such_library\n\ndef to_row(e):\n    return {}\n")
    result = run("validate", "--config", str(cfg))
    assert result.returncode == 1
    err = result.stderr
    expected = {
        "destinations.crm.xml_root": "'2deals' is not a valid XML name",
        "routes[0].enrich[0].destination": "unknown destination 'nowhere'",
        "routes[0].enrich[0].path": "must start with '/' or '?'",
        "routes[0].enrich[1].name": "duplicate enrichment name 'contact'",
        "routes[0].enrich[1].default": "default is used only with on_missing: default",
        "routes[0].transform.amount.jsonata": "invalid JSONata expression 'body.amount / ': Unexpected end of "
                                              "expression (S0207 at position 14)",
        "routes[0].transform.stage.lookup_file": "cannot read lookup file 'missing.csv'",
        "routes[0].transform.closed.output_format": "expected epoch, epoch_ms, date or a strftime pattern",
        "routes[0].transform.coupon.omit_null": "must be true or false",
        "routes[1].transform.python": "cannot import transforms.erp: ModuleNotFoundError: "
                                      "No module named 'no_such_library'",
    }
    for path, message in expected.items():
        line = next((ln for ln in err.splitlines() if f"- {path}:" in ln), None)
        assert line is not None, (path, err)
        assert message in line, (line, message)
    assert any("routes[0].enrich[0].path" in ln and "unbalanced '{'" in ln for ln in err.splitlines()), err


def test_the_valid_forms_pass(tmp_path: Path) -> None:
    cfg = tmp_path / "hookline.yaml"
    (tmp_path / "stages.csv").write_text("status,stage\nsucceeded,closed_won\n")
    (tmp_path / "transforms").mkdir()
    (tmp_path / "transforms" / "__init__.py").write_text("")
    (tmp_path / "transforms" / "erp.py").write_text("def to_row(e):\n    return {'id': e['id']}\n")
    cfg.write_text(BROKEN.replace('"2deals"', "Deals").replace("nowhere", "crm").replace("contacts?", "/contacts?")
                   .replace("{body.email", "{body.email}").replace("name: contact, destination: crm, default",
                                                                   "name: other, destination: crm, "
                                                                   "on_missing: default, default")
                   .replace("body.amount / ", "body.amount / 100").replace("missing.csv", "stages.csv")
                   .replace("dd/mm/yyyy", "%d/%m/%Y").replace("maybe", "true")
                   .replace("import no_such_library", ""))
    result = run("validate", "--config", str(cfg))
    assert result.returncode == 0, result.stderr
