// pixclass: pages that stay true. The page knows the version it shows (meta pixclass-live); it
// polls /live and, when the version moved (a job finished, another tab changed the run), it
// reloads its live parts ([data-live] elements with an id) from the same URL. Every write carries
// the version (X-Pixclass-Version); a stale one is refused by the server, and the page reloads.
(function () {
  "use strict";

  const POLL_MS = 3000;
  let meta = null, version = null, paused = false, busy = false;

  function flash(message, kind) {
    const box = document.getElementById("flash");
    if (!box) return;
    const el = document.createElement("div");
    el.className = "flash " + (kind || "ok");
    el.setAttribute("role", "status");
    el.textContent = message;
    box.appendChild(el);
    setTimeout(function () { el.remove(); }, 6000);
  }

  // Replace every live part by its new copy; a part someone is typing in is left alone.
  // ``seen`` is the version a poll saw before asking for the page: the page is at least that new.
  // The version in the fresh page is not used then, as the server may have rendered it after
  // a change that the page's content (read first) does not hold yet; the next poll catches that.
  async function reload(own, seen) {
    const response = await fetch(location.href, { headers: { Accept: "text/html" } });
    if (!response.ok) return false;
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    document.querySelectorAll("[data-live][id]").forEach(function (old) {
      if (own && old.dataset.live === "outside") return; // after our own write it is up to date
      const next = fresh.getElementById(old.id);
      if (!next || old.contains(document.activeElement) && document.activeElement.matches("input:not([type=checkbox]), textarea")) return;
      old.replaceWith(document.importNode(next, true));
    });
    const rest = document.getElementById("select-rest");
    if (rest && !own) rest.replaceChildren(); // the selection was made on what the page showed before
    const freshMeta = fresh.querySelector('meta[name="pixclass-live"]');
    if (seen) version = seen;
    else if (freshMeta && !own) version = freshMeta.dataset.version; // else the next poll sees any other change
    if (window.htmx) document.querySelectorAll("[data-live][id]").forEach(function (el) { window.htmx.process(el); });
    document.querySelectorAll("form.selection").forEach(function (f) {
      if (window.pixclassSelection) window.pixclassSelection.update(f);
    });
    document.dispatchEvent(new CustomEvent("pixclass:reloaded", { detail: { own: !!own } }));
    return true;
  }

  async function poll() {
    if (!meta || paused || busy || document.hidden) return;
    busy = true;
    try {
      const response = await fetch(meta.content, { headers: { Accept: "application/json" } });
      if (response.ok) {
        const now = (await response.json()).version;
        if (now && now !== version) await reload(false, now);
      }
    } catch (e) {
      /* offline for a moment: the next poll tries again */
    } finally {
      busy = false;
    }
  }

  document.addEventListener("htmx:configRequest", function (event) {
    if (version && event.detail.verb !== "get") event.detail.headers["X-Pixclass-Version"] = version;
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    const xhr = event.detail.xhr;
    const sent = event.detail.requestConfig && event.detail.requestConfig.verb !== "get";
    if (!xhr || !sent) return;
    if (xhr.getResponseHeader("HX-Trigger") === "pixclass-stale") {
      reload();
    } else {
      const next = xhr.getResponseHeader("X-Pixclass-Version");
      // Our own write: the counts and lists around it are reloaded, not what it changed.
      if (next && next !== version) { version = next; reload(true); }
    }
  });

  // For the pages' own fetches (the map): the header to send, and what to do with the answer.
  window.pixclassLive = {
    headers: function () { return version ? { "X-Pixclass-Version": version } : {}; },
    answered: async function (response) {
      if (response.status === 409 && response.headers.get("X-Pixclass-Version")) {
        await reload();
        return false;
      }
      const next = response.headers.get("X-Pixclass-Version");
      if (next && next !== version) { version = next; reload(true); }
      return true;
    },
    pause: function () { paused = true; },
    resume: function () { paused = false; poll(); },
    reload: reload,
    flash: flash,
  };

  document.addEventListener("DOMContentLoaded", function () {
    meta = document.querySelector('meta[name="pixclass-live"]');
    if (!meta) return;
    version = meta.dataset.version;
    setInterval(poll, POLL_MS);
    document.addEventListener("visibilitychange", poll);
  });
})();
