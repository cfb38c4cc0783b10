"""Lambda's runtime: each function's handlers in worker processes of their own, with the function's
environment, its role's credentials, its timeout, and import failures named."""
