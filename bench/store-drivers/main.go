// Command store-drivers compares the two pure-Go SQLite drivers the
// store could use, on the store's workload: bulk insert of 50,000 users
// with servers, reopen and the start-up query, pages of the user list, and
// concurrent reads and writes (one shared pool vs. a writer and a read
// pool). It is its own module so that the hub's go.mod carries only the
// chosen driver. Run: cd bench/store-drivers && go run . -driver sqlite
// (modernc.org/sqlite) and go run . -driver sqlite3 (ncruces).
// Results: bench/README.md ("The hub's state store").
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	_ "github.com/ncruces/go-sqlite3/driver"
	_ "modernc.org/sqlite"
)

func main() {
	drv := flag.String("driver", "sqlite", "")
	n := flag.Int("n", 50000, "")
	flag.Parse()
	dir, _ := os.MkdirTemp("", "drv")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "x.db")
	// Both drivers accept the same DSN parameters.
	dsn := "file:" + path + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	ctx := context.Background()
	t0 := time.Now()
	db, err := sql.Open(*drv, dsn)
	must(err)
	must(db.Ping())
	fmt.Println("open", time.Since(t0))
	_, err = db.Exec(`CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, created INTEGER NOT NULL, admin INTEGER NOT NULL DEFAULT 0, last_activity INTEGER);
CREATE TABLE servers(id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE, name TEXT NOT NULL, state TEXT NOT NULL DEFAULT '{}', url TEXT NOT NULL DEFAULT '', started INTEGER, pending TEXT NOT NULL DEFAULT '', UNIQUE(user_id,name));
CREATE INDEX servers_active ON servers(user_id) WHERE started IS NOT NULL OR pending <> '';`)
	must(err)
	t0 = time.Now()
	tx, err := db.BeginTx(ctx, nil)
	must(err)
	iu, _ := tx.Prepare(`INSERT INTO users(name, created, last_activity) VALUES (?,?,?) RETURNING id`)
	is, _ := tx.Prepare(`INSERT INTO servers(user_id,name,state,url,started) VALUES (?,?,?,?,?)`)
	now := time.Now().UnixMicro()
	for i := 0; i < *n; i++ {
		var id int64
		must(iu.QueryRow(fmt.Sprintf("user%06d", i), now, now).Scan(&id))
		var started any
		url := ""
		if i%10 == 0 {
			started = now
			url = "http://10.0.0.1:8888"
		}
		_, err = is.Exec(id, "", `{"pvc_name":"claim-x","namespace":"jhub"}`, url, started)
		must(err)
	}
	must(tx.Commit())
	fmt.Println("insert", *n, time.Since(t0))
	db.Close()

	t0 = time.Now()
	db, err = sql.Open(*drv, dsn)
	must(err)
	must(db.Ping())
	var c int
	must(db.QueryRow(`SELECT count(*) FROM users`).Scan(&c))
	rows, err := db.Query(`SELECT u.name, s.name, s.state, s.url, s.started FROM servers s JOIN users u ON u.id = s.user_id WHERE s.started IS NOT NULL OR s.pending <> ''`)
	must(err)
	k := 0
	for rows.Next() {
		var a, b, st, url string
		var started sql.NullInt64
		must(rows.Scan(&a, &b, &st, &url, &started))
		k++
	}
	rows.Close()
	fmt.Println("reopen+startup", time.Since(t0), c, k)

	t0 = time.Now()
	for j := 0; j < 100; j++ {
		rows, err := db.Query(`SELECT id, name, admin FROM users ORDER BY name LIMIT 100 OFFSET ?`, j*400)
		must(err)
		for rows.Next() {
		}
		rows.Close()
	}
	fmt.Println("100 pages", time.Since(t0)/100)
	t0 = time.Now()
	for j := 0; j < 20; j++ {
		rows, err := db.Query(`SELECT id, name FROM users u WHERE EXISTS (SELECT 1 FROM servers s WHERE s.user_id=u.id AND (s.started IS NOT NULL OR s.pending <> '')) ORDER BY name LIMIT 100 OFFSET ?`, j*100)
		must(err)
		for rows.Next() {
		}
		rows.Close()
		must(db.QueryRow(`SELECT count(*) FROM users u WHERE EXISTS (SELECT 1 FROM servers s WHERE s.user_id=u.id AND (s.started IS NOT NULL OR s.pending <> ''))`).Scan(&c))
	}
	fmt.Println("active page+count", time.Since(t0)/20, c)

	// concurrency: 1 writer conn + pool readers vs shared pool
	for _, mode := range []string{"pool", "split"} {
		w, _ := sql.Open(*drv, dsn)
		r := w
		if mode == "split" {
			w.SetMaxOpenConns(1)
			r, _ = sql.Open(*drv, dsn)
			r.SetMaxOpenConns(4)
		} else {
			w.SetMaxOpenConns(5)
		}
		t0 = time.Now()
		var wg sync.WaitGroup
		var errs int
		var mu sync.Mutex
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				for j := 0; j < 500; j++ {
					var name string
					if err := r.QueryRow(`SELECT name FROM users WHERE name=?`, fmt.Sprintf("user%06d", (g*500+j)%*n)).Scan(&name); err != nil {
						mu.Lock()
						errs++
						mu.Unlock()
					}
				}
			}(g)
		}
		for g := 0; g < 2; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				for j := 0; j < 200; j++ {
					tx, err := w.Begin()
					if err != nil {
						mu.Lock()
						errs++
						mu.Unlock()
						continue
					}
					_, err = tx.Exec(`UPDATE users SET last_activity=? WHERE name=?`, time.Now().UnixMicro(), fmt.Sprintf("user%06d", j))
					if err != nil {
						mu.Lock()
						errs++
						mu.Unlock()
					}
					if err := tx.Commit(); err != nil {
						mu.Lock()
						errs++
						mu.Unlock()
					}
				}
			}(g)
		}
		wg.Wait()
		fmt.Println("concurrent", mode, time.Since(t0), "errs", errs)
		w.Close()
		if r != w {
			r.Close()
		}
	}
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}
