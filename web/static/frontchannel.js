// Front-channel logout: move on once every app's logout frame has loaded
// (or after three seconds, whichever is first). The page loads this script
// before its frames, so no frame can finish loading unseen: load events do
// not bubble, but a capturing listener on the document hears them.
(function () {
  "use strict";
  var loaded = 0;
  var total = -1; // known once the page is parsed
  var gone = false;
  function go() {
    var next = document.getElementById("next");
    if (gone || !next) { return; }
    gone = true;
    window.location.replace(next.getAttribute("href"));
  }
  document.addEventListener("load", function (e) {
    var t = e.target;
    if (t && t.tagName === "IFRAME" && t.classList.contains("frontchannel")) {
      loaded++;
      if (total >= 0 && loaded >= total) { go(); }
    }
  }, true);
  document.addEventListener("DOMContentLoaded", function () {
    total = document.querySelectorAll("iframe.frontchannel").length;
    if (loaded >= total) { go(); }
  });
  setTimeout(go, 3000);
}());
