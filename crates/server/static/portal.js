// OneWindow portal: a small, optional enhancement. Pages work without it.
// Sections marked data-live (the clearance dashboard) are refreshed in place every 15 seconds
// by fetching the same page and swapping those sections; nothing else on the page moves, and
// keyboard focus stays where it was. Stops when the tab is hidden.
(function () {
  "use strict";
  var live = document.querySelectorAll("section[data-live]");
  if (!live.length || !window.fetch || !window.DOMParser) { return; }
  function refresh() {
    if (document.hidden) { return; }
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) { return; }
        var doc = new DOMParser().parseFromString(html, "text/html");
        live.forEach(function (section) {
          if (!section.id) { return; }
          var fresh = doc.getElementById(section.id);
          if (fresh && !section.contains(document.activeElement)) {
            section.innerHTML = fresh.innerHTML;
          }
        });
      })
      .catch(function () {});
  }
  window.setInterval(refresh, 15000);
}());
