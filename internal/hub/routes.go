package hub

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// routesMux is the hub's own handler: everything under BaseURL+"hub/",
// and a redirect from BaseURL to the home page.
func (h *Hub) routesMux() *http.ServeMux {
	mux := http.NewServeMux()
	p := h.prefix
	api := p + "api/"
	handle := func(pattern string, hd http.Handler) { mux.Handle(pattern, hd) }

	// REST API.
	handle("GET "+api+"{$}", http.HandlerFunc(h.apiRoot))
	handle("GET "+api+"info", h.api(h.apiInfo))
	handle("GET "+api+"user", h.api(h.apiSelf))
	handle("GET "+api+"users", h.api(h.apiListUsers))
	handle("POST "+api+"users", h.api(h.apiCreateUsers))
	handle("GET "+api+"users/{name}", h.api(h.apiGetUser))
	handle("POST "+api+"users/{name}", h.api(h.apiCreateUser))
	handle("PATCH "+api+"users/{name}", h.api(h.apiPatchUser))
	handle("DELETE "+api+"users/{name}", h.api(h.apiDeleteUser))
	for _, s := range []string{"server", "servers/{server}"} {
		handle("POST "+api+"users/{name}/"+s, h.api(h.apiStartServer))
		handle("DELETE "+api+"users/{name}/"+s, h.api(h.apiStopServer))
		handle("GET "+api+"users/{name}/"+s+"/progress", h.api(h.apiProgress))
	}
	handle("POST "+api+"users/{name}/activity", h.api(h.apiActivity))
	handle("GET "+api+"users/{name}/tokens", h.api(h.apiListTokens))
	handle("POST "+api+"users/{name}/tokens", h.api(h.apiCreateToken))
	handle("GET "+api+"users/{name}/tokens/{id}", h.api(h.apiGetToken))
	handle("DELETE "+api+"users/{name}/tokens/{id}", h.api(h.apiDeleteToken))
	handle(api+"oauth2/authorize", http.HandlerFunc(h.oauthAuthorize))
	handle("POST "+api+"oauth2/token", http.HandlerFunc(h.oauthToken))
	handle(api, h.api(func(w http.ResponseWriter, r *http.Request, _ *principal) {
		writeError(w, errorf(http.StatusNotFound, "no such API endpoint"))
	}))

	// Health and metrics.
	handle("GET "+p+"health", http.HandlerFunc(h.health))
	handle("GET "+p+"metrics", h.metricsHandler(promhttp.HandlerFor(h.cfg.Gatherer, promhttp.HandlerOpts{})))

	// Login.
	handle("GET "+p+"login", http.HandlerFunc(h.login))
	handle(p+"oauth_callback", http.HandlerFunc(h.callback))
	handle(p+"logout", http.HandlerFunc(h.logout))

	// Pages.
	handle("GET "+p+"static/", h.pages.Static())
	handle("GET "+p+"{$}", http.RedirectHandler(p+"home", http.StatusFound))
	handle("GET "+p+"home", h.page(h.home))
	for _, s := range []string{"spawn", "spawn/{user}", "spawn/{user}/{server}"} {
		handle("GET "+p+s, h.page(h.spawnForm))
		handle("POST "+p+s, h.page(h.spawnPost))
	}
	handle("GET "+p+"spawn-pending/{user}", h.page(h.spawnPending))
	handle("GET "+p+"spawn-pending/{user}/{server}", h.page(h.spawnPending))
	handle("POST "+p+"stop/{user}", h.page(h.stopPost))
	handle("POST "+p+"stop/{user}/{server}", h.page(h.stopPost))
	handle("POST "+p+"remove/{user}/{server}", h.page(h.removePost))
	handle("GET "+p+"user/", h.page(h.userRedirect))
	handle("GET "+p+"admin", h.page(h.adminPage))
	handle("POST "+p+"admin/users", h.page(h.adminAddUsers))
	handle("POST "+p+"admin/users/{name}/delete", h.page(h.adminDeleteUser))
	handle("GET "+p+"token", h.page(h.tokenPage))
	handle("POST "+p+"token", h.page(h.tokenPost))
	handle("POST "+p+"token/{id}/revoke", h.page(h.tokenRevoke))
	if h.cfg.BaseURL != p {
		handle("GET "+h.cfg.BaseURL+"{$}", http.RedirectHandler(p+"home", http.StatusFound))
	}
	return mux
}
