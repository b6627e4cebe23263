"""Configuration: YAML files validated by pydantic models, with every error pointing at file:line."""

from nxforge.config.errors import ConfigError, ConfigProblem
from nxforge.config.loader import LoadedYaml, load_yaml, validate_file
from nxforge.config.models import CoreConfig

__all__ = ["ConfigError", "ConfigProblem", "CoreConfig", "LoadedYaml", "load_yaml", "validate_file"]
