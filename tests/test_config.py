"""Settings validation and province profiles."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from config.profile import ProfileError, load_profile
from config.settings import SettingsError, load_settings
from ledger import db
from ledger.db import DatabaseError

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_environment_settings_are_typed_and_secrets_hidden():
    settings = load_settings({"INTAKE_IMAP_PORT": "143", "INTAKE_IMAP_PASSWORD": "AuthCode", "INTAKE_IMAP_SSL": "0"})
    assert settings.imap_port == 143 and settings.imap_ssl is False
    assert "AuthCode" not in repr(settings) and "AuthCode" not in str(settings.model_dump())
    assert settings.imap_password.get_secret_value() == "AuthCode"


def test_secrets_can_come_from_files_as_container_secrets_do(tmp_path):
    (tmp_path / "imap").write_text("AuthCode\n", encoding="utf-8")
    (tmp_path / "db").write_text("postgresql://intake:pw@db/ledger\n", encoding="utf-8")
    settings = load_settings({"INTAKE_IMAP_PASSWORD_FILE": str(tmp_path / "imap"),
                              "INTAKE_DB_URL_FILE": str(tmp_path / "db")})
    assert settings.imap_password.get_secret_value() == "AuthCode"
    assert settings.database_url == "postgresql://intake:pw@db/ledger"
    assert "pw@" not in repr(settings)
    with pytest.raises(SettingsError, match="INTAKE_SMTP_PASSWORD_FILE: cannot read"):
        load_settings({"INTAKE_SMTP_PASSWORD_FILE": str(tmp_path / "missing")})
    with pytest.raises(SettingsError, match="both set"):
        load_settings({"INTAKE_IMAP_PASSWORD_FILE": str(tmp_path / "imap"), "INTAKE_IMAP_PASSWORD": "x"})


def test_a_malformed_database_url_is_refused_without_echoing_its_password():
    with pytest.raises(DatabaseError, match="not a database URL: postgresql://…") as refused:
        db.connect("postgresql://intake:Secret99@db:notaport/ledger")
    assert "Secret99" not in str(refused.value)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"INTAKE_IMAP_PORT": "imap"}, "INTAKE_IMAP_PORT"),
        ({"INTAKE_SMTP_PORT": "70000"}, "INTAKE_SMTP_PORT"),
        ({"INTAKE_IMAPHOST": "x"}, "INTAKE_IMAPHOST"),  # a typo is reported, not ignored
        ({"INTAKE_LOG_FORMAT": "xml"}, "INTAKE_LOG_FORMAT"),
    ],
)
def test_bad_setting_is_named(env, named):
    with pytest.raises(SettingsError, match=named):
        load_settings(env)


def test_settings_file_is_read_and_environment_wins(tmp_path):
    path = tmp_path / "intake.toml"
    path.write_text('imap_host = "imap.126.com"\nINTAKE_IMAP_PORT = 993\nfrom = "ahxzsbg@126.com"\n', encoding="utf-8")
    settings = load_settings({"INTAKE_SETTINGS_FILE": str(path), "INTAKE_IMAP_PORT": "1993"})
    assert (settings.imap_host, settings.imap_port, settings.from_address) == ("imap.126.com", 1993, "ahxzsbg@126.com")


def test_anhui_windows_are_whole_days_in_shanghai():
    profile = load_profile("anhui-2025")
    rule = profile.form("summary")
    assert rule.example_subject("合肥职业技术学院") == "合肥职业技术学院+2025年证书申报"
    last_minute = datetime(2025, 4, 10, 23, 59, tzinfo=SHANGHAI)
    too_late = datetime(2025, 4, 11, 0, 0, tzinfo=SHANGHAI)
    # 2025-04-10 16:30 UTC is already 04-11 in Shanghai: the zone decides, not UTC.
    utc_late = datetime(2025, 4, 10, 16, 30, tzinfo=ZoneInfo("UTC"))
    assert profile.window_for("summary", last_minute) is not None
    assert profile.window_for("summary", too_late) is None
    assert profile.window_for("summary", utc_late) is None
    assert profile.window_for("summary", datetime(2025, 9, 17, 12, tzinfo=SHANGHAI)) is not None


def test_a_new_profile_file_alone_changes_the_rules(tmp_path):
    text = (load_profile.__globals__["PROFILE_DIR"] / "anhui-2025.toml").read_text(encoding="utf-8")
    text = text.replace('id = "anhui-2025"', 'id = "anhui-2026"').replace("2025年", "2026年")
    text = text.replace('"2025-03-14", "2025-04-10"', '"2026-03-02", "2026-03-31"')
    (tmp_path / "anhui-2026.toml").write_text(text, encoding="utf-8")
    profile = load_profile("anhui-2026", tmp_path)
    assert profile.form("summary").subject_suffix == "2026年证书申报"
    assert profile.window_for("summary", datetime(2026, 3, 5, tzinfo=SHANGHAI)) is not None
    assert profile.window_for("summary", datetime(2025, 3, 20, tzinfo=SHANGHAI)) is None


def test_unknown_or_broken_profile_says_what_exists(tmp_path):
    with pytest.raises(ProfileError, match="anhui-2025"):
        load_profile("anhui-2030")
    (tmp_path / "bad.toml").write_text('id = "bad"\n', encoding="utf-8")
    with pytest.raises(ProfileError, match="missing key 'province'"):
        load_profile("bad", tmp_path)


def test_input_limits_come_from_settings():
    from intake.worker import limits_from_settings

    mime, reader = limits_from_settings(load_settings({"INTAKE_MAX_ZIP_RATIO": "50", "INTAKE_MAX_PDF_PAGES": "5"}))
    assert (mime.max_zip_ratio, reader.max_pages) == (50, 5)
