"""Does not compile: a missing colon."""
def target_weights(returns, params)
    return returns
