// The API description in Swagger UI, from assets served by this server (no CDN: the
// assistant runs offline), started from a file because the page policy forbids inline script.
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
