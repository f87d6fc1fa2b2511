"""PARAMS is a number, not a sequence of Param."""
PARAMS = 5


def target_weights(returns, params):
    raise AssertionError("never called: the file is refused at load")
