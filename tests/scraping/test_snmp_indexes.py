"""``snmp.outlet`` and ``snmp.unit``: one outlet of a PDU, and PDUs daisy-chained behind one address,
read by their presets from the simulator's SNMP agent (UDP on 127.0.0.1), without writing an OID."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from nxforge.scraping import ScrapeConfig, ScrapeRequest, ScrapeResult, ScrapingEngine
from nxforge.secrets import SecretStore
from nxforge.simulator import DeviceSpec, SimClock, Simulator
from nxforge.simulator.snmp_objects import DEVICE_ENERGY, OUTLET_ENERGY, outlet_kwh

START = datetime(2025, 1, 1, tzinfo=UTC)
# Each chained preset: the unit index of the first PDU, as the vendor's MIB numbers it.
CHAINED = {"raritan-pdu2-snmp": 1, "raritan-pdu2-outlet-snmp": 1, "eaton-epdu-snmp": 0,
           "eaton-epdu-outlet-snmp": 0, "sentry4-snmp": 1, "sentry4-outlet-snmp": 1}


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    """A host PDU with two PDUs daisy-chained behind it (each its own counter), and a lone one."""
    devices = [DeviceSpec("host", "raritan", power_kw=2.0, initial_kwh=1000.0, linked=("link-1", "link-2")),
               DeviceSpec("link-1", "raritan", power_kw=3.0, initial_kwh=2000.0),
               DeviceSpec("link-2", "raritan", power_kw=4.0, initial_kwh=3000.0),
               DeviceSpec("lone", "plain", power_kw=1.0, initial_kwh=4444.4)]
    with Simulator(devices, clock=SimClock(start=START, frozen=True)) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def engine(sim: Simulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScrapingEngine]:
    root = tmp_path_factory.mktemp("snmp-indexes")
    secrets = SecretStore(environ={"SNMP_COMMUNITY": sim.snmp_credentials.community})
    with ScrapingEngine(secrets=secrets, evidence_dir=root / "evidence", state_dir=root / "state") as scraping:
        yield scraping


def config(sim: Simulator, device: str, preset: str, **snmp: Any) -> ScrapeConfig:
    data: dict[str, Any] = {"preset": preset, "url": sim.snmp_url(device), "retries": 0}
    if snmp:
        data["snmp"] = snmp
    return ScrapeConfig.model_validate(data)


def shown(sim: Simulator, device: str, preset: str, outlet: int = 0) -> float:
    """What the preset's object shows for ``device`` (or its outlet), at the object's resolution."""
    energy = {**DEVICE_ENERGY, **OUTLET_ENERGY}[preset]
    kwh = sim.displayed_kwh(device)
    return round((outlet_kwh(kwh, outlet) if outlet else kwh) * energy.per_kwh) / energy.per_kwh


def value(result: ScrapeResult) -> float:
    assert result.ok, result.error
    return result.values["total_kwh"].value


def test_every_outlet_preset_reads_the_outlet_named_by_snmp_outlet(engine: ScrapingEngine, sim: Simulator) -> None:
    requests = [ScrapeRequest(key=f"{preset} {outlet}", config=config(sim, "lone", preset, outlet=outlet))
                for preset in OUTLET_ENERGY for outlet in (3, 8)]
    results = engine.scrape_many(requests)
    for request, result in zip(requests, results, strict=True):
        preset, outlet = request.key.split()
        assert value(result) == pytest.approx(shown(sim, "lone", preset, int(outlet))), request.key
    assert shown(sim, "lone", "apc-rpdu2-outlet-snmp", 3) != shown(sim, "lone", "apc-rpdu2-outlet-snmp", 8)
    default = engine.scrape(ScrapeRequest(key="default", config=config(sim, "lone", "apc-rpdu2-outlet-snmp")))
    assert value(default) == pytest.approx(shown(sim, "lone", "apc-rpdu2-outlet-snmp", 1))  # outlet 1 unless set


@pytest.mark.parametrize("preset", sorted(CHAINED))
def test_a_chained_pdu_is_read_through_its_host_by_snmp_unit(engine: ScrapingEngine, sim: Simulator,
                                                            preset: str) -> None:
    outlet = {"outlet": 5} if preset in OUTLET_ENERGY else {}
    first = CHAINED[preset]
    for offset, device in enumerate(("host", "link-1", "link-2")):
        result = engine.scrape(ScrapeRequest(key=device, config=config(sim, "host", preset, unit=first + offset,
                                                                       **outlet)))
        assert value(result) == pytest.approx(shown(sim, device, preset, outlet.get("outlet", 0))), device
    unset = engine.scrape(ScrapeRequest(key="unset", config=config(sim, "host", preset, **outlet)))
    assert value(unset) == pytest.approx(shown(sim, "host", preset, outlet.get("outlet", 0)))  # the host by default
    beyond = engine.scrape(ScrapeRequest(key="beyond", config=config(sim, "host", preset, unit=first + 3, **outlet)))
    assert beyond.error is not None and beyond.values == {}  # no fourth PDU: no value, not another PDU's


def test_an_index_no_oid_uses_is_refused_not_ignored() -> None:
    url = "snmp://10.0.0.5"
    outlet_2 = {"total_kwh": {"selector": "1.3.6.1.4.1.318.1.1.26.9.4.3.1.11.2"}}
    with pytest.raises(ValueError, match=r"snmp.unit: no OID of this endpoint has a \{unit\}"):
        ScrapeConfig.model_validate({"preset": "apc-rpdu2-snmp", "url": url, "snmp": {"unit": 2}})
    with pytest.raises(ValueError, match=r"snmp.outlet: no OID of this endpoint has a \{outlet\}"):
        ScrapeConfig.model_validate({"preset": "raritan-pdu2-snmp", "url": url, "snmp": {"outlet": 4}})
    with pytest.raises(ValueError, match=r"selector reads outlet 2 but snmp.outlet is 4: write .*11\.\{outlet\}"):
        ScrapeConfig.model_validate({"preset": "apc-rpdu2-outlet-snmp", "url": url, "snmp": {"outlet": 4},
                                     "values": outlet_2})
    for preset in ("raritan-pdu2-outlet-snmp", "eaton-epdu-snmp", "sentry4-snmp"):
        filled = ScrapeConfig.model_validate({"preset": preset, "url": url, "snmp": {"unit": 2}})
        assert ScrapeConfig.model_validate(filled.model_dump(exclude_none=True)) == filled
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        ScrapeConfig.model_validate({"preset": "apc-rpdu2-outlet-snmp", "url": url, "snmp": {"outlet": 0}})
    written = ScrapeConfig.model_validate({"preset": "apc-rpdu2-outlet-snmp", "url": url, "values": outlet_2})
    assert written.values["total_kwh"].selector.endswith(".11.2")  # a written OID still works as before
    assert written.snmp is not None and written.snmp.outlet == 2  # and says which outlet it reads
    raritan = ScrapeConfig.model_validate({"preset": "raritan-pdu2-outlet-snmp", "url": url,
                                           "snmp": {"outlet": 7, "unit": 2}})
    assert raritan.values["total_kwh"].selector == "1.3.6.1.4.1.13742.6.5.4.3.1.4.2.7.8"
    assert raritan.snmp is not None and raritan.snmp.walk_root == "1.3.6.1.4.1.13742.6.5.4.3.1.4.2"


EATON_INPUT = "1.3.6.1.4.1.534.6.6.7.3.5.1.5"  # inputTotalWh.<unit>.<input>; column 6 is its reset timer


def test_a_saved_config_edited_by_hand_reads_the_index_it_names_or_is_refused() -> None:
    """A config written out from its model (``dump_endpoints_file``) holds the filled-in OIDs beside the
    index; an index changed by hand afterwards must not go on reading the old outlet, nor a written
    selector keep another counter's reset time."""
    url = "snmp://10.0.0.5"
    saved = ScrapeConfig.model_validate({"preset": "apc-rpdu2-outlet-snmp", "url": url, "snmp": {"outlet": 3}})
    dumped = saved.model_dump(exclude_none=True)  # an endpoint copied from another's written-out config
    assert dumped["values"]["total_kwh"]["selector"].endswith(".11.3")
    assert ScrapeConfig.model_validate(dumped) == saved
    dumped["snmp"]["outlet"] = 5
    with pytest.raises(ValueError, match=r"selector reads outlet 3 but snmp.outlet is 5"):
        ScrapeConfig.model_validate(dumped)
    # Eaton's second strapped unit by its OID: the reset timer read is that unit's too, also once saved.
    unit_1 = ScrapeConfig.model_validate({"preset": "eaton-epdu-snmp", "url": url,
                                          "values": {"total_kwh": {"selector": f"{EATON_INPUT}.1.1"}}})
    assert unit_1.snmp is not None and unit_1.snmp.unit == 1
    counter = unit_1.values["total_kwh"].counter
    assert counter is not None and counter.reset_time == "1.3.6.1.4.1.534.6.6.7.3.5.1.6.1.1"
    assert ScrapeConfig.model_validate(unit_1.model_dump(exclude_none=True)) == unit_1
    # Another object than the preset's (input 2): the preset's timer dates input 1, so none is read.
    input_2 = ScrapeConfig.model_validate({"preset": "eaton-epdu-snmp", "url": url,
                                           "values": {"total_kwh": {"selector": f"{EATON_INPUT}.0.2"}}})
    counter = input_2.values["total_kwh"].counter
    assert counter is not None and counter.reset_time is None and counter.unit == "Wh"
    assert ScrapeConfig.model_validate(input_2.model_dump(exclude_none=True)) == input_2
    timed = ScrapeConfig.model_validate({"preset": "eaton-epdu-snmp", "url": url, "values": {"total_kwh": {
        "selector": f"{EATON_INPUT}.0.2", "counter": {"reset_time": "1.3.6.1.4.1.534.6.6.7.3.5.1.6.0.2"}}}})
    assert timed.values["total_kwh"].counter is not None
    assert timed.values["total_kwh"].counter.reset_time == "1.3.6.1.4.1.534.6.6.7.3.5.1.6.0.2"
    with pytest.raises(ValueError, match=r"reset_time reads unit 2 but values.total_kwh.selector reads unit 1"):
        ScrapeConfig.model_validate({"preset": "eaton-epdu-snmp", "url": url, "values": {"total_kwh": {
            "selector": f"{EATON_INPUT}.1.1", "counter": {"reset_time": "1.3.6.1.4.1.534.6.6.7.3.5.1.6.2.1"}}}})
    by_text = ScrapeConfig.model_validate({"preset": "eaton-epdu-snmp", "url": url, "snmp": {"unit": "2"}})
    assert by_text.values["total_kwh"].selector == f"{EATON_INPUT}.2.1"  # "2" from a form field is 2
    with pytest.raises(ValueError, match=r"snmp.unit must be a whole number, not 'two'"):
        ScrapeConfig.model_validate({"preset": "eaton-epdu-snmp", "url": url, "snmp": {"unit": "two"}})
    with pytest.raises(ValueError, match=r"the OIDs have a \{outlet\}: set snmp.outlet"):
        ScrapeConfig.model_validate({"engine": "snmp", "url": url, "auth": {"type": "snmp_community",
                                     "community": "public"}, "values": {"kwh": {"selector": "1.3.6.1.4.1.9.{outlet}"}}})


def test_an_oid_written_in_another_form_still_names_its_index() -> None:
    url = "snmp://10.0.0.5"
    apc = "1.3.6.1.4.1.318.1.1.26.9.4.3.1.11"
    quoted = ScrapeConfig.model_validate({"preset": "apc-rpdu2-outlet-snmp", "url": url, "snmp": {"outlet": "3"},
                                          "values": {"total_kwh": {"selector": f"{apc}.3"}}})
    assert quoted.snmp is not None and quoted.snmp.outlet == 3  # "3" and 3 agree
    with pytest.raises(ValueError, match=r"selector reads outlet 3 but snmp\.outlet is 5"):  # net-snmp's -On form
        ScrapeConfig.model_validate({"preset": "apc-rpdu2-outlet-snmp", "url": url, "snmp": {"outlet": 5},
                                     "values": {"total_kwh": {"selector": f".{apc}.3"}}})
    dotted = ScrapeConfig.model_validate({"preset": "eaton-epdu-snmp", "url": url,
                                          "values": {"total_kwh": {"selector": f".{EATON_INPUT}.1.1"}}})
    assert dotted.snmp is not None and dotted.snmp.unit == 1
    assert dotted.values["total_kwh"].counter is not None
    assert dotted.values["total_kwh"].counter.reset_time == "1.3.6.1.4.1.534.6.6.7.3.5.1.6.1.1"
    # Half written: the unit typed in, the outlet left to snmp.outlet; the reset timer follows the unit typed.
    outlet_oid = "1.3.6.1.4.1.534.6.6.7.6.5.1.4.1.{outlet}"
    half = ScrapeConfig.model_validate({"preset": "eaton-epdu-outlet-snmp", "url": url, "snmp": {"outlet": 4},
                                        "values": {"total_kwh": {"selector": outlet_oid}}})
    assert half.snmp is not None and (half.snmp.unit, half.snmp.outlet) == (1, 4)
    assert half.values["total_kwh"].counter is not None
    assert half.values["total_kwh"].counter.reset_time == "1.3.6.1.4.1.534.6.6.7.6.5.1.5.1.4"
    with pytest.raises(ValueError, match=r"selector reads unit 1 but snmp\.unit is 2"):
        ScrapeConfig.model_validate({"preset": "eaton-epdu-outlet-snmp", "url": url, "snmp": {"outlet": 4, "unit": 2},
                                     "values": {"total_kwh": {"selector": outlet_oid}}})
    # A written-out config whose selector alone is changed to another object keeps the old object's timer: refused.
    copied = ScrapeConfig.model_validate({"preset": "eaton-epdu-snmp", "url": url}).model_dump(
        mode="json", exclude_none=True, exclude_defaults=True)
    copied["values"]["total_kwh"]["selector"] = f"{EATON_INPUT}.0.2"
    with pytest.raises(ValueError, match=r"counter\.reset_time is the preset's for its own object"):
        ScrapeConfig.model_validate(copied)
    no_counter = ScrapeConfig.model_validate({"preset": "eaton-epdu-snmp", "url": url, "values": {"total_kwh": {
        "selector": f"{EATON_INPUT}.0.2", "counter": None}}})
    assert no_counter.values["total_kwh"].counter is None
    assert ScrapeConfig.model_validate({"preset": "apc-rpdu2-snmp", "url": url}).snmp is None  # none added
