"""HTTP only: routers, schemas, dependencies, and the one domain-error-to-problem+json mapper."""
