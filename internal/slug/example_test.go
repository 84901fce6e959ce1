package slug_test

import (
	"fmt"

	"github.com/hubkit/hubkit/internal/slug"
)

func ExampleSafeObject() {
	for _, name := range []string{"alex", "Alex", "user@email.com", "9z9", "username--servername", ""} {
		fmt.Printf("%q -> %s\n", name, slug.SafeObject(name))
	}
	// Output:
	// "alex" -> alex
	// "Alex" -> alex---db74c940
	// "user@email.com" -> user-email-com---0925f997
	// "9z9" -> x-9z9---224de202
	// "username--servername" -> username-servername---d957f1de
	// "" -> x---e3b0c442
}

func ExampleSafeLabel() {
	// Label values keep their case when they are already valid.
	fmt.Println(slug.SafeLabel("AbC"))
	fmt.Println(slug.SafeLabel("AbC."))
	fmt.Println(slug.SafeLabel("ab.c"))
	// Output:
	// AbC
	// abc---dbe8c5d1
	// ab.c
}

func ExampleFor() {
	n := slug.For("user@email.com", "Some Name", slug.SchemeSafe)
	fmt.Println(n.SafeUsername)
	fmt.Println(n.SafeServername)
	fmt.Println(n.UserServer)
	fmt.Println(n.EscapedUserServer)

	// Too long to join: one hash over both names.
	fmt.Println(slug.For("user@email.com", "a-really-long-server-name-for-testing", slug.SchemeSafe).UserServer)
	// Output:
	// user-email-com---0925f997
	// some-name---3a8b1764
	// user-email-com---0925f997--some-name---3a8b1764
	// user-40email-2ecom---53ome-20-4eame
	// user-email-com--a-really-long-ser---52337059
}

func ExampleExpand() {
	n := slug.For("Alex", "", slug.SchemeSafe)
	pod, _ := slug.Expand("jupyter-{user_server}", n, nil)
	// The trailing "--" of an empty server name is stripped.
	pvc, _ := slug.Expand("claim-{username}--{servername}", n, nil)
	ns, _ := slug.Expand("{hubnamespace}-{username}", n, map[string]string{"hubnamespace": "jhub"})
	_, err := slug.Expand("jupyter-{user}", n, nil)
	fmt.Println(pod)
	fmt.Println(pvc)
	fmt.Println(ns)
	fmt.Println(err)
	// Output:
	// jupyter-alex---db74c940
	// claim-alex---db74c940
	// jhub-alex---db74c940
	// slug: template "jupyter-{user}": unknown key "user"
}

func ExampleEscape() {
	fmt.Println(slug.Escape("user@email.com"))
	fmt.Println(slug.Escape("Alex"))
	fmt.Println(slug.Escape("a\nb")) // hex digits are not zero-padded
	// Output:
	// user-40email-2ecom
	// -41lex
	// a-ab
}

func ExampleMulti() {
	fmt.Println(slug.Multi([]string{"user@email.com", "Some Name"}, 48))
	// Output:
	// user-email-com--some-name---0c1fe94b
}
