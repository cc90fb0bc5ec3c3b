"""``intake staff add`` and ``intake review serve``: the commands as operators run them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import click
from click.testing import CliRunner

from cli.main import cli as intake
from ledger.db import connect
from review.auth import authenticate

INTAKE = str(Path(sys.executable).with_name("intake"))


def env_for(tmp_path: Path) -> dict[str, str]:
    return {"INTAKE_PROFILE": "anhui-2025", "INTAKE_DB_URL": f"sqlite:///{tmp_path / 'ledger.sqlite3'}",
            "INTAKE_DATA_DIR": str(tmp_path / "originals"), "INTAKE_LOG_FORMAT": "json"}


def cli() -> click.Group:
    return intake


def test_staff_add_prompts_for_the_password_and_stores_only_a_hash(tmp_path):
    env = env_for(tmp_path)
    result = CliRunner().invoke(cli(), ["staff", "add", "张老师"], input="long enough secret\nlong enough secret\n",
                                env=env)
    assert result.exit_code == 0, result.output
    assert "已保存工作人员账号：张老师" in result.output
    engine = connect(env["INTAKE_DB_URL"])
    assert authenticate(engine, "张老师", "long enough secret") is not None
    assert authenticate(engine, "张老师", "long enough secreT") is None
    with engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT password_hash FROM staff_accounts").scalar_one()
    assert stored.startswith("$argon2id$") and "long enough secret" not in stored
    engine.dispose()


def test_staff_add_refuses_a_short_password_and_explains(tmp_path):
    result = CliRunner().invoke(cli(), ["staff", "add", "张老师"], input="short\nshort\n", env=env_for(tmp_path))
    assert result.exit_code == 1
    assert "密码至少需要 10 个字符" in result.output


def test_review_serve_answers_on_the_port(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("INTAKE_")}, **env_for(tmp_path)}
    server = subprocess.Popen([INTAKE, "review", "serve", "--port", str(port)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline, body = time.monotonic() + 30, ""
        while time.monotonic() < deadline and not body:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as response:
                    body = response.read().decode("utf-8")
                    cookie = response.headers["Set-Cookie"]
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()
                time.sleep(0.2)
        assert "工作人员登录" in body
        assert "HttpOnly" in cookie
    finally:
        server.terminate()
        server.wait(timeout=10)
