"""`faust -A streams.app worker`: the Faust app built from the environment's settings."""

from streams.config.settings import load_settings
from streams.worker.app import create_app

app = create_app(load_settings())
