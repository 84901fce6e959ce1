package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strconv"

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
	err = s.write(ctx, "create user", func(tx *cachedTx) error {
		var id int64
		err := tx.QueryRowContext(ctx, `INSERT INTO users (name, admin, created) VALUES (?, ?, ?) RETURNING id`,
			u.Name, u.Admin, micros(u.Created)).Scan(&id)
		if isUnique(err) {
			return store.Conflict("user %q exists", u.Name)
		}
		if err != nil {
			return err
		}
		if err := s.setGroups(ctx, tx, id, u.Groups); err != nil {
			return err
		}
		out, err = getUser(ctx, tx, u.Name)
		return err
	})
	return out, err
}

// setGroups replaces the memberships of user id with groups, creating
// missing groups.
func (s *Store) setGroups(ctx context.Context, tx queryer, id int64, groups []string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM user_groups WHERE user_id = ?`, id); err != nil {
		return err
	}
	now := micros(s.now())
	for _, g := range groups {
		if _, err := tx.ExecContext(ctx, `INSERT INTO groups (name, created) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, g, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO user_groups (user_id, group_id) SELECT ?, id FROM groups WHERE name = ?`, id, g); err != nil {
			return err
		}
	}
	return nil
}

// GetUser implements store.Users.
func (s *Store) GetUser(ctx context.Context, name string) (store.User, error) {
	if err := store.ValidateName("user", name); err != nil {
		return store.User{}, err
	}
	var u store.User
	err := s.read(ctx, "get user", func(tx queryer) error {
		var err error
		u, err = getUser(ctx, tx, name)
		return err
	})
	return u, err
}

// userCols are the columns of codec.ScanUser.
const userCols = `u.id, u.name, u.admin, u.created, u.last_activity`

func getUser(ctx context.Context, q queryer, name string) (store.User, error) {
	id, u, err := codec.ScanUser(q.QueryRowContext(ctx, `SELECT `+userCols+` FROM users u WHERE u.name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return store.User{}, store.NotFound("user", name)
	}
	if err != nil {
		return store.User{}, err
	}
	var users sqlstore.UserSet
	users.Add(id, u)
	if err := fillUsers(ctx, q, &users); err != nil {
		return store.User{}, err
	}
	return users.Users()[0], nil
}

// fillUsers loads the groups and servers of users in two queries,
// whatever their number: the users' IDs are one argument, a JSON array,
// so that the query texts are fixed (and prepared once; see stmtCache).
// Rows come ordered by user ID first, which is the order of the indexes
// they are read by: SQLite sorts only each user's few groups, and no
// servers.
func fillUsers(ctx context.Context, q queryer, users *sqlstore.UserSet) error {
	ids := users.IDs()
	if len(ids) == 0 {
		return nil
	}
	in := idArray(ids)
	rows, err := q.QueryContext(ctx, `SELECT ug.user_id, g.name FROM user_groups ug JOIN groups g ON g.id = ug.group_id
WHERE ug.user_id IN (SELECT value FROM json_each(?)) ORDER BY ug.user_id, g.name`, in)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id int64
		var g string
		if err := rows.Scan(&id, &g); err != nil {
			rows.Close()
			return err
		}
		users.AddGroup(id, g)
	}
	if err := closeRows(rows); err != nil {
		return err
	}
	rows, err = q.QueryContext(ctx, `SELECT s.user_id, `+serverCols+` FROM servers s
WHERE s.user_id IN (SELECT value FROM json_each(?)) ORDER BY s.user_id, s.name`, in)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id int64
		srv, err := codec.ScanServer(rows, &id)
		if err != nil {
			rows.Close()
			return err
		}
		users.AddServer(id, srv)
	}
	return closeRows(rows)
}

func closeRows(rows *sql.Rows) error {
	err := rows.Err()
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	return err
}

// idArray returns ids as a JSON array, for json_each.
func idArray(ids []int64) string {
	b := make([]byte, 0, 2+len(ids)*8)
	b = append(b, '[')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(append(b, ']'))
}

// UpdateUser implements store.Users.
func (s *Store) UpdateUser(ctx context.Context, name string, upd store.UserUpdate) (store.User, error) {
	groups, err := sqlstore.ValidateUserUpdate(name, upd)
	if err != nil {
		return store.User{}, err
	}
	var out store.User
	err = s.write(ctx, "update user", func(tx *cachedTx) error {
		id, err := userID(ctx, tx, name)
		if err != nil {
			return err
		}
		if upd.Name != nil && *upd.Name != name {
			_, err := tx.ExecContext(ctx, `UPDATE users SET name = ? WHERE id = ?`, *upd.Name, id)
			if isUnique(err) {
				return store.Conflict("user %q exists", *upd.Name)
			}
			if err != nil {
				return err
			}
			name = *upd.Name
		}
		if upd.Admin != nil {
			if _, err := tx.ExecContext(ctx, `UPDATE users SET admin = ? WHERE id = ?`, *upd.Admin, id); err != nil {
				return err
			}
		}
		if upd.Groups != nil {
			if err := s.setGroups(ctx, tx, id, groups); err != nil {
				return err
			}
		}
		out, err = getUser(ctx, tx, name)
		return err
	})
	return out, err
}

func userID(ctx context.Context, q queryer, name string) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM users WHERE name = ?`, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, store.NotFound("user", name)
	}
	return id, err
}

// DeleteUser implements store.Users.
func (s *Store) DeleteUser(ctx context.Context, name string) error {
	if err := store.ValidateName("user", name); err != nil {
		return err
	}
	return s.write(ctx, "delete user", func(tx *cachedTx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM users WHERE name = ?`, name)
		return notFoundIfNone(res, err, "user", name)
	})
}

func notFoundIfNone(res sql.Result, err error, kind, name string) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.NotFound(kind, name)
	}
	return nil
}

// Conditions on users u for the state filters. Each subquery begins with
// the servers_active index's condition, so that SQLite reads only that
// small covering index (one entry per active server) once per query,
// rather than probing the servers of every user (measured in
// bench/README.md ("The hub's state store"): 3× faster at 50k users).
const activeUserIDs = `SELECT s.user_id FROM servers s WHERE (s.url <> '' OR s.pending <> '')`

var userFilter = sqlstore.UserFilter{
	Active:   `u.id IN (` + activeUserIDs + `)`,
	Ready:    `u.id IN (` + activeUserIDs + ` AND s.url <> '' AND s.pending = '')`,
	Inactive: `u.id NOT IN (` + activeUserIDs + `)`,
	// LIKE folds ASCII letters only, which is the contract.
	NameContains: `u.name LIKE ? ESCAPE '\'`,
}

// ListUsers implements store.Users.
func (s *Store) ListUsers(ctx context.Context, q store.UserQuery) ([]store.User, error) {
	if err := store.ValidateUserQuery(q); err != nil {
		return nil, err
	}
	var users []store.User
	err := s.read(ctx, "list users", func(tx queryer) error {
		var err error
		users, err = listUsers(ctx, tx, q)
		return err
	})
	if err != nil {
		return nil, err
	}
	return users, nil
}

// CountUsers implements store.Users.
func (s *Store) CountUsers(ctx context.Context, q store.UserQuery) (int, error) {
	if err := store.ValidateUserQuery(q); err != nil {
		return 0, err
	}
	var n int
	err := s.read(ctx, "count users", func(tx queryer) error {
		var err error
		n, err = countUsers(ctx, tx, q)
		return err
	})
	return n, err
}

// ListUsersPage implements store.Users: ListUsers and CountUsers in one
// read transaction. When the page tells the total (sqlstore.PageTotal),
// the count is not run.
func (s *Store) ListUsersPage(ctx context.Context, q store.UserQuery) ([]store.User, int, error) {
	if err := store.ValidateUserQuery(q); err != nil {
		return nil, 0, err
	}
	var (
		users []store.User
		n     int
	)
	err := s.read(ctx, "list users", func(tx queryer) error {
		var err error
		if users, err = listUsers(ctx, tx, q); err != nil {
			return err
		}
		var ok bool
		if n, ok = sqlstore.PageTotal(q, len(users)); ok {
			return nil
		}
		n, err = countUsers(ctx, tx, q)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	return users, n, nil
}

// listUsers reads the users that q selects, with their groups and
// servers.
func listUsers(ctx context.Context, tx queryer, q store.UserQuery) ([]store.User, error) {
	where, args := userFilter.Where(q)
	limit := q.Limit
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	args = append(args, limit, q.Offset)
	rows, err := tx.QueryContext(ctx, `SELECT `+userCols+` FROM users u`+where+` ORDER BY u.name LIMIT ? OFFSET ?`, args...)
	if err != nil {
		return nil, err
	}
	var users sqlstore.UserSet
	for rows.Next() {
		id, u, err := codec.ScanUser(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		users.Add(id, u)
	}
	if err := closeRows(rows); err != nil {
		return nil, err
	}
	if err := fillUsers(ctx, tx, &users); err != nil {
		return nil, err
	}
	return users.Users(), nil
}

// countUsers counts the users that q selects, ignoring its Offset and
// Limit.
func countUsers(ctx context.Context, tx queryer, q store.UserQuery) (int, error) {
	where, args := userFilter.Where(q)
	var n int
	err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users u`+where, args...).Scan(&n)
	return n, err
}

// AuthState implements store.AuthStates.
func (s *Store) AuthState(ctx context.Context, user string) ([]byte, error) {
	if err := store.ValidateName("user", user); err != nil {
		return nil, err
	}
	var b []byte
	err := s.read(ctx, "get auth state", func(tx queryer) error {
		id, err := userID(ctx, tx, user)
		if err != nil {
			return err
		}
		err = tx.QueryRowContext(ctx, `SELECT state FROM user_auth_states WHERE user_id = ?`, id).Scan(&b)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
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
	return s.write(ctx, "set auth state", func(tx *cachedTx) error {
		id, err := userID(ctx, tx, user)
		if err != nil {
			return err
		}
		if len(state) == 0 {
			_, err = tx.ExecContext(ctx, `DELETE FROM user_auth_states WHERE user_id = ?`, id)
		} else {
			_, err = tx.ExecContext(ctx, `INSERT INTO user_auth_states (user_id, state) VALUES (?, ?)
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
	err := s.write(ctx, "create group", func(tx *cachedTx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO groups (name, created) VALUES (?, ?)`, name, micros(g.Created))
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

// GetGroup implements store.Groups.
func (s *Store) GetGroup(ctx context.Context, name string) (store.Group, error) {
	if err := store.ValidateName("group", name); err != nil {
		return store.Group{}, err
	}
	var g store.Group
	err := s.read(ctx, "get group", func(tx queryer) error {
		var err error
		g, err = getGroup(ctx, tx, name)
		return err
	})
	return g, err
}

func getGroup(ctx context.Context, q queryer, name string) (store.Group, error) {
	var (
		id      int64
		created any
	)
	err := q.QueryRowContext(ctx, `SELECT id, created FROM groups WHERE name = ?`, name).Scan(&id, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Group{}, store.NotFound("group", name)
	}
	if err != nil {
		return store.Group{}, err
	}
	g := store.Group{Name: name, Created: fromMicros(created)}
	rows, err := q.QueryContext(ctx, `SELECT u.name FROM user_groups ug JOIN users u ON u.id = ug.user_id
WHERE ug.group_id = ? ORDER BY u.name`, id)
	if err != nil {
		return store.Group{}, err
	}
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			rows.Close()
			return store.Group{}, err
		}
		g.Members = append(g.Members, m)
	}
	return g, closeRows(rows)
}

// ListGroups implements store.Groups.
func (s *Store) ListGroups(ctx context.Context) ([]store.Group, error) {
	var groups sqlstore.GroupSet
	err := s.read(ctx, "list groups", func(tx queryer) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, name, created FROM groups ORDER BY name`)
		if err != nil {
			return err
		}
		for rows.Next() {
			id, g, err := codec.ScanGroup(rows)
			if err != nil {
				rows.Close()
				return err
			}
			groups.Add(id, g)
		}
		if err := closeRows(rows); err != nil {
			return err
		}
		rows, err = tx.QueryContext(ctx, `SELECT ug.group_id, u.name FROM user_groups ug JOIN users u ON u.id = ug.user_id ORDER BY u.name`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var (
				id int64
				m  string
			)
			if err := rows.Scan(&id, &m); err != nil {
				rows.Close()
				return err
			}
			groups.AddMember(id, m)
		}
		return closeRows(rows)
	})
	return groups.Groups(), err
}

// UpdateGroup implements store.Groups.
func (s *Store) UpdateGroup(ctx context.Context, name string, upd store.GroupUpdate) (store.Group, error) {
	if err := sqlstore.ValidateGroupUpdate(name, upd); err != nil {
		return store.Group{}, err
	}
	var g store.Group
	err := s.write(ctx, "update group", func(tx *cachedTx) error {
		var gid int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM groups WHERE name = ?`, name).Scan(&gid)
		if errors.Is(err, sql.ErrNoRows) {
			return store.NotFound("group", name)
		}
		if err != nil {
			return err
		}
		for _, u := range upd.Add {
			uid, err := userID(ctx, tx, u)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO user_groups (user_id, group_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, uid, gid); err != nil {
				return err
			}
		}
		for _, u := range upd.Remove {
			uid, err := userID(ctx, tx, u)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM user_groups WHERE user_id = ? AND group_id = ?`, uid, gid); err != nil {
				return err
			}
		}
		g, err = getGroup(ctx, tx, name)
		return err
	})
	return g, err
}

// DeleteGroup implements store.Groups.
func (s *Store) DeleteGroup(ctx context.Context, name string) error {
	if err := store.ValidateName("group", name); err != nil {
		return err
	}
	return s.write(ctx, "delete group", func(tx *cachedTx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM groups WHERE name = ?`, name)
		return notFoundIfNone(res, err, "group", name)
	})
}
