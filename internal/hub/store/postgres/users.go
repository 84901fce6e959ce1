package postgres

import (
	"context"
	"errors"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/hubkit/hubkit/internal/hub/store"
	"github.com/hubkit/hubkit/internal/hub/store/internal/sqlstore"
)

// CreateUser implements store.Users.
func (s *Store) CreateUser(ctx context.Context, u store.User) (store.User, error) {
	u, err := sqlstore.NewUser(u, s.now)
	if err != nil {
		return store.User{}, err
	}
	var out store.User
	err = s.write(ctx, "create user", func(q querier) error {
		var id int64
		err := q.QueryRow(ctx, `INSERT INTO users (name, admin, created) VALUES ($1, $2, $3) RETURNING id`,
			u.Name, u.Admin, u.Created).Scan(&id)
		if isUnique(err) {
			return store.Conflict("user %q exists", u.Name)
		}
		if err != nil {
			return err
		}
		if err := s.setGroups(ctx, q, id, u.Groups); err != nil {
			return err
		}
		out, err = getUser(ctx, q, u.Name)
		return err
	})
	return out, err
}

// setGroups replaces the memberships of user id with groups (sorted,
// unique), creating missing groups: three statements in one round trip,
// whatever the number of groups. A group made at the same moment by
// another transaction is waited for (ON CONFLICT) and then seen by the
// next statement (READ COMMITTED).
func (s *Store) setGroups(ctx context.Context, q querier, id int64, groups []string) error {
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM user_groups WHERE user_id = $1`, id)
	if len(groups) > 0 {
		b.Queue(`INSERT INTO groups (name, created) SELECT unnest($1::text[]), $2 ON CONFLICT (name) DO NOTHING`, groups, s.now())
		b.Queue(`INSERT INTO user_groups (user_id, group_id) SELECT $1, id FROM groups WHERE name = ANY($2::text[])`,
			id, groups).Exec(func(ct pgconn.CommandTag) error {
			if ct.RowsAffected() != int64(len(groups)) {
				return errRaced // a group was deleted between the two INSERTs
			}
			return nil
		})
	}
	return q.SendBatch(ctx, b).Close()
}

// GetUser implements store.Users: one round trip.
func (s *Store) GetUser(ctx context.Context, name string) (store.User, error) {
	if err := store.ValidateName("user", name); err != nil {
		return store.User{}, err
	}
	var u store.User
	err := s.readSteps(ctx, "get user", func(b *pgx.Batch) { queueGetUser(b, name, &u) })
	return u, err
}

// userCols are the columns of codec.ScanUser.
const userCols = `u.id, u.name, u.admin, u.created, u.last_activity`

// queueGetUser queues the three queries that read the user with their
// groups and servers into *out, keyed by name so that they need no
// earlier result.
func queueGetUser(b *pgx.Batch, name string, out *store.User) {
	*out = store.User{}
	b.Queue(`SELECT `+userCols+` FROM users u WHERE u.name = $1`, name).QueryRow(func(row pgx.Row) error {
		_, u, err := codec.ScanUser(row)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.NotFound("user", name)
		}
		*out = u
		return err
	})
	b.Queue(`SELECT g.name FROM users u JOIN user_groups ug ON ug.user_id = u.id JOIN groups g ON g.id = ug.group_id
WHERE u.name = $1 ORDER BY g.name`, name).Query(func(rows pgx.Rows) error {
		var err error
		out.Groups, err = collectStrings(rows)
		return err
	})
	b.Queue(`SELECT `+serverCols+` FROM users u JOIN servers s ON s.user_id = u.id WHERE u.name = $1 ORDER BY s.name`,
		name).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			srv, err := codec.ScanServer(rows, nil)
			if err != nil {
				return err
			}
			srv.User = name
			out.Servers = append(out.Servers, srv)
		}
		return rows.Err()
	})
}

// getUser reads the user inside a write transaction, in one round trip.
func getUser(ctx context.Context, q querier, name string) (store.User, error) {
	var u store.User
	b := &pgx.Batch{}
	queueGetUser(b, name, &u)
	if err := q.SendBatch(ctx, b).Close(); err != nil {
		return store.User{}, err
	}
	return u, nil
}

// collectStrings reads a single text column; nil when there are no rows.
func collectStrings(rows pgx.Rows) ([]string, error) {
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// queueFillUsers queues the two queries that load the groups and servers
// of users, whatever their number.
func queueFillUsers(b *pgx.Batch, users *sqlstore.UserSet) {
	ids := users.IDs()
	if len(ids) == 0 {
		return
	}
	queueUserRows(b, users, `= ANY($1)`, ids)
}

// queueUserRows queues the two queries that load the groups and servers
// of the users whose IDs match in (`= ANY($1)`, `IN (SELECT …)`: a
// condition on a user ID, with one placeholder, $1, for arg) into users,
// which holds those users.
func queueUserRows(b *pgx.Batch, users *sqlstore.UserSet, in string, arg any) {
	b.Queue(`SELECT ug.user_id, g.name FROM user_groups ug JOIN groups g ON g.id = ug.group_id
WHERE ug.user_id `+in+` ORDER BY g.name`, arg).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var (
				id int64
				g  string
			)
			if err := rows.Scan(&id, &g); err != nil {
				return err
			}
			users.AddGroup(id, g)
		}
		return rows.Err()
	})
	b.Queue(`SELECT s.user_id, `+serverCols+` FROM servers s WHERE s.user_id `+in+` ORDER BY s.name`, arg).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var id int64
			srv, err := codec.ScanServer(rows, &id)
			if err != nil {
				return err
			}
			users.AddServer(id, srv)
		}
		return rows.Err()
	})
}

// UpdateUser implements store.Users.
func (s *Store) UpdateUser(ctx context.Context, name string, upd store.UserUpdate) (store.User, error) {
	groups, err := sqlstore.ValidateUserUpdate(name, upd)
	if err != nil {
		return store.User{}, err
	}
	var out store.User
	err = s.write(ctx, "update user", func(q querier) error {
		current := name
		var id int64
		err := q.QueryRow(ctx, `SELECT id FROM users WHERE name = $1 FOR UPDATE`, current).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.NotFound("user", current)
		}
		if err != nil {
			return err
		}
		if upd.Name != nil && *upd.Name != current {
			_, err := q.Exec(ctx, `UPDATE users SET name = $1 WHERE id = $2`, *upd.Name, id)
			if isUnique(err) {
				return store.Conflict("user %q exists", *upd.Name)
			}
			if err != nil {
				return err
			}
			current = *upd.Name
		}
		if upd.Admin != nil {
			if _, err := q.Exec(ctx, `UPDATE users SET admin = $1 WHERE id = $2`, *upd.Admin, id); err != nil {
				return err
			}
		}
		if upd.Groups != nil {
			if err := s.setGroups(ctx, q, id, groups); err != nil {
				return err
			}
		}
		out, err = getUser(ctx, q, current)
		return err
	})
	return out, err
}

func userID(ctx context.Context, q querier, name string) (int64, error) {
	var id int64
	err := q.QueryRow(ctx, `SELECT id FROM users WHERE name = $1`, name).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, store.NotFound("user", name)
	}
	return id, err
}

// DeleteUser implements store.Users. The foreign keys cascade to
// everything that hangs off the user.
func (s *Store) DeleteUser(ctx context.Context, name string) error {
	if err := store.ValidateName("user", name); err != nil {
		return err
	}
	return s.singleWrite(ctx, "delete user", func(q querier) error {
		tag, err := q.Exec(ctx, `DELETE FROM users WHERE name = $1`, name)
		if err == nil && tag.RowsAffected() == 0 {
			return store.NotFound("user", name)
		}
		return err
	})
}

// Conditions on users u for the state filters. Each subquery has the
// servers_active index's predicate, so that PostgreSQL reads only that
// small index (one entry per active server), as a semi-join or anti-join.
const activeServer = `SELECT 1 FROM servers s WHERE s.user_id = u.id AND (s.url <> '' OR s.pending <> '')`

// userFilter's WHERE clause has its placeholder numbered $1.
var userFilter = sqlstore.UserFilter{
	Active:   `EXISTS (` + activeServer + `)`,
	Ready:    `EXISTS (` + activeServer + ` AND s.url <> '' AND s.pending = '')`,
	Inactive: `NOT EXISTS (` + activeServer + `)`,
	// ILIKE under COLLATE "C" folds ASCII letters only, which is the
	// contract.
	NameContains: `u.name ILIKE $1 ESCAPE '\'`,
}

// ListUsers implements store.Users.
func (s *Store) ListUsers(ctx context.Context, q store.UserQuery) ([]store.User, error) {
	users, _, err := s.listUsers(ctx, q, false)
	return users, err
}

// CountUsers implements store.Users.
func (s *Store) CountUsers(ctx context.Context, q store.UserQuery) (int, error) {
	if err := store.ValidateUserQuery(q); err != nil {
		return 0, err
	}
	where, args := userFilter.Where(q)
	var n int
	err := s.single(ctx, "count users", func(qr querier) error {
		return qr.QueryRow(ctx, `SELECT count(*) FROM users u`+where, args...).Scan(&n)
	})
	return n, err
}

// ListUsersPage implements store.Users: ListUsers with the count in its
// second batch, in the same two round trips; when the page tells the
// total (sqlstore.PageTotal), the count is not run.
func (s *Store) ListUsersPage(ctx context.Context, q store.UserQuery) ([]store.User, int, error) {
	return s.listUsers(ctx, q, true)
}

// listUsers reads the users q selects, with their groups and servers, and
// when count is set how many users q selects ignoring its Offset and
// Limit.
func (s *Store) listUsers(ctx context.Context, q store.UserQuery, count bool) ([]store.User, int, error) {
	if err := store.ValidateUserQuery(q); err != nil {
		return nil, 0, err
	}
	where, args := userFilter.Where(q)
	var limit any // NULL: no limit
	if q.Limit > 0 {
		limit = q.Limit
	}
	n := len(args)
	query := `SELECT ` + userCols + ` FROM users u` + where + ` ORDER BY u.name LIMIT $` + strconv.Itoa(n+1) + ` OFFSET $` + strconv.Itoa(n+2)
	var (
		users sqlstore.UserSet
		total int
	)
	// Two round trips on one snapshot: the page, then its users' groups
	// and servers (and the count).
	err := s.readSteps(ctx, "list users", func(b *pgx.Batch) {
		users, total = sqlstore.UserSet{}, 0
		b.Queue(query, append(args[:n:n], limit, q.Offset)...).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				id, u, err := codec.ScanUser(rows)
				if err != nil {
					return err
				}
				users.Add(id, u)
			}
			return rows.Err()
		})
	}, func(b *pgx.Batch) {
		queueFillUsers(b, &users)
		if !count {
			return
		}
		var ok bool
		if total, ok = sqlstore.PageTotal(q, len(users.IDs())); !ok {
			b.Queue(`SELECT count(*) FROM users u`+where, args...).QueryRow(func(row pgx.Row) error {
				return row.Scan(&total)
			})
		}
	})
	if err != nil {
		return nil, 0, err
	}
	return users.Users(), total, nil
}

// AuthState implements store.AuthStates.
func (s *Store) AuthState(ctx context.Context, user string) ([]byte, error) {
	if err := store.ValidateName("user", user); err != nil {
		return nil, err
	}
	var b []byte
	err := s.single(ctx, "get auth state", func(q querier) error {
		err := q.QueryRow(ctx, `SELECT a.state FROM users u LEFT JOIN user_auth_states a ON a.user_id = u.id WHERE u.name = $1`,
			user).Scan(&b)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.NotFound("user", user)
		}
		return err
	})
	if len(b) == 0 {
		b = nil
	}
	return b, err
}

// SetAuthState implements store.AuthStates.
func (s *Store) SetAuthState(ctx context.Context, user string, state []byte) error {
	if err := store.ValidateName("user", user); err != nil {
		return err
	}
	return s.write(ctx, "set auth state", func(q querier) error {
		id, err := userID(ctx, q, user)
		if err != nil {
			return err
		}
		if len(state) == 0 {
			_, err = q.Exec(ctx, `DELETE FROM user_auth_states WHERE user_id = $1`, id)
		} else {
			_, err = q.Exec(ctx, `INSERT INTO user_auth_states (user_id, state) VALUES ($1, $2)
ON CONFLICT (user_id) DO UPDATE SET state = excluded.state`, id, state)
		}
		return err
	})
}

// CreateGroup implements store.Groups.
func (s *Store) CreateGroup(ctx context.Context, name string) (store.Group, error) {
	if err := store.ValidateName("group", name); err != nil {
		return store.Group{}, err
	}
	g := store.Group{Name: name, Created: s.now()}
	err := s.singleWrite(ctx, "create group", func(q querier) error {
		_, err := q.Exec(ctx, `INSERT INTO groups (name, created) VALUES ($1, $2)`, name, g.Created)
		if isUnique(err) {
			return store.Conflict("group %q exists", name)
		}
		return err
	})
	if err != nil {
		return store.Group{}, err
	}
	return g, nil
}

// GetGroup implements store.Groups: one round trip.
func (s *Store) GetGroup(ctx context.Context, name string) (store.Group, error) {
	if err := store.ValidateName("group", name); err != nil {
		return store.Group{}, err
	}
	var g store.Group
	err := s.readSteps(ctx, "get group", func(b *pgx.Batch) { queueGetGroup(b, name, &g) })
	return g, err
}

// queueGetGroup queues the two queries that read the group with its
// members into *out.
func queueGetGroup(b *pgx.Batch, name string, out *store.Group) {
	*out = store.Group{}
	b.Queue(`SELECT created FROM groups WHERE name = $1`, name).QueryRow(func(row pgx.Row) error {
		var created pgtype.Timestamptz
		err := row.Scan(&created)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.NotFound("group", name)
		}
		out.Name, out.Created = name, fromTS(created)
		return err
	})
	b.Queue(`SELECT u.name FROM groups g JOIN user_groups ug ON ug.group_id = g.id JOIN users u ON u.id = ug.user_id
WHERE g.name = $1 ORDER BY u.name`, name).Query(func(rows pgx.Rows) error {
		var err error
		out.Members, err = collectStrings(rows)
		return err
	})
}

// ListGroups implements store.Groups.
func (s *Store) ListGroups(ctx context.Context) ([]store.Group, error) {
	var groups sqlstore.GroupSet
	err := s.readSteps(ctx, "list groups", func(b *pgx.Batch) {
		groups = sqlstore.GroupSet{}
		b.Queue(`SELECT id, name, created FROM groups ORDER BY name`).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				id, g, err := codec.ScanGroup(rows)
				if err != nil {
					return err
				}
				groups.Add(id, g)
			}
			return rows.Err()
		})
		b.Queue(`SELECT ug.group_id, u.name FROM user_groups ug JOIN users u ON u.id = ug.user_id ORDER BY u.name`).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var (
					id int64
					m  string
				)
				if err := rows.Scan(&id, &m); err != nil {
					return err
				}
				groups.AddMember(id, m)
			}
			return rows.Err()
		})
	})
	return groups.Groups(), err
}

// UpdateGroup implements store.Groups.
func (s *Store) UpdateGroup(ctx context.Context, name string, upd store.GroupUpdate) (store.Group, error) {
	if err := sqlstore.ValidateGroupUpdate(name, upd); err != nil {
		return store.Group{}, err
	}
	var g store.Group
	err := s.write(ctx, "update group", func(q querier) error {
		var gid int64
		err := q.QueryRow(ctx, `SELECT id FROM groups WHERE name = $1`, name).Scan(&gid)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.NotFound("group", name)
		}
		if err != nil {
			return err
		}
		add, err := userIDs(ctx, q, upd.Add)
		if err != nil {
			return err
		}
		remove, err := userIDs(ctx, q, upd.Remove)
		if err != nil {
			return err
		}
		b := &pgx.Batch{}
		if len(add) > 0 {
			b.Queue(`INSERT INTO user_groups (user_id, group_id) SELECT unnest($1::bigint[]), $2 ON CONFLICT DO NOTHING`, add, gid)
		}
		if len(remove) > 0 {
			b.Queue(`DELETE FROM user_groups WHERE group_id = $1 AND user_id = ANY($2)`, gid, remove)
		}
		if b.Len() > 0 {
			if err := q.SendBatch(ctx, b).Close(); err != nil {
				return err
			}
		}
		b = &pgx.Batch{}
		queueGetGroup(b, name, &g)
		return q.SendBatch(ctx, b).Close()
	})
	return g, err
}

// userIDs resolves names to IDs in one query, or returns ErrNotFound for
// the first name (in the order given) that is no user.
func userIDs(ctx context.Context, q querier, names []string) ([]int64, error) {
	if len(names) == 0 {
		return nil, nil
	}
	rows, err := q.Query(ctx, `SELECT name, id FROM users WHERE name = ANY($1::text[])`, names)
	if err != nil {
		return nil, err
	}
	found := map[string]int64{}
	for rows.Next() {
		var (
			n  string
			id int64
		)
		if err := rows.Scan(&n, &id); err != nil {
			rows.Close()
			return nil, err
		}
		found[n] = id
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	ids := make([]int64, 0, len(names))
	for _, n := range names {
		id, ok := found[n]
		if !ok {
			return nil, store.NotFound("user", n)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// DeleteGroup implements store.Groups.
func (s *Store) DeleteGroup(ctx context.Context, name string) error {
	if err := store.ValidateName("group", name); err != nil {
		return err
	}
	return s.singleWrite(ctx, "delete group", func(q querier) error {
		tag, err := q.Exec(ctx, `DELETE FROM groups WHERE name = $1`, name)
		if err == nil && tag.RowsAffected() == 0 {
			return store.NotFound("group", name)
		}
		return err
	})
}
