# hubkit — `make test` installs what the tests need (on a fresh machine it
# builds the envtest binaries from the Go module proxy and installs Debian's
# jupyterhub) and runs every test with the race detector.

GO ?= go

.PHONY: test deps lint vet fmt verify vulncheck bench-spawn

test: deps lint
	KUBEBUILDER_ASSETS="$$(hack/envtest.sh)" $(GO) test -race -count=1 ./...

deps:
	hack/envtest.sh >/dev/null
	hack/install-jupyterhub.sh
	hack/install-postgres.sh
	hack/install-chromium.sh
	hack/install-chp.sh >/dev/null
	hack/install-oidc-provider.sh >/dev/null
	hack/vault.sh >/dev/null

lint: fmt vet verify

fmt:
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# The module cache holds exactly what go.sum names.
verify:
	$(GO) mod verify

# Known vulnerabilities in the dependencies and the standard library, from
# the Go vulnerability database (needs vuln.go.dev; run it where that is
# reachable — CI here cannot).
vulncheck:
	$(GO) run golang.org/x/vuln/cmd/govulncheck@latest ./...
