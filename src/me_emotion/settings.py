"""Project settings. There is no need to edit this file unless you want to change values
from the Kedro defaults. For further information, including these default values, see
https://docs.kedro.org/en/stable/configure/configuration_basics/#configuration"""

from me_emotion.hooks import ProjectHooks
from me_emotion.noise import silence_dependency_noise
from me_emotion.tracking import tracking_hooks

# Kedro's "dataset names contain '.'" warning (the composite pipeline reads other
# namespaces' datasets by design), omegaconf's deprecation of an API Kedro calls,
# TensorFlow's expected retracing notice: none is about the project (noise.py).
silence_dependency_noise()

# Instantiated project hooks, executed in Last-In-First-Out (LIFO) order.
# ProjectHooks: configuration checks, run lock, atomic saves (see hooks.py);
# experiment tracking (tracking.py) only where the `tracking` extra is installed.
HOOKS = (ProjectHooks(), *tracking_hooks())

# Installed plugins for which to disable hook auto-registration:
# - kedro-telemetry's session hook writes a project_id into pyproject.toml (a
#   tracked file) unless telemetry is opted out: never let a run change it;
# - the tracking hooks drive kedro-mlflow's hook themselves (pluggy reports
#   either spelling).
DISABLE_HOOKS_FOR_PLUGINS = ("kedro-telemetry", "kedro-mlflow", "kedro_mlflow")

# Class that manages the KedroSession.
# from kedro.framework.session import KedroSession
# SESSION_CLASS = KedroSession

# Class that manages storing KedroSession data.
# from kedro.framework.session.store import BaseSessionStore
# SESSION_STORE_CLASS = BaseSessionStore
# Keyword arguments to pass to the `SESSION_STORE_CLASS` constructor.
# SESSION_STORE_ARGS = {
#     "path": "./sessions"
# }

# Directory that holds configuration.
# CONF_SOURCE = "conf"

# Class that manages how configuration is loaded.
# from kedro.config import OmegaConfigLoader

# CONFIG_LOADER_CLASS = OmegaConfigLoader

# Keyword arguments to pass to the `CONFIG_LOADER_CLASS` constructor.
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # An environment (conf/local/, conf/paper/) deep-merges its parameters over
    # conf/base/: `--env paper` changes only the keys conf/paper/ names.
    "merge_strategy": {"parameters": "soft"},
    # "config_patterns": {
    #     "spark" : ["spark*/"],
    #     "parameters": ["parameters*", "parameters*/**", "**/parameters*"],
    # }
}

# Class that manages Kedro's library components.
# from kedro.framework.context import KedroContext
# CONTEXT_CLASS = KedroContext

# Class that manages the Data Catalog.
# from kedro.io import DataCatalog
# DATA_CATALOG_CLASS = DataCatalog
