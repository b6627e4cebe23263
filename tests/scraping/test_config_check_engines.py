"""``nxforge config check`` knows each engine's options: an unknown key under an snmp, modbus or Redfish
endpoint is reported as ``file:line: field: message`` (a real subprocess on the consumption monitor's YAML)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENDPOINTS = """\
clients:
  - {name: acme}
endpoints:
  - id: pdu-snmp
    name: SNMP PDU
    client: acme
    scrape:
      preset: raritan-pdu2-snmp
      url: snmp://10.0.0.5
      auth: {community: "${SNMP_COMMUNITY}"}
      snmp:
        walk_rot: 1.3.6.1.4.1.13742
  - id: meter-modbus
    name: Modbus meter
    client: acme
    scrape:
      preset: schneider-pm5xxx
      url: modbus://10.0.0.6
      modbus:
        unitid: 3
  - id: pdu-redfish
    name: Redfish PDU
    client: acme
    scrape:
      preset: redfish-pdu-mains
      url: https://10.0.0.7/redfish/v1/PowerEquipment/RackPDUs/1/Mains/AA
      auth:
        type: redfish_session
        username: admin
        password: "${REDFISH_PASSWORD}"
        session_url: /redfish/v1/SessionService/Sessions
  - id: meter-rtu
    name: Modbus RTU meter behind a serial converter
    client: acme
    scrape:
      preset: eastron-sdm630
      url: modbus://10.0.0.8:4001
      modbus:
        framing: rs485
  - id: pdu-chained
    name: APC PDU behind another (its unit index cannot be set by the preset)
    client: acme
    scrape:
      preset: apc-rpdu2-snmp
      url: snmp://10.0.0.9
      snmp: {unit: 2}
"""


def test_an_unknown_option_of_each_engine_is_a_file_line_field_message(tmp_path: Path) -> None:
    for folder in ("config/consumption-monitor", "data", "modules"):
        (tmp_path / folder).mkdir(parents=True)
    shutil.copytree(ROOT / "modules" / "consumption_monitor", tmp_path / "modules" / "consumption_monitor",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "config" / "nxforge.yaml").write_text("modules:\n  enabled: [consumption-monitor]\n")
    site = tmp_path / "config" / "consumption-monitor" / "pdus.yaml"
    site.write_text(ENDPOINTS)
    environ = {**os.environ, "NXFORGE_CONFIG_DIR": str(tmp_path / "config"), "NXFORGE_DATA_DIR": str(tmp_path / "data"),
               "NXFORGE_MODULES_DIR": str(tmp_path / "modules"), "SNMP_COMMUNITY": "x", "REDFISH_PASSWORD": "y",
               "NXFORGE_DATABASE_URL": f"sqlite:///{tmp_path / 'data' / 'nxforge.db'}"}
    result = subprocess.run([sys.executable, "-m", "nxforge.cli", "config", "check"], env=environ,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    for expected in (f"{site}:12: endpoints.0.scrape.snmp.walk_rot: unknown field",
                     f"{site}:20: endpoints.1.scrape.modbus.unitid: unknown field",
                     f"{site}:31: endpoints.2.scrape.auth.redfish_session.session_url: unknown field",
                     f"{site}:39: endpoints.3.scrape.modbus.framing: Input should be 'tcp' or 'rtu'",
                     f"{site}:43: endpoints.4.scrape: Value error, snmp.unit: no OID of this endpoint has a {{unit}}"):
        assert any(line.startswith(expected) for line in lines), (expected, result.stdout)
