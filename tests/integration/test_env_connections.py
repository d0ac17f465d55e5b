""".env connection lines through the real CLI: a line that looks like a connection but cannot be used is an
error naming the file, the line, the key and the fix (exit 1); usable lines and ordinary variables work."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import llmops
from tests.support.mini_use_case import write_use_case
from tests.support.repo_copy import copy_use_case

SAMPLE = ('aoai={"api_key": "<key>", "api_base": "https://<resource>.openai.azure.com/", "api_type": "azure", '
          '"api_version": "2024-02-01"}')
AZURE = '{"api_key": "key-0123456789", "api_base": "https://res.openai.azure.com/", "api_type": "azure"}'

BROKEN = [
    # .env text (the connection on line 3), the error message expected
    (
        'aoai="{"api_key": "k", "api_type": "openai"}"',
        ".env line 3: aoai: python-dotenv cannot read this line (JSON in double quotes ends at its first inner "
        f"quote); write the JSON unquoted or in single quotes, e.g. {SAMPLE}",
    ),
    (
        'aoai=[{"api_key": "k", "api_type": "openai"}]',
        f".env line 3: aoai: a JSON array is not a connection; write one JSON object, e.g. {SAMPLE}",
    ),
    (
        'aoai={"api_base": "https://res.openai.azure.com/", "api_type": "azure"}',
        '.env line 3: aoai.api_key: missing; every connection needs one ("none" for a server that takes no key), '
        f"e.g. {SAMPLE}",
    ),
    (
        'aoai={"endpoint": "https://res.openai.azure.com/"}',
        '.env line 3: aoai.api_key: missing; every connection needs one ("none" for a server that takes no key), '
        f"e.g. {SAMPLE}",
    ),
    (
        "aoai={'api_key': 'k', 'api_type': 'openai'}",
        ".env line 3: aoai: not valid JSON (Expecting property name enclosed in double quotes at column 2); "
        f"write one JSON object on one line, e.g. {SAMPLE}",
    ),
    (
        'aoai={"api_key": "k #2", "api_type": "openai"}',
        ".env line 3: aoai: not valid JSON (Unterminated string starting at column 13); an unquoted ' #' starts "
        f"a comment: wrap the JSON in single quotes, e.g. {SAMPLE}",
    ),
    (
        'aoai={"api_key": "k", "api_type": "openai", "base_url": "file:///etc/passwd"}',
        ".env line 3: aoai.base_url: 'file:///etc/passwd' is not an http(s) URL; give the server's address, "
        "e.g. http://127.0.0.1:8000/v1",
    ),
    (
        'aoai={"api_key": "k", "api_type": "openai", "base_url": "javascript:alert(1)"}',
        ".env line 3: aoai.base_url: 'javascript:alert(1)' is not an http(s) URL; give the server's address, "
        "e.g. http://127.0.0.1:8000/v1",
    ),
    (
        'aoai={"api_key": "k", "api_base": "ftp://res.openai.azure.com/", "api_type": "azure"}',
        ".env line 3: aoai.api_base: 'ftp://res.openai.azure.com/' is not an http(s) URL; give the resource's "
        "address, e.g. https://<resource>.openai.azure.com/",
    ),
    (
        'aoai={"api_key": "k", "api_type": "anthropic"}',
        '.env line 3: aoai.api_type: \'anthropic\' is not supported; use "azure" or "openai"',
    ),
]


# No embedded model download; the developer's own `aoai` variable would be a connection too.
ENV = {"LLMOPS_OFFLINE": "1", "aoai": None}


def env_file(tmp_path: Path, connection_line: str) -> None:
    (tmp_path / "use_cases").mkdir(exist_ok=True)
    (tmp_path / ".env").write_text(f"# connections\nAZURE_SUBSCRIPTION_ID=0000-1111\n{connection_line}\nFOO=bar\n")


@pytest.mark.parametrize(("line", "message"), BROKEN)
def test_unusable_connection_line_is_an_error_naming_the_line(tmp_path: Path, line: str, message: str) -> None:
    env_file(tmp_path, line)
    done = llmops(tmp_path, "connections", env=ENV)
    assert (done.code, done.err, done.out) == (1, f"error: {message}\n", "")


def test_run_stops_on_an_unusable_connection_line(tmp_path: Path) -> None:
    write_use_case(tmp_path)
    env_file(tmp_path, BROKEN[1][0])
    # replay: were the line ignored, the run would need no model and pass, as it did before.
    done = llmops(tmp_path, "run", "-u", "mini", "-e", "pr", "--provider", "replay", env=ENV)
    assert (done.code, done.err.splitlines()[-1]) == (1, f"error: {BROKEN[1][1]}")


def test_file_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    (tmp_path / "use_cases").mkdir()
    (tmp_path / ".env").write_bytes(b"FOO=bar\naoai={\"api_key\": \"\xff\"}\n")
    done = llmops(tmp_path, "connections", env=ENV)
    expected = "error: .env line 2: not UTF-8 text (byte 0xff); save the file as UTF-8\n"
    assert (done.code, done.err) == (1, expected)


USABLE = [
    # .env text of line 3, what `llmops connections` lists
    (f"aoai={AZURE}", "aoai: type azure, target https://res.openai.azure.com/, key ****6789, provider -"),
    # the original template's docs: unquoted JSON, a space after the brace, empty values elsewhere
    (
        'aoai={ "api_key": "key-0123456789","api_base": "https://res.openai.azure.com/","api_type": "azure",'
        '"api_version": "2023-03-15-preview"}',
        "aoai: type azure, target https://res.openai.azure.com/, key ****6789, provider -",
    ),
    (f"aoai='{AZURE}'", "aoai: type azure, target https://res.openai.azure.com/, key ****6789, provider -"),
    ('aoai="' + AZURE.replace('"', '\\"') + '"',
     "aoai: type azure, target https://res.openai.azure.com/, key ****6789, provider -"),
    (f"export aoai={AZURE}", "aoai: type azure, target https://res.openai.azure.com/, key ****6789, provider -"),
    (
        'local={"api_key": "none", "api_type": "openai", "base_url": "http://127.0.0.1:8000/v1"}',
        "local: type openai, target http://127.0.0.1:8000/v1, key ****, provider -",
    ),
    ("experiment_name=", None),
    ('GREETING="hello world"', None),
]


@pytest.mark.parametrize(("line", "listed"), USABLE)
def test_usable_lines_and_ordinary_variables(tmp_path: Path, line: str, listed: str | None) -> None:
    env_file(tmp_path, line)
    done = llmops(tmp_path, "connections", "--no-sync", env=ENV)
    assert (done.code, done.err) == (0, "")
    expected = listed or f"no connections defined in {tmp_path / '.env'} (see .env.sample); flows fall back to the " \
                         "embedded model"
    assert done.out.splitlines() == [expected]


def test_unreadable_ordinary_line_is_ignored_with_a_warning(tmp_path: Path) -> None:
    env_file(tmp_path, "GREETING=\"unterminated")
    done = llmops(tmp_path, "connections", "--no-sync", env=ENV)
    assert (done.code, done.err) == (0, ".env line 3: python-dotenv cannot read this line; it is ignored\n")


def test_a_provider_that_cannot_use_a_connection_names_its_line(tmp_path: Path) -> None:
    copy_use_case(tmp_path)
    env_file(tmp_path, f"aoai={AZURE}")
    done = llmops(tmp_path, "connections", "-u", "web_classification", "--provider", "openai_compatible", "--no-sync",
                  env=ENV)
    expected = ("error: .env line 3: aoai.base_url: the openai_compatible provider needs the server's base_url, "
                'e.g. "base_url": "http://127.0.0.1:8000/v1"\n')
    assert (done.code, done.err) == (1, expected)
