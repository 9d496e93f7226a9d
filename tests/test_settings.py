import re
from pathlib import Path

from app.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_env_example_documents_every_setting_with_its_default():
    text = (ROOT / ".env.example").read_text()
    documented = dict(re.findall(r"^ASKDOCS_([A-Z0-9_]+)=(.*)$", text, re.M))
    fields = Settings.model_fields
    assert {k.lower() for k in documented} == set(fields)
    for name, value in documented.items():
        default = fields[name.lower()].default
        parsed = Settings(_env_file=None, **({name.lower(): value} if value else {}))
        assert getattr(parsed, name.lower()) == default, f"ASKDOCS_{name}: .env.example says {value!r}, " \
                                                         f"the default is {default!r}"
    for line_no, line in enumerate(text.splitlines()):
        if line.startswith("ASKDOCS_"):
            above = text.splitlines()[line_no - 1]
            assert above.startswith("#") or above.startswith("ASKDOCS_"), f"{line} has no comment"


def test_a_copy_of_env_example_loads_as_the_defaults():
    # `cp .env.example .env` is what a user does first; an unset optional number (NAME=) once failed to parse.
    copied = Settings(_env_file=ROOT / ".env.example")
    assert copied.model_dump() == Settings(_env_file=None).model_dump()


def test_secrets_are_not_printed(monkeypatch):
    monkeypatch.setenv("ASKDOCS_LLM_API_KEY", "sk-very-secret")
    monkeypatch.setenv("ASKDOCS_PASSWORD", "hunter2")
    settings = Settings(_env_file=None)
    assert "sk-very-secret" not in repr(settings) and "hunter2" not in str(settings)
    assert settings.llm_api_key.get_secret_value() == "sk-very-secret"
