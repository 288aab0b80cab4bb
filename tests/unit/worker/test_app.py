"""The worker's wiring: its agents and what happens when one fails."""

from mode import CrashingSupervisor

from streams.config.settings import load_settings
from streams.worker.app import create_app


def test_every_agent_of_the_worker_stops_it_when_it_fails():
    app = create_app(load_settings())
    # ingest of orders, weather, reviews and redemptions; rider-gps, rider-events, judges;
    # rider-profiles for the serving layer
    assert len(app.agents) == 8
    assert all(agent.supervisor_strategy is CrashingSupervisor
               for agent in app.agents.values())
