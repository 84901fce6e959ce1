// A real OpenID provider for hubkit's tests: npm's oidc-provider (panva's,
// OpenID Certified) configured to look like a Keycloak realm.
//
//   node provider.js CONFIG.json        (or HUBKIT_OIDC_CONFIG=CONFIG.json)
//
// It listens on 127.0.0.1 (port 0 picks a free one), then prints one JSON
// line {"issuer": ..., "port": ...} on stdout when it is ready. It serves
// Keycloak's paths under /realms/<realm>/:
//
//   .well-known/openid-configuration, protocol/openid-connect/{auth,token,
//   userinfo,certs,logout,revoke,token/introspect}, and a login page of its
//   own at login-actions/<uid> (username + password form; consent is granted
//   without asking, as Keycloak does for a client without "consent required").
//
// The ID token and userinfo carry preferred_username, email, groups (with the
// leading "/" of Keycloak's group mapper), realm_access.roles and
// resource_access.<client>.roles, taken from each user's "claims" in the
// config. Refresh tokens are issued for every code grant (as Keycloak does)
// and end with the provider session, so RP-initiated logout kills them.
//
// Config (JSON):
//   realm            realm name (default "hubkit")
//   port             port to listen on (default 0: any free port)
//   clients          [{client_id, client_secret, redirect_uris, post_logout_redirect_uris}]
//   users            [{username, password, sub?, claims: {...}}]
//   ttl              seconds: {AccessToken, IdToken, RefreshToken, AuthorizationCode, Session, Interaction, Grant}
//   requirePKCE      require PKCE (S256) from every client (default true)
//   rotateRefreshToken  issue a new refresh token on every refresh (default true)
//
// Test-only control endpoints (never part of a real provider):
//   POST /__hubkit/clock {"advance": seconds}   moves this process's clock
//   GET  /__hubkit/clock                        {"offset": seconds}
//   GET  /__hubkit/events                       what the provider did (logouts, refreshes, grants)
// Moving the clock lets a test expire tokens without sleeping: every Date in
// the provider (token iat/exp, cookie and artifact expiry) follows it.

import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { createHash, generateKeyPairSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// ---- a movable clock, installed before oidc-provider is loaded ----
const RealDate = Date;
let clockOffsetMs = 0;
class ShiftedDate extends RealDate {
  constructor(...args) {
    if (args.length === 0) super(RealDate.now() + clockOffsetMs);
    else super(...args);
  }
  static now() { return RealDate.now() + clockOffsetMs; }
}
globalThis.Date = ShiftedDate;

// ---- configuration ----
const configPath = process.argv[2] || process.env.HUBKIT_OIDC_CONFIG;
if (!configPath) {
  console.error('usage: node provider.js CONFIG.json');
  process.exit(2);
}
const cfg = JSON.parse(readFileSync(configPath, 'utf8'));
const realm = cfg.realm || 'hubkit';
const realmPath = `/realms/${encodeURIComponent(realm)}`;
const users = (cfg.users || []).map((u) => ({
  ...u,
  sub: u.sub || uuidFrom(`${realm}/${u.username}`),
  claims: u.claims || {},
}));
const bySub = new Map(users.map((u) => [u.sub, u]));
const byName = new Map(users.map((u) => [u.username, u]));
const events = [];

function uuidFrom(s) {
  const h = createHash('sha256').update(s).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

// oidc-provider is installed by hack/install-oidc-provider.sh into a cache
// directory; HUBKIT_OIDC_PROVIDER_MODULES names its node_modules (default:
// the node_modules beside this file).
const here = dirname(fileURLToPath(import.meta.url));
const modules = process.env.HUBKIT_OIDC_PROVIDER_MODULES || join(here, 'node_modules');
const entry = createRequire(join(modules, 'noop.js')).resolve('oidc-provider');
const { default: Provider, errors } = await import(pathToFileURL(entry).href);

// Claims released per scope. Keycloak's default client scopes put groups and
// roles in every token; "openid" plays that part here.
const profileClaims = ['preferred_username', 'name', 'given_name', 'family_name'];
const emailClaims = ['email', 'email_verified'];
const extra = new Set(['groups', 'realm_access', 'resource_access']);
for (const u of users) {
  for (const k of Object.keys(u.claims)) {
    if (!profileClaims.includes(k) && !emailClaims.includes(k) && k !== 'sub') extra.add(k);
  }
}

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: randomBytes(8).toString('hex'), use: 'sig', alg: 'RS256' };

const ttl = { AccessToken: 300, IdToken: 300, RefreshToken: 3600, AuthorizationCode: 60, Session: 3600, Interaction: 600, Grant: 3600, ...(cfg.ttl || {}) };

// ---- listen first: the issuer carries the port ----
const server = createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(cfg.port || 0, '127.0.0.1', resolve);
});
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}${realmPath}`;

const provider = new Provider(issuer, {
  clients: (cfg.clients || []).map((c) => ({
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    ...c,
  })),
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  claims: {
    openid: ['sub', ...extra],
    profile: profileClaims,
    email: emailClaims,
  },
  scopes: ['openid', 'offline_access', 'profile', 'email'],
  conformIdTokenClaims: false, // Keycloak puts the claims in the ID token too
  clockTolerance: 0, // an expired token is expired (oidc-provider's default allows 15 s)
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: { enabled: true },
    revocation: { enabled: true },
    introspection: { enabled: true },
    userinfo: { enabled: true },
  },
  pkce: { required: () => cfg.requirePKCE !== false },
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: () => cfg.rotateRefreshToken !== false,
  ttl,
  routes: {
    authorization: '/protocol/openid-connect/auth',
    token: '/protocol/openid-connect/token',
    userinfo: '/protocol/openid-connect/userinfo',
    jwks: '/protocol/openid-connect/certs',
    end_session: '/protocol/openid-connect/logout',
    revocation: '/protocol/openid-connect/revoke',
    introspection: '/protocol/openid-connect/token/introspect',
  },
  interactions: {
    url: (ctx, interaction) => `${realmPath}/login-actions/${interaction.uid}`,
  },
  async findAccount(ctx, sub) {
    const u = bySub.get(sub);
    if (!u) return undefined;
    return {
      accountId: u.sub,
      async claims() {
        return {
          preferred_username: u.username,
          email: `${u.username}@example.test`,
          email_verified: true,
          ...u.claims,
          sub: u.sub,
        };
      },
    };
  },
  async renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = `<!DOCTYPE html><html><head><title>error</title></head><body><h1>error</h1><pre>${htmlEscape(JSON.stringify(out))}</pre></body></html>`;
  },
});

provider.on('end_session.success', () => events.push({ type: 'end_session' }));
provider.on('grant.success', () => events.push({ type: 'grant' }));
provider.on('grant.error', (ctx, err) => events.push({ type: 'grant.error', error: err.error || String(err) }));
provider.on('server_error', (ctx, err) => { console.error('oidc-provider server_error', err); });

function htmlEscape(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => {
      data += chunk;
      if (data.length > 1 << 16) reject(new Error('body too large'));
    });
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });
}

function loginPage(res, action, message, status = 200) {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.end(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Sign in to ${htmlEscape(realm)}</title></head>
<body>
<h1>Sign in to ${htmlEscape(realm)}</h1>
${message ? `<p class="error">${htmlEscape(message)}</p>` : ''}
<form id="kc-form-login" method="post" action="${htmlEscape(action)}">
<input type="text" id="username" name="username" autofocus>
<input type="password" id="password" name="password">
<input type="submit" id="kc-login" name="login" value="Sign In">
</form>
</body></html>`);
}

function passwordOK(u, password) {
  if (!u || typeof password !== 'string') return false;
  const a = createHash('sha256').update(String(u.password)).digest();
  const b = createHash('sha256').update(password).digest();
  return timingSafeEqual(a, b);
}

async function interaction(req, res, uid) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) {
    res.statusCode = 400;
    res.end('interaction mismatch');
    return;
  }
  const action = `${realmPath}/login-actions/${uid}`;
  const { prompt, params, session } = details;
  if (prompt.name === 'login') {
    if (req.method === 'GET') {
      loginPage(res, action);
      return;
    }
    const form = new URLSearchParams(await readBody(req));
    const u = byName.get(form.get('username') || '');
    if (!passwordOK(u, form.get('password'))) {
      events.push({ type: 'login.failed', username: form.get('username') || '' });
      loginPage(res, action, 'Invalid username or password.', 401);
      return;
    }
    events.push({ type: 'login', username: u.username });
    await provider.interactionFinished(req, res, { login: { accountId: u.sub } }, { mergeWithLastSubmission: false });
    return;
  }
  if (prompt.name === 'consent') {
    let grant = details.grantId ? await provider.Grant.find(details.grantId) : undefined;
    if (!grant) grant = new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    const d = prompt.details;
    if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
    if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
    if (d.missingResourceScopes) {
      for (const [indicator, scopes] of Object.entries(d.missingResourceScopes)) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
    }
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    return;
  }
  res.statusCode = 501;
  res.end(`prompt ${prompt.name} not implemented`);
}

async function control(req, res, path) {
  res.setHeader('Content-Type', 'application/json');
  if (path === '/__hubkit/clock') {
    if (req.method === 'POST') {
      const body = JSON.parse((await readBody(req)) || '{}');
      clockOffsetMs += Math.round(Number(body.advance || 0) * 1000);
    }
    res.end(JSON.stringify({ offset: clockOffsetMs / 1000, now: Math.floor(Date.now() / 1000) }));
    return;
  }
  if (path === '/__hubkit/events') {
    res.end(JSON.stringify(events));
    return;
  }
  res.statusCode = 404;
  res.end('{}');
}

const callback = provider.callback();
server.on('request', (req, res) => {
  const path = req.url.split('?')[0];
  const fail = (err) => {
    if (err instanceof errors.SessionNotFound) {
      res.statusCode = 400;
      res.end('interaction session not found');
      return;
    }
    console.error(err);
    if (!res.headersSent) res.statusCode = 500;
    res.end('internal error');
  };
  if (path.startsWith('/__hubkit/')) {
    control(req, res, path).catch(fail);
    return;
  }
  const la = `${realmPath}/login-actions/`;
  if (path.startsWith(la) && path.length > la.length) {
    interaction(req, res, path.slice(la.length)).catch(fail);
    return;
  }
  if (path === realmPath || path.startsWith(`${realmPath}/`)) {
    req.originalUrl = req.url;
    req.url = req.url.slice(realmPath.length) || '/';
    callback(req, res);
    return;
  }
  res.statusCode = 404;
  res.end('not found');
});

process.stdout.write(`${JSON.stringify({ issuer, port })}\n`);

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => server.close(() => process.exit(0)));
}
