pytest_plugins = ["tests.support.registry", "tests.support.postgres", "tests.support.engine"]
