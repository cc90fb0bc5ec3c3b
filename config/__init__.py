"""Settings (environment, optional TOML file) and province profiles."""

from config.profile import Profile, load_profile
from config.settings import Settings, SettingsError, load_settings

__all__ = ["Profile", "Settings", "SettingsError", "load_profile", "load_settings"]
