import pytest

from tests.integration.fleet import Fleet


@pytest.fixture
def fleet(tmp_path):
    deployment = Fleet(tmp_path)
    deployment.create_topics()
    yield deployment
    deployment.stop_all()
    deployment.delete_topics()
