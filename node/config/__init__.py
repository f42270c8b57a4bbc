"""Loading and validating config.json (see loader.py for paths and environment variables)."""

from node.config.check import check_config_command
from node.config.loader import ConfigError, LoadedConfig, load_config, parse_config
from node.config.mask import masked_config
from node.config.schema import Config

__all__ = [
    "Config",
    "ConfigError",
    "LoadedConfig",
    "check_config_command",
    "load_config",
    "masked_config",
    "parse_config",
]
