"""Suggestions: energy-looking elements ranked, with robust selectors that really match."""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser

from nxforge.scraping.suggest import suggest_html, suggest_json

PAGE = """<html><body>
<div class="dataField" id="power"><span id="langPower">Power</span> <span class="value">2.30 kW</span></div>
<div class="dataField" id="energy"><span id="langEnergy">Energy</span> <span class="value">12,543.5 kWh</span></div>
<table id="status"><tr><td>Power</td><td>2.30</td><td>kW</td></tr>
<tr><td>Reactive energy</td><td>55 kvarh</td></tr>
<tr><th>Active Energy (kWh)</th><td class="num">17098.2</td></tr></table>
<p>Today: <b>12.1 kWh</b></p>
<script>var fake = "99999 kWh";</script>
</body></html>"""


def test_ranking_prefers_unit_in_text_and_energy_labels() -> None:
    found = suggest_html(PAGE)
    assert found[0].selector == "#energy span.value"
    assert found[0].value == 12543.5 and found[0].unit == "kWh"
    assert found[0].label == "Energy"
    selectors = [s.selector for s in found]
    assert any("td.num" in s for s in selectors)
    assert all("99999" not in s.text for s in found)  # scripts are not the page
    assert all("kvarh" not in s.text and s.text[-2:] != "kW" for s in found)
    # "Today" is a daily figure: ranked below the counters
    assert selectors.index("#status b") if "#status b" in selectors else True
    today = next(s for s in found if s.text == "12.1 kWh")
    assert found.index(today) > 0


def test_selectors_match_exactly_the_element() -> None:
    tree = LexborHTMLParser(PAGE)
    for suggestion in suggest_html(PAGE):
        matches = tree.css(suggestion.selector)
        assert len(matches) == 1, suggestion.selector
        assert " ".join(matches[0].text().split()) == suggestion.text
        assert ":nth-child" not in suggestion.selector


def test_wh_and_mwh_convert_to_kwh() -> None:
    html = '<div id="a">12543500 Wh</div><div id="b">12.5435 MWh</div>'
    values = {s.selector: s.value for s in suggest_html(html)}
    assert values == {"#a": 12543.5, "#b": 12543.5}


def test_json_suggestions() -> None:
    data = {"measures": {"activeEnergy": 12543.5, "activePower": 2300.0, "reactiveEnergy": 5}}
    found = suggest_json(data)
    assert found[0].selector == "$.measures.activeEnergy"
    assert found[0].value == 12543.5
