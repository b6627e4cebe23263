"""A password in a URL's userinfo is refused by the scrape config, at file:line, with a hint, and never repeated."""

from __future__ import annotations

from pathlib import Path

import pytest

from nxforge.config.errors import ConfigError
from nxforge.config.loader import load_yaml, validate_loaded
from nxforge.scraping.config import ScrapeConfig

SECRET = "hunter2"

# (name, YAML of one scrape config, field refused); the line reported is marked "# here": the key's own line,
# inside a step or an auth block too (the loader steps over the tag in pydantic's tagged-union path).
CASES = [
    ("user and password", f"preset: plain\nurl: http://admin:{SECRET}@127.0.0.1:9/  # here\n", "url"),
    ("https, upper-case scheme", f"preset: plain\nurl: HTTPS://admin:{SECRET}@meter.example/  # here\n", "url"),
    ("references in userinfo", "preset: plain\nurl: http://${USER}:${PASS}@127.0.0.1:9/  # here\n", "url"),
    ("user only", "preset: plain\nurl: http://admin@127.0.0.1:9/  # here\n", "url"),
    ("empty password", "preset: plain\nurl: 'http://admin:@127.0.0.1:9/'  # here\n", "url"),
    ("snmp", f"preset: plain\nurl: snmp://public:{SECRET}@127.0.0.1:161  # here\n", "url"),
    ("navigate step", f"engine: browser\nurl: http://127.0.0.1:9/\nvalues: {{kwh: {{selector: '#k'}}}}\nsteps:\n"
                      f"  - action: navigate\n    url: http://a:{SECRET}@h/x  # here\n", "steps.0.navigate.url"),
    ("form login_url", f"engine: http\nurl: http://127.0.0.1:9/\nvalues: {{kwh: {{selector: '#k'}}}}\nauth:\n"
                       f"  type: form\n  username: u\n  password: ${{P}}\n  username_field: u\n  password_field: p\n"
                       f"  login_url: https://u:{SECRET}@127.0.0.1:9/login  # here\n", "auth.form.login_url"),
    ("token_url", f"engine: http\nurl: http://127.0.0.1:9/\nvalues: {{kwh: {{selector: '$.k'}}}}\nauth:\n"
                  f"  type: token\n  token_url: //u:{SECRET}@127.0.0.1:9/token  # here\n", "auth.token.token_url"),
]


@pytest.mark.parametrize(("name", "text", "field"), CASES, ids=[case[0] for case in CASES])
def test_userinfo_is_refused_at_its_line_with_a_hint(name: str, text: str, field: str, tmp_path: Path) -> None:
    path = tmp_path / "endpoint.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        validate_loaded(load_yaml(path), ScrapeConfig)
    (problem,) = [p for p in caught.value.problems if "credentials in the URL" in p.message]
    expected_line = next(number for number, line in enumerate(text.splitlines(), 1) if "# here" in line)
    assert problem.line == expected_line and problem.field == field and problem.file == path
    assert "auth:" in problem.message and "${" in problem.message
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/?next=a@b", "http://127.0.0.1:9/path@x", "https://meter.example/"])
def test_an_at_sign_after_the_host_is_not_userinfo(url: str) -> None:
    assert ScrapeConfig.model_validate({"preset": "plain", "url": url}).url == url
