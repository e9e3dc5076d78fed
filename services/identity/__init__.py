"""Users, passwords, tokens, API clients and second factors."""
