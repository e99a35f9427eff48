pytest_plugins = ["tests.support.registry"]
