package ui

import (
	"net/url"
	"strconv"
)

// pagination is what the admin page shows about its place among all
// matching users.
type pagination struct {
	From, To, Total int    // users From…To (1-based) of Total; From is 0 on an empty page
	Prev, Next      string // links to the previous and next pages; "" when there is none
}

// paging computes the pagination of d. Links are only made when d.Limit
// is set.
func (u *UI) paging(d AdminData) pagination {
	p := pagination{Total: d.Total, To: d.Offset + len(d.Users)}
	if len(d.Users) > 0 {
		p.From = d.Offset + 1
	}
	if p.Total < p.To {
		p.Total = p.To
	}
	if d.Limit <= 0 {
		return p
	}
	if d.Offset > 0 {
		p.Prev = u.adminURL(max(0, d.Offset-d.Limit), d.Limit, d.NameFilter)
	}
	if d.Offset+d.Limit < d.Total {
		p.Next = u.adminURL(d.Offset+d.Limit, d.Limit, d.NameFilter)
	}
	return p
}

// adminURL is admin?offset=…&limit=…[&name_filter=…].
func (u *UI) adminURL(offset, limit int, nameFilter string) string {
	s := u.opts.BaseURL + "admin?offset=" + strconv.Itoa(offset) + "&limit=" + strconv.Itoa(limit)
	if nameFilter != "" {
		s += "&name_filter=" + url.QueryEscape(nameFilter)
	}
	return s
}
