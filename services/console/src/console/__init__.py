"""The people's web console (port 8006): a backend-for-frontend over the services' HTTP APIs, owning no data.

- domain/ — pure view rules: Korean dates and amounts (formatting), labels, paging, role → navigation,
  the registration-number check the form shows before submitting.
- service_layer/ — sessions (signed cookies holding the person's access token, CSRF, a sign-in's PKCE state) and
  pages (what a page gathers from the APIs).
- adapters/ — api (the services' HTTP APIs with the person's own token; read-your-writes retries), oidc (sign-in
  at the identity provider: authorization code + PKCE, the token checked as the services check it) and live
  (the events topics, listened to only to refresh open pages: server-sent events).
- entrypoints/ — http (the HTML routes) and cli (`serve`).
- templates/, static/ — Jinja2 templates, the CSS and the small script (no build step, no CDN).
- config (ConsoleSettings), wiring (what routes share), bootstrap.build() → the FastAPI app.
"""
