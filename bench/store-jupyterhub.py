"""Fill a JupyterHub database with N users for bench/store.sh.

Run with Debian's python3 after JupyterHub has created the database once:
    /usr/bin/python3 bench/store-jupyterhub.py DB_URL N

Every user gets a default spawner (JupyterHub's per-server row) and the
default 'user' role, as JupyterHub itself would have given them; every
tenth user's spawner has a server record (a running server, at an address
where nothing listens, as after a hub crash). The shape matches the Go
fixture of internal/hub/store/sqlite/bench_test.go.
"""
import sys
import time

from jupyterhub import orm

db_url, n = sys.argv[1], int(sys.argv[2])
t0 = time.monotonic()
session = orm.new_session_factory(db_url)()
user_role = session.query(orm.Role).filter_by(name="user").one()
for i in range(n):
    u = orm.User(name=f"user-{i:05d}@example.org")
    u.roles.append(user_role)
    session.add(u)
    sp = orm.Spawner(user=u, name="")
    if i % 10 == 0:
        sp.server = orm.Server(ip="127.0.0.1", port=1, base_url=f"/user/{u.name}/")
    session.add(sp)
    if i % 5000 == 4999:
        session.commit()
session.commit()
print(f"inserted {n} users in {time.monotonic() - t0:.1f} s", file=sys.stderr)
