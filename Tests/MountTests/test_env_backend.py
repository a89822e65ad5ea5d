"""The env backend through a real mount: only what the prefix or globs allow is visible."""

import os

import pytest


def test_only_prefixed_and_included_variables_are_visible(env):
    environment = {
        **os.environ,
        "APP_OPENAI_API_KEY": "env-openai-value-1",
        "APP_TOP": "env-top-value-22",
        "EXTRA_TOKEN": "env-extra-value-3",
        "SECRET_LEAK": "must-never-show-4",
    }
    m = env.mount(backend=["--backend", "env", "--env-prefix", "APP_", "--env-include", "EXTRA_*"], env=environment)
    env.planted += [b"env-openai-value-1", b"env-top-value-22", b"must-never-show-4"]
    assert m.read("openai", "api_key") == b"env-openai-value-1"
    assert m.read("top") == b"env-top-value-22"
    assert m.read("extra", "token") == b"env-extra-value-3"
    names = set(os.listdir(m.path))
    assert {"openai", "top", "extra", ".rotate", ".status", ".metrics"} <= names
    assert ".versions" not in names
    for probe in ["secret/leak", "secret_leak", "path", "home"]:
        with pytest.raises(FileNotFoundError):
            os.stat(m.p(*probe.split("/")))
    status = m.read(".status")
    assert b"must-never-show" not in status


def test_any_split_is_accepted(env):
    environment = {**os.environ, "APP_OPENAI_API_KEY": "env-split-value-1"}
    m = env.mount(backend=["--backend", "env", "--env-prefix", "APP_"], env=environment)
    assert m.read("openai_api_key") == b"env-split-value-1"
    assert m.read("openai", "api_key") == b"env-split-value-1"
