// pixclass /docs: Swagger UI from local files (no CDN), started here rather than inline so the
// page keeps the app's Content-Security-Policy. Calls made with "Try it out" carry the page's
// CSRF token, as the app's own pages do; after Authorize they also carry the app's token as
// "Authorization: Bearer", and a bearer call needs no CSRF token at all.
window.addEventListener("DOMContentLoaded", function () {
  "use strict";
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    requestInterceptor: function (request) {
      if (csrf && request.method && request.method.toUpperCase() !== "GET") {
        request.headers["X-CSRF-Token"] = csrf;
      }
      return request;
    },
  });
});
