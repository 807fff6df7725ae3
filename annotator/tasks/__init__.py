"""Celery tasks. Importing this package registers every task module in it (Celery autodiscovery).

Modules named `gpu*` hold training and inference (routed to the `gpu` queue by settings)."""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
