"""The plaintext baseline: the CRUD service a competent team would otherwise deploy.

Same stack as Haven (FastAPI, sync SQLAlchemy 2, psycopg 3, pooled sessions, declared response
models), same database server, same payload shapes, bearer tokens looked up by hash; but no
encryption, no policy module, no audit log. It exists only to be measured against.
"""
