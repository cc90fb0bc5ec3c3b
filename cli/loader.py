"""How every command gets going: settings → logging configured → profile → ledger engine.

Each step raises its own typed error (``SettingsError``, ``ProfileError``,
``db.DatabaseError``) and catches nothing: ``cli.errors`` turns them into the line the
operator reads. A command takes the steps it needs, in this order: ``intake health``
stops after the settings, the imports skip the profile. ``intake read`` alone takes no
settings: it works without mailbox or ledger and names its profile on the command line.
"""

from __future__ import annotations

import sqlalchemy as sa

from config.profile import Profile, load_profile
from config.settings import Settings, load_settings
from intake.logs import configure
from ledger import db


def settings() -> Settings:
    """The validated ``INTAKE_*`` settings, with logging configured as they say."""
    loaded = load_settings()
    configure(loaded.log_format)
    return loaded


def profile(settings: Settings) -> Profile:
    """The province profile the settings name (``INTAKE_PROFILE``, ``INTAKE_PROFILE_DIR``)."""
    return load_profile(settings.profile, settings.profile_dir)


def ledger(settings: Settings) -> sa.Engine:
    """The ledger database, its schema brought to the newest migration."""
    engine = db.connect(settings.database_url)
    db.migrate(engine)
    return engine
