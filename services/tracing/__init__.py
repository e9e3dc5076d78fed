"""Family tracing: enquiries, matching on keyed name tokens, a person's decision, reunification."""
