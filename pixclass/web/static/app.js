// pixclass: the little behaviour pages need beyond htmx (upload progress, multi-select).
(function () {
  "use strict";

  // Upload progress: htmx fires xhr:progress on the element that sent the request.
  document.addEventListener("htmx:xhr:progress", function (event) {
    const bar = event.target.querySelector ? event.target.querySelector("#upload-progress") : null;
    if (!bar || !event.detail.lengthComputable) return;
    bar.hidden = false;
    bar.value = Math.round((100 * event.detail.loaded) / event.detail.total);
    const status = document.getElementById("upload-status");
    if (status) {
      status.textContent = bar.value < 100 ? bar.value + "% sent" : "adding to the collection…";
    }
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    const bar = event.target.querySelector ? event.target.querySelector("#upload-progress") : null;
    if (bar) bar.hidden = true;
    const status = document.getElementById("upload-status");
    if (status && event.target.id === "upload-form") status.textContent = "";
  });

  // Flash messages fade after a while.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.target.id !== "flash") return;
    const shown = Array.from(event.target.children);
    setTimeout(function () { shown.forEach(function (el) { el.remove(); }); }, 6000);
  });
})();
