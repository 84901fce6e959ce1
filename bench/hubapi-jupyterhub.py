"""Fill a JupyterHub database with N users for bench/cmd/hubbench.

Run with Debian's python3 after JupyterHub has created the database once
(its schema, roles and the "jupyterhub" OAuth client):
    /usr/bin/python3 bench/hubapi-jupyterhub.py DB_URL N TOKENS_FILE T

Every user gets the default 'user' role and a default spawner (the row
JupyterHub keeps per server, here with no server running), as JupyterHub
itself gives a user who has logged in once. The first T users get an API
token each, made by JupyterHub's own APIToken.new (a generated token, so
one round of SHA-512, as for the tokens JupyterHub makes); the tokens are
written to TOKENS_FILE, one per line, in user order. Users are named
user-00000 … like hubkit's database in hubbench.
"""
import sys
import time

from jupyterhub import orm

db_url, n, tokens_file, t = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
t0 = time.monotonic()
session = orm.new_session_factory(db_url)()
user_role = session.query(orm.Role).filter_by(name="user").one()
with_tokens = []
for i in range(n):
    u = orm.User(name=f"user-{i:05d}")
    u.roles.append(user_role)
    session.add(u)
    session.add(orm.Spawner(user=u, name=""))
    if i < t:
        with_tokens.append(u)
    if i % 5000 == 4999:
        session.commit()
session.commit()
t1 = time.monotonic()
with open(tokens_file, "w") as f:
    for u in with_tokens:
        f.write(u.new_api_token(note="hubbench") + "\n")
print(f"inserted {n} users in {t1 - t0:.1f} s, {len(with_tokens)} tokens in {time.monotonic() - t1:.1f} s", file=sys.stderr)
