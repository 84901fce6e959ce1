package header_test

import (
	"fmt"
	"log"

	"github.com/hubkit/hubkit/authenticator"
	"github.com/hubkit/hubkit/authenticator/header"
)

// Seed 004's platform sits behind Cloudflare Access.
func ExampleCloudflareAccess() {
	o := header.CloudflareAccess("254carbon", "4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2")
	o.Rules = authenticator.Rules{AllowAll: true, AdminUsers: []string{"admin@254carbon.com"}}
	a, err := header.New(o)
	if err != nil {
		log.Fatal(err)
	}
	var _ authenticator.RequestAuthenticator = a
	fmt.Println(o.Header, o.Issuer, o.CertsURL)
	// Output: Cf-Access-Jwt-Assertion https://254carbon.cloudflareaccess.com https://254carbon.cloudflareaccess.com/cdn-cgi/access/certs
}
