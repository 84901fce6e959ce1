package sqlstore

import (
	"strings"

	"github.com/hubkit/hubkit/internal/hub/store"
)

// UserFilter is one backend's SQL for the filters of a store.UserQuery:
// conditions on the users table, aliased u.
type UserFilter struct {
	// Active, Ready and Inactive are the conditions of the state filters
	// (store.UserActive, …).
	Active, Ready, Inactive string
	// NameContains is the condition of the name filter, with one
	// placeholder for a LIKE pattern whose escape character is \.
	NameContains string
}

// Where returns the WHERE clause (with a leading space; "" when q selects
// every user) for q's filters, and its arguments.
func (f UserFilter) Where(q store.UserQuery) (string, []any) {
	var conds []string
	var args []any
	switch q.State {
	case store.UserActive:
		conds = append(conds, f.Active)
	case store.UserReady:
		conds = append(conds, f.Ready)
	case store.UserInactive:
		conds = append(conds, f.Inactive)
	}
	if q.NameContains != "" {
		conds = append(conds, f.NameContains)
		args = append(args, "%"+likeEscaper.Replace(q.NameContains)+"%")
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// PageTotal returns the total of a paginated listing (what CountUsers
// returns for q) when a page of n users that q selected tells it: when the
// page is neither empty nor full, it is the last one, and the total is
// q.Offset + n. ok is false when the total must be counted.
func PageTotal(q store.UserQuery, n int) (total int, ok bool) {
	if n == 0 || (q.Limit > 0 && n >= q.Limit) {
		return 0, false
	}
	return q.Offset + n, true
}
