"""Report views in a real browser: an `eval run` report as a table and bars, the retention of a
compressed variant, a training run's metrics as line charts; the routes alone, and their errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from embedlab.server import ServerConfig
from toyencoders import WordHash

pytest.importorskip("fastapi")


def _report(folder: Path) -> None:
    from embedlab.evaluate.report_files import save_report
    from embedlab.evaluate.runner import EvalReport, TaskScore

    def cell(model: str, task: str, main: float | None, skipped: str | None = None) -> TaskScore:
        return TaskScore(model, task, "sts", "en", main, {"main_metric": "spearman"}, 1.0,
                         skipped=skipped)  # fmt: skip

    report = EvalReport(
        [cell("minilm", "stsb", 0.8203), cell("glove", "stsb", 0.5512),
         cell("minilm", "sick-r", 0.7754), cell("glove", "sick-r", None, "no <b>vocab</b>"),
         cell("minilm~int8", "stsb", 0.8121), cell("minilm~int8", "sick-r", 0.7698),
         cell("minilm~binary", "stsb", 0.7382), cell("minilm~binary", "sick-r", 0.6979)],
        seconds=12.0,
        variants={"minilm~int8": {"base": "minilm", "compression": "int8", "bytes_per_vector": 384,
                                  "index_bytes": 2**20, "queries_per_s": 900.0},
                  "minilm~binary": {"base": "minilm", "compression": "binary",
                                    "bytes_per_vector": 48, "index_bytes": 2**17,
                                    "queries_per_s": 4000.0}},
    )  # fmt: skip
    save_report(report, folder, plots=False)


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from embedlab.server.app import create_app
    from serverrun import Running

    root = tmp_path_factory.mktemp("reports")
    _report(root / "eval")
    (root / "bad").mkdir()
    (root / "bad" / "report.json").write_text('{"scores": [{"model": 1}]}')
    lines = [{"step": s, "train/loss": 2.0 / (1 + s), "train/lr": 1e-3} for s in range(0, 50, 5)]
    lines += [{"step": 50, "eval/accuracy": 0.81}]
    (root / "run").mkdir()
    (root / "run" / "train_log.jsonl").write_text(
        "".join(json.dumps(x) + "\n" for x in lines) + '{"step": 55, "train/lo'
    )
    cfg = ServerConfig(models={}, base=root)
    cfg.reports = {"sts": "eval", "broken": "bad"}
    cfg.runs = {"clf": "run"}
    with Running(create_app(cfg, encoders={"toy": WordHash(dim=24)})) as base:
        yield base


def test_the_report_routes_alone(url: str) -> None:
    import httpx

    r = httpx.get(url + "/v1/ui/reports/sts").json()
    assert r["tasks"] == ["stsb", "sick-r"]
    assert r["models"] == ["minilm", "glove", "minilm~int8", "minilm~binary"]
    kept = r["retention"][0]["retained"]
    assert kept["stsb"] == pytest.approx(0.8121 / 0.8203)
    run = httpx.get(url + "/v1/ui/runs/clf").json()
    assert len(run["series"]["train/loss"]) == 10 and run["series"]["eval/accuracy"] == [[50, 0.81]]
    assert run["skipped_lines"] == 1  # the line still being written
    assert httpx.get(url + "/v1/ui/reports/nope").status_code == 404
    bad = httpx.get(url + "/v1/ui/reports/broken")
    assert bad.status_code == 404 and "report 'broken' cannot be read" in bad.text
    assert "pytest" not in bad.text  # no server path


def test_a_report_and_a_run_render(browser: Any, url: str) -> None:
    page = browser.new_page()
    page.goto(url + "/#reports")
    page.wait_for_selector("#report option[value=sts]", state="attached")
    assert page.is_hidden("#playground") and page.is_visible("#reports")
    page.select_option("#report", "sts")
    page.wait_for_selector("#report-table td[data-value]")
    cell = page.inner_text("#report-table td[data-task=stsb][data-model=minilm]")
    assert cell == "0.8203"
    skipped = page.query_selector("#report-table td[data-task=sick-r][data-model=glove]")
    assert skipped.inner_text() == "skipped" and skipped.get_attribute("title") == "no <b>vocab</b>"
    assert "best" in page.get_attribute(
        "#report-table td[data-task=stsb][data-model=minilm]", "class"
    )
    assert len(page.query_selector_all("#report-bars rect")) >= 4  # 4 bars and the legend
    assert "99.0%" in page.inner_text("#retention-table")  # 0.8121 / 0.8203 kept
    dots = page.eval_on_selector_all(
        "#retention-chart circle",
        "cs => cs.map(c => [c.dataset.variant, +c.getAttribute('cx'), +c.getAttribute('cy')])",
    )
    assert [d[0] for d in dots] == ["minilm~binary", "minilm~int8"]  # by size, one line
    assert dots[0][1] < dots[1][1] and dots[0][2] > dots[1][2]  # smaller, and lower: less kept
    page.select_option("#run", "clf")
    page.wait_for_selector("#run-charts .series")
    assert page.get_attribute(".series[data-series='train/loss']", "data-points") == "10"
    assert "0.0435" in page.inner_text(".series[data-series='train/loss'] h3")  # 2 / (1 + 45)
    page.goto(url + "/#playground")
    assert page.is_visible("#playground") and page.is_hidden("#reports")
    page.close()
