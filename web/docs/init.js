// Starts Swagger UI on /docs with the spec orderd serves at /openapi.json. validatorUrl: null keeps
// the page from calling the public swagger.io validator: the page works offline. persistAuthorization
// is off: a token given to "Authorize" lives in the page's memory only, never in localStorage, where
// any script on the origin (or anyone with the disk) could read it after the tab is closed.
window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: new URL(root.dataset.specUrl, window.location.href).href,
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    persistAuthorization: false,
    displayRequestDuration: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
