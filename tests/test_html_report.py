"""coordinator report --html: one self-contained page whose charts show the
numbers --json gives, checked as text and in a real headless browser."""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

DEMO_NOW = "2026-06-01T09:00:00Z"


@pytest.fixture(scope="module")
def demo_store(make_cli, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("html")
    cli = make_cli(folder / "demo.db")
    cli.ok("demo", now=None)
    cli.ok("participant", "add", "--name", "<script>alert(1)</script> & Co", "--email", "evil@example.org",
           "--role", "mentee", now="2026-04-01T09:00:00Z")
    return folder / "demo.db"


@pytest.fixture
def page_of(cli, demo_store: Path, tmp_path: Path):
    cli.copy_from(demo_store)

    def write(*extra: str) -> tuple[Path, dict, dict]:
        out = tmp_path / "report.html"
        result = cli.ok("coordinator", "report", "--html", out, *extra, now=DEMO_NOW)
        assert result.stdout == ""
        assert result.stderr == f"Wrote the report of Spring 2026 Mentoring to {out}: open it in a browser, share or print it.\n"
        report = cli.json("coordinator", "report", now=DEMO_NOW)
        activity = cli.json("coordinator", "report", "--activity", *extra, now=DEMO_NOW)
        return out, report, activity

    return write


class Collect(HTMLParser):
    """Every start tag with its attributes, and the page's text."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def parse(path: Path) -> Collect:
    collected = Collect()
    collected.feed(path.read_text())
    return collected


def test_the_page_is_self_contained(page_of):
    out, _report, _activity = page_of()
    text = out.read_text()
    for outside in ("http://", "https://", "<script", "<link", "@import", "url(", "<img", "<iframe"):
        assert outside not in text, outside
    assert text.startswith("<!DOCTYPE html>")
    assert '<meta name="viewport"' in text and "@media print" in text


def test_its_numbers_are_the_reports(page_of):
    out, report, activity = page_of()
    page = parse(out)
    funnel = {a["data-key"]: int(a["data-value"]) for tag, a in page.tags if tag == "g" and "data-key" in a}
    assert funnel == report["stages"]
    alumni = [int(a["data-value"]) for tag, a in page.tags if tag == "span" and a.get("data-key") == "alumni"]
    assert alumni == [report["alumni"]]
    bars: dict[str, list[int]] = {}
    for tag, a in page.tags:
        if tag == "rect" and "data-series" in a:
            bars.setdefault(a["data-series"], []).append(int(a["data-value"]))
    for key in ("held", "positive", "neutral", "negative", "goals_created", "goals_completed",
                "matches_made", "matches_ended"):
        assert bars[key] == [week[key] for week in activity["weeks"]], key
    assert sum(bars["held"]) == activity["meetings"]["held"]
    words = " ".join(page.text)
    assert f"Stalled ({len(report['stalled'])})" in words
    assert f"Loops at risk ({len(report['at_risk'])})" in words
    for milestone in report["milestones"]:
        assert milestone["name"] in words
    assert "Spring 2026 Mentoring" in words and "2026-06-01 09:00 UTC" in words


def test_activity_since_sets_the_weeks(page_of):
    out, _report, activity = page_of("--since", "2026-05-01")
    weeks = [a["data-week"] for tag, a in parse(out).tags if tag == "g" and "data-week" in a]
    assert weeks[:len(activity["weeks"])] == [w["week"] for w in activity["weeks"]]
    assert activity["weeks"][0]["week"] == "2026-W18"


def test_text_from_people_is_escaped(page_of):
    out, _report, _activity = page_of()
    text = out.read_text()
    assert "<script>alert(1)" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in text


def test_html_to_stdout_and_refused_mixes(cli, demo_store: Path):
    cli.copy_from(demo_store)
    assert cli.ok("coordinator", "report", "--html", "-", now=DEMO_NOW).stdout.startswith("<!DOCTYPE html>")
    cli.fails("coordinator", "report", "--html", "x.html", "--json", code=2, now=DEMO_NOW,
              match="--html writes the whole report: drop --json, --csv, --stage, --stalled and --at-risk")
    cli.fails("coordinator", "report", "--html", "x.html", "--as", "ana.beltran@example.org", now=DEMO_NOW,
              match="the coordinator report")


def _browser():
    """Playwright driving Debian's Chromium, or the reason the browser test cannot run here."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        return None, "no Chromium on this machine (Debian: apt-get install chromium)"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None, "Playwright is not installed (pip install playwright)"
    return (sync_playwright, chromium), ""


def test_the_page_renders_in_a_real_browser(page_of):
    found, why = _browser()
    if found is None:
        pytest.skip(why)
    sync_playwright, chromium = found
    out, report, activity = page_of()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        try:
            problems, requests = [], []
            for width in (1000, 390):  # a laptop, then a phone
                page = browser.new_page(viewport={"width": width, "height": 900})
                page.on("console", lambda m: problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
                page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
                page.on("request", lambda r: requests.append(r.url))
                page.goto(out.as_uri())
                funnel = page.eval_on_selector_all(
                    "svg.funnel g.row",
                    "rows => rows.map(r => [r.dataset.key, +r.dataset.value, r.querySelector('rect').getBBox().width,"
                    " r.querySelector('text.value').textContent])")
                assert {key: value for key, value, _w, _t in funnel} == report["stages"]
                widest = max(w for _k, _v, w, _t in funnel)
                top = max(report["stages"].values())
                for _key, value, drawn, label in funnel:  # bars drawn in proportion, labelled with their value
                    assert drawn == pytest.approx(widest * value / top, abs=0.6)
                    assert label == str(value)
                heights = page.eval_on_selector_all(
                    "svg.meetings rect[data-series=held]",
                    "bars => bars.map(b => [+b.dataset.value, b.getBoundingClientRect().height])")
                assert [v for v, _h in heights] == [w["held"] for w in activity["weeks"]]
                tallest = max(h for _v, h in heights)
                assert tallest > 20  # drawn at a readable size
                for value, height in heights:
                    assert height == pytest.approx(tallest * value / max(v for v, _h in heights), abs=1)
                overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
                assert overflow <= 1, f"the page is wider than a {width}px screen"
                page.close()
            assert problems == []
            assert {url for url in requests} == {out.as_uri()}
        finally:
            browser.close()


def test_the_report_json_has_weekly_series(cli, demo_store: Path):
    cli.copy_from(demo_store)
    activity = cli.json("coordinator", "report", "--activity", now=DEMO_NOW)
    week = activity["weeks"][0]
    assert set(week) == {"week", "week_start", "held", "positive", "neutral", "negative", "goals_created",
                         "goals_completed", "matches_made", "matches_ended"}
    assert sum(w["goals_created"] for w in activity["weeks"]) == activity["goals"]["created"]
    assert sum(w["matches_made"] for w in activity["weeks"]) == activity["matches"]["made"]
    assert sum(w["positive"] + w["neutral"] + w["negative"] for w in activity["weeks"]) == activity["feedback"]["total"]
    assert json.dumps(activity)  # plain JSON
    assert re.fullmatch(r"\d{4}-W\d{2}", week["week"])


def test_the_sentiment_legend_follows_the_rules(page_of, monkeypatch):
    """A threshold changed in rules.py alone renames the chart's series."""
    from mloop import rules

    out, _, _ = page_of()
    assert "Positive (4–5)" in out.read_text() and "Negative (1–2)" in out.read_text()
    monkeypatch.setattr(rules, "POSITIVE_FROM", 5)
    out, _, activity = page_of()
    page = out.read_text()
    assert "Positive (5)" in page and "Neutral (3–4)" in page and "Negative (1–2)" in page
